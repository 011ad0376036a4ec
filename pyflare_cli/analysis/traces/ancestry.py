"""Which agent and which tool each span ran under: its nearest agent and tool ancestor.

An LLM call made inside a tool or an agent belongs to it: cost per tool and per agent,
stats and session metrics attribute a span to the nearest span above it (or itself) that
names an agent or a tool. This module finds both for every span in one vectorised pass
over the parent links, with pointer jumping: each round looks up every span's state at the
span its pointer names, then doubles the pointer, so a tree of depth d needs about log2(d)
rounds, never a Python loop over spans. Parents are found by one join on the (trace id,
span id) strings; the rounds then work on row numbers (a gather each, no join).

Messy traces are accepted: a parent that is not in the data ends the walk, a span that is
its own parent has none, duplicated span ids are answered once (the row with the
smallest parent and labels, see :func:`_nodes`), and a
cycle ends after at most log2(n) + 2 rounds with whatever marker lies on it.

A span *names an agent* when its ``ai_kind`` is ``agent`` (label: ``agent_name``, else its
name) or when it carries ``agent_name``; likewise a span names a tool when its
``ai_kind`` is ``tool`` (label: ``tool_name``, else its name) or it carries ``tool_name``.
The search is ancestor-or-self: a tool span's tool is itself.
"""

from __future__ import annotations

import math

import polars as pl

__all__ = ["ANCESTRY_COLUMNS", "ancestry", "with_ancestry"]

ANCESTRY_COLUMNS = ("agent_span_id", "agent", "tool_span_id", "tool")
"""The columns :func:`ancestry` adds: the nearest agent/tool span and its label."""

_KEYS = ["trace_id", "span_id"]


def _label(kind: str, column: str) -> pl.Expr:
    return (
        pl.when(pl.col("ai_kind") == kind)
        .then(pl.coalesce(column, "name"))
        .otherwise(pl.col(column))
    )


def _nodes(spans: pl.LazyFrame, unique: bool = True) -> pl.DataFrame:
    """One row per (trace, span): its parent and the agent/tool it names itself, if any;
    without ``unique``, one per row of ``spans`` as they are."""
    nodes = spans.select(
        *_KEYS,
        pl.when(pl.col("parent_span_id") != pl.col("span_id"))
        .then(pl.col("parent_span_id"))
        .alias("ptr"),
        _label("agent", "agent_name").alias("_agent_label"),
        _label("tool", "tool_name").alias("_tool_label"),
    )
    if unique:
        # A repeated id is one node: the row with the smallest (parent, agent label, tool
        # label), nulls last, a rule every engine follows (engine.attribution_sql); the
        # first row in storage order would depend on how the store was written.
        chosen = ["ptr", "_agent_label", "_tool_label"]
        nodes = (
            nodes.filter(pl.col("span_id").is_not_null())
            .sort([*_KEYS, *chosen], nulls_last=True, maintain_order=True)
            .unique(subset=_KEYS, keep="first", maintain_order=True)
        )
    return nodes.collect()


def _parents(nodes: pl.DataFrame) -> pl.Series:
    """Each node's parent as a row number of ``nodes`` (null: none, or not in the data).

    The only join on the string ids: the walk itself then gathers by row number.
    """
    rows = nodes.select("trace_id", pl.col("span_id").alias("ptr")).with_row_index("_p")
    return (
        nodes.select("trace_id", "ptr")
        .join(rows, on=["trace_id", "ptr"], how="left", maintain_order="left")
        .get_column("_p")
    )


def ancestry(spans: pl.LazyFrame) -> pl.DataFrame:
    """``trace_id``, ``span_id`` and the nearest agent and tool ancestor-or-self of each span.

    Needs the columns ``trace_id``, ``span_id``, ``parent_span_id``, ``name``, ``ai_kind``,
    ``agent_name`` and ``tool_name``. ``agent``/``tool`` are labels (null: none above);
    ``agent_span_id``/``tool_span_id`` name the span that carries them.
    """
    nodes = _nodes(spans)
    return pl.concat([nodes.select(_KEYS), _walk(nodes)], how="horizontal")


def _hashed(id_column: str) -> pl.Expr:
    """A 64-bit hash of (trace id, ``id_column``); null where the id is."""
    both = pl.col("trace_id").hash(1) ^ pl.col(id_column).hash(2)
    return pl.when(pl.col(id_column).is_not_null()).then(both)


