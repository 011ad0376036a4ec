"""The dimensions ``pyflare stats --by`` groups on, and which spans are LLM calls.

Shared by the unit rows (:mod:`units`) and the tool and agent calls (:mod:`calls`).
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.cost.duplicates import DUPLICATE

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


def is_duplicate() -> pl.Expr:
    """The outer span of an LLM call that an inner span reports too.

    ``query.prices.priced`` finds them (:mod:`analysis.cost.duplicates`, the rule cost
    uses) and marks them ``cost_source = 'duplicate'``; they are spans, not calls.
    """
    return pl.col("cost_source").eq_missing(pl.lit(DUPLICATE))


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


def with_trace_wide(spans: pl.LazyFrame) -> pl.LazyFrame:
    return spans.with_columns(
        pl.col(column).fill_null(pl.col(column).drop_nulls().first().over("trace_id"))
        for column in TRACE_WIDE
    )
