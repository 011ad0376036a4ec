"""One row per trace: the relational summary behind ``pyflare traces`` and the TUI list.

Pure and lazy: spans in (with ``cost_usd`` when prices are known), traces out.
"""

from __future__ import annotations

import polars as pl

TRACE_SORTS = {
    "start": "start_time",
    "duration": "duration_ns",
    "cost": "cost_usd",
    "errors": "errors",
    "spans": "spans",
    "tokens": "total_tokens",
}

_ROOT_ORDER = [pl.col("parent_span_id").is_not_null(), pl.col("start_time")]


def summarize_traces(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Per trace: start, root service and name, duration, spans, errors, models, tokens, cost.

    The root is the span without a parent (the earliest when a trace has several, or the
    earliest span when the root is missing).
    """
    has_cost = "cost_usd" in spans.collect_schema().names()
    cost = (
        [pl.col("cost_usd").sum().alias("cost_usd"), pl.col("cost_usd").count().alias("priced")]
        if has_cost
        else [pl.lit(None, pl.Float64).alias("cost_usd"), pl.lit(0, pl.UInt32).alias("priced")]
    )
    summary = spans.group_by("trace_id").agg(
        pl.col("start_time").min().alias("start_time"),
        pl.col("service_name").sort_by(_ROOT_ORDER).first().alias("root_service"),
        pl.col("name").sort_by(_ROOT_ORDER).first().alias("root_name"),
        (pl.col("end_time").max() - pl.col("start_time").min())
        .dt.total_nanoseconds()
        .alias("duration_ns"),
        pl.len().alias("spans"),
        (pl.col("status_code") == "error").sum().alias("errors"),
        pl.col("model").drop_nulls().unique().sort().alias("models"),
        pl.col("input_tokens").sum().alias("input_tokens"),
        pl.col("output_tokens").sum().alias("output_tokens"),
        pl.col("total_tokens").sum().alias("total_tokens"),
        *cost,
    )
    return summary.with_columns(
        pl.when(pl.col("priced") > 0).then(pl.col("cost_usd")).alias("cost_usd")
    ).drop("priced")


def sort_traces(traces: pl.LazyFrame, by: str, limit: int | None) -> pl.LazyFrame:
    """Largest first (latest first for ``start``), ties broken by trace id."""
    column = TRACE_SORTS[by]
    ordered = traces.sort([column, "trace_id"], descending=[True, False], nulls_last=True)
    return ordered.head(limit) if limit else ordered


def trace_ids_with_prefix(spans: pl.LazyFrame, prefix: str, limit: int = 10) -> pl.LazyFrame:
    """The distinct trace ids that start with ``prefix`` (case-insensitive), sorted."""
    wanted = prefix.strip().lower()
    return (
        spans.select("trace_id")
        .filter(pl.col("trace_id").str.starts_with(wanted))
        .unique()
        .sort("trace_id")
        .head(limit)
    )
