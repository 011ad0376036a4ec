"""Which agent and which tool each span ran under: its nearest agent and tool ancestor.

An LLM call made inside a tool or an agent belongs to it: cost per tool and per agent,
stats and session metrics attribute a span to the nearest span above it (or itself) that
names an agent or a tool. This module finds both for every span in one vectorised pass
over the parent links, with pointer jumping: each round looks up every span's state at the
span its pointer names, then doubles the pointer, so a tree of depth d needs about log2(d)
rounds, never a Python loop over spans. Parents are found by one join on the (trace id,
span id) strings; the rounds then work on row numbers (a gather each, no join).

Messy traces are accepted: a parent that is not in the data ends the walk, a span that is
its own parent has none, duplicated span ids are answered once (the first row), and a
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


def _nodes(spans: pl.LazyFrame) -> pl.DataFrame:
    """One row per (trace, span): its parent and the agent/tool it names itself, if any."""
    return (
        spans.select(
            *_KEYS,
            pl.when(pl.col("parent_span_id") != pl.col("span_id"))
            .then(pl.col("parent_span_id"))
            .alias("ptr"),
            _label("agent", "agent_name").alias("_agent_label"),
            _label("tool", "tool_name").alias("_tool_label"),
        )
        .filter(pl.col("span_id").is_not_null())
        .unique(subset=_KEYS, keep="first", maintain_order=True)
        .collect()
    )


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

    The walk runs on row numbers (``agent_at``, ``tool_at`` and ``ptr`` index ``nodes``):
    a round is three gathers instead of a join on (trace id, span id) strings.
    """
    nodes = _nodes(spans)
    own = pl.int_range(pl.len(), dtype=pl.UInt32)
    state = nodes.select(
        pl.when(pl.col("_agent_label").is_not_null()).then(own).alias("agent_at"),
        pl.when(pl.col("_tool_label").is_not_null()).then(own).alias("tool_at"),
        _parents(nodes).alias("ptr"),
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
        *_KEYS,
        pl.col("span_id").gather(pl.col("agent_at")).alias("agent_span_id"),
        pl.when(known).then(pl.col("_agent_label").gather(pl.col("agent_at"))).alias("agent"),
        pl.col("span_id").gather(pl.col("tool_at")).alias("tool_span_id"),
        pl.when(known).then(pl.col("_tool_label").gather(pl.col("tool_at"))).alias("tool"),
    )


def with_ancestry(spans: pl.LazyFrame, within: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """``spans`` plus :data:`ANCESTRY_COLUMNS`, the tree walked over ``within``.

    ``within`` (default: ``spans``) is where ancestors are looked for: pass the unfiltered
    spans when ``spans`` was narrowed by a search, so a filtered-out tool still counts.
    """
    found = ancestry(spans if within is None else within).lazy()
    clash = [c for c in ANCESTRY_COLUMNS if c in spans.collect_schema().names()]
    return spans.drop(clash).join(
        found, on=_KEYS, how="left", nulls_equal=False, maintain_order="left"
    )
