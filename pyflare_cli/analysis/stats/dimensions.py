"""The dimensions ``pyflare stats --by`` groups on, and which spans are LLM calls.

Shared by the unit rows (:mod:`units`) and the tool and agent calls (:mod:`calls`).
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.cost.duplicates import is_duplicate

UNITS = ("llm", "span", "trace", "call")
DIMENSIONS = {
    "model": "model",
    "provider": "provider",
    "service": "service_name",
    "operation": "name",
    "user": "user_id",
    "session": "session_id",
    "agent": "agent_name",
    "tool": "tool_name",
    "environment": "environment",
    "version": "service_version",
}
TRACE_WIDE = ("user_id", "session_id", "agent_name", "environment")
ROOT_FIRST = ("service_name", "name", "service_version")
LLM_KINDS = ("llm", "embedding")


def check_dimension(name: str) -> bool:
    """A known ``--by`` name or ``attr.<key>``."""
    return name in DIMENSIONS or (name.startswith("attr.") and len(name) > 5)


def default_unit(by: list[str]) -> str:
    """``call`` for tools and agents, ``llm`` for models and providers, else ``trace``."""
    if any(name in ("tool", "agent") for name in by):
        return "call"
    if any(name in ("model", "provider") for name in by):
        return "llm"
    return "trace"


def is_llm() -> pl.Expr:
    """An LLM or embedding call, counted once (see :func:`is_duplicate`)."""
    kind = pl.col("ai_kind")
    call = kind.is_in(LLM_KINDS) | (kind.is_null() & pl.col("model").is_not_null())
    return call & ~is_duplicate()


def source(name: str, ancestry: bool = False) -> pl.Expr:
    """A dimension's value on a span; with ``ancestry``, tool and agent are those of the
    span's nearest tool/agent ancestor-or-self (the columns ``with_ancestry`` adds)."""
    if name.startswith("attr."):
        return pl.col("attributes").map.get(name[5:])
    if ancestry and name in ("tool", "agent"):
        return pl.col(name)
    return pl.col(DIMENSIONS[name])


def label(name: str) -> pl.Expr:
    """The tool or agent a span names itself (ancestry's rule), else its column."""
    column = DIMENSIONS[name]
    return pl.when(pl.col("ai_kind") == name).then(pl.coalesce(column, "name")).otherwise(column)


_LAST = 2**63 - 1


def root_first(value: pl.Expr, skip_nulls: bool = False) -> pl.Expr:
    """In a per-trace aggregation, ``value`` on the trace's root span (the earliest root
    when there are several, else the earliest span), or with ``skip_nulls`` the first
    non-null value in that order: ``value.sort_by([parent is not null, start_time])
    .first()`` as one ``min_by`` over an integer rank (a sort per trace cost 3x more, and
    ``min_by``, unlike ``get(arg_min())``, runs in the streaming engine: half the memory).

    The rank is the start in nanoseconds plus 2^62 for a span with a parent (2^62 ns is
    146 years); equal ranks keep the first row, as a stable sort does.
    """
    has_parent = pl.col("parent_span_id").is_not_null().cast(pl.Int64)
    rank = pl.col("start_time").dt.epoch("ns") + has_parent * (1 << 62)
    if skip_nulls:
        rank = pl.when(value.is_not_null()).then(rank).otherwise(pl.lit(_LAST, pl.Int64))
    return value.min_by(rank)


def with_trace_wide(
    spans: pl.LazyFrame, keep: pl.Expr | None = None, within: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """``spans`` whose user, session, agent and environment fall back to their trace's
    first value; with ``keep``, only the spans it selects (the fallback still comes from
    every span of the trace), which is cheaper than filling every span first, and read
    from ``within`` when given: any frame holding every span of ``spans``' traces in the
    same order (e.g. the window unpriced) gives the same values."""
    if keep is None:
        return spans.with_columns(
            pl.col(column).fill_null(pl.col(column).drop_nulls().first().over("trace_id"))
            for column in TRACE_WIDE
        )
    traces = (
        (spans if within is None else within)
        .group_by("trace_id")
        .agg(pl.col(column).drop_nulls().first().alias(f"_trace_{column}") for column in TRACE_WIDE)
    )
    return (
        spans.filter(keep)
        .join(traces, on="trace_id", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce(column, f"_trace_{column}").alias(column) for column in TRACE_WIDE
        )
        .drop(*(f"_trace_{column}" for column in TRACE_WIDE))
    )