def _hashed_parents(nodes: pl.DataFrame, keys: pl.Series) -> pl.Series:
    """:func:`_parents` joined on one 64-bit hash of the ids (``keys``, unique) instead of
    two string columns (a third less memory on a window of spans). A hash that matched
    another span than the parent (a collision; the parent itself would share the hash,
    and ``keys`` are unique, so it is not in the data) is told by comparing the strings,
    and leaves no parent, as the string join would."""
    rows = keys.to_frame("_h").with_row_index("_p")
    found = (
        nodes.select(_hashed("ptr").alias("_h"))
        .join(rows, on="_h", how="left", maintain_order="left")
        .get_column("_p")
    )
    same = (pl.col("trace_id") == pl.col("trace_id").gather(found)) & (
        pl.col("ptr") == pl.col("span_id").gather(found)
    )
    return nodes.select(pl.when(same).then(found).alias("_p")).to_series()


def _walk(nodes: pl.DataFrame, parents: pl.Series | None = None) -> pl.DataFrame:
    """:data:`ANCESTRY_COLUMNS` of each row of ``nodes`` (unique ids), in their order;
    ``parents``: each row's parent row (:func:`_parents` when not given).

    The walk runs on row numbers (``agent_at``, ``tool_at`` and ``ptr`` index ``nodes``):
    a round is three gathers instead of a join on (trace id, span id) strings.
    """
    own = pl.int_range(pl.len(), dtype=pl.UInt32)
    state = nodes.select(
        pl.when(pl.col("_agent_label").is_not_null()).then(own).alias("agent_at"),
        pl.when(pl.col("_tool_label").is_not_null()).then(own).alias("tool_at"),
        (_parents(nodes) if parents is None else parents).alias("ptr"),
    )
    unresolved = pl.col("agent_at").is_null() | pl.col("tool_at").is_null()
    state = state.with_columns(pl.when(unresolved).then(pl.col("ptr")).alias("ptr"))
    rounds = math.ceil(math.log2(max(nodes.height, 2))) + 2
    for _ in range(rounds):
        if state.select(pl.col("ptr").is_not_null().any()).item() is not True:
            break
        state = state.with_columns(
            pl.coalesce("agent_at", pl.col("agent_at").gather(pl.col("ptr"))),
            pl.coalesce("tool_at", pl.col("tool_at").gather(pl.col("ptr"))),
            pl.col("ptr").gather(pl.col("ptr")).alias("_p_ptr"),
        ).select("agent_at", "tool_at", pl.when(unresolved).then(pl.col("_p_ptr")).alias("ptr"))
    # A null trace id matches no span, as in a join on (trace_id, span_id): no label.
    known = pl.col("trace_id").is_not_null()
    return pl.concat(
        [nodes.select(*_KEYS, "_agent_label", "_tool_label"), state], how="horizontal"
    ).select(
        pl.col("span_id").gather(pl.col("agent_at")).alias("agent_span_id"),
        pl.when(known).then(pl.col("_agent_label").gather(pl.col("agent_at"))).alias("agent"),
        pl.col("span_id").gather(pl.col("tool_at")).alias("tool_span_id"),
        pl.when(known).then(pl.col("_tool_label").gather(pl.col("tool_at"))).alias("tool"),
    )


def _row_ancestry(spans: pl.LazyFrame) -> pl.DataFrame | None:
    """:data:`ANCESTRY_COLUMNS` of every row of ``spans``, in their order, when each row
    is a node of its own (ids present and unique, as in any well-formed store); None
    otherwise (the join of :func:`with_ancestry` then answers duplicates once)."""
    rows = _nodes(spans, unique=False)
    whole = rows.select(
        pl.col("span_id").is_not_null().all() & pl.col("trace_id").is_not_null().all()
    ).item()
    if not whole:
        return None
    keys = rows.select(_hashed("span_id")).to_series()
    if keys.is_duplicated().any():  # a repeated id (or a hash collision): the join answers
        return None
    return _walk(rows, _hashed_parents(rows, keys))


def with_ancestry(
    spans: pl.LazyFrame, within: pl.LazyFrame | None = None, aligned: bool = False
) -> pl.LazyFrame:
    """``spans`` plus :data:`ANCESTRY_COLUMNS`, the tree walked over ``within``.

    ``within`` (default: ``spans``) is where ancestors are looked for: pass the unfiltered
    spans when ``spans`` was narrowed by a search, so a filtered-out tool still counts.
    ``aligned``: ``within`` holds exactly the rows of ``spans``, in the same order (e.g.
    the same window unpriced). Then, and without ``within``, the walk's answer is put
    beside each row by its row number, not joined on the (trace id, span id) strings of
    every span, unless some id is missing or repeated.
    """
    clash = [c for c in ANCESTRY_COLUMNS if c in spans.collect_schema().names()]
    if within is None or aligned:
        rows = _row_ancestry(spans if within is None else within)
        if rows is not None:
            return pl.concat([spans.drop(clash), rows.lazy()], how="horizontal")
    found = ancestry(spans if within is None else within).lazy()
    return spans.drop(clash).join(
        found, on=_KEYS, how="left", nulls_equal=False, maintain_order="left"
    )
