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


def _totals(spans: pl.LazyFrame) -> list[pl.Expr]:
    """Aggregations that are cheap per trace: everything but the root and the models."""
    has_cost = "cost_usd" in spans.collect_schema().names()
    cost = (
        [pl.col("cost_usd").sum().alias("cost_usd"), pl.col("cost_usd").count().alias("priced")]
        if has_cost
        else [pl.lit(None, pl.Float64).alias("cost_usd"), pl.lit(0, pl.UInt32).alias("priced")]
    )
    return [
        pl.col("start_time").min().alias("start_time"),
        (pl.col("end_time").max() - pl.col("start_time").min())
        .dt.total_nanoseconds()
        .alias("duration_ns"),
        pl.len().alias("spans"),
        (pl.col("status_code") == "error").sum().alias("errors"),
        pl.col("input_tokens").sum().alias("input_tokens"),
        pl.col("output_tokens").sum().alias("output_tokens"),
        pl.col("total_tokens").sum().alias("total_tokens"),
        *cost,
    ]


_DETAILS = [
    pl.col("service_name").sort_by(_ROOT_ORDER).first().alias("root_service"),
    pl.col("name").sort_by(_ROOT_ORDER).first().alias("root_name"),
    # The models of spans that generated tokens (LLM calls) first, then the others
    # (embedding, reranker, ...), each group by name: the head is the model people ask about.
    pl.col("model")
    .sort_by(pl.col("output_tokens").is_null(), pl.col("model"))
    .drop_nulls()
    .unique(maintain_order=True)
    .alias("models"),
]
COLUMNS = (
    "trace_id",
    "start_time",
    "root_service",
    "root_name",
    "duration_ns",
    "spans",
    "errors",
    "models",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
)


def _finish(summary: pl.LazyFrame) -> pl.LazyFrame:
    return summary.with_columns(
        pl.when(pl.col("priced") > 0).then(pl.col("cost_usd")).alias("cost_usd")
    ).select(COLUMNS)


def summarize_traces(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Per trace: start, root service and name, duration, spans, errors, models, tokens, cost.

    The root is the span without a parent (the earliest when a trace has several, or the
    earliest span when the root is missing).
    """
    return _finish(spans.group_by("trace_id").agg(*_totals(spans), *_DETAILS))


def sort_traces(traces: pl.LazyFrame, by: str, limit: int | None) -> pl.LazyFrame:
    """Largest first (latest first for ``start``), ties broken by trace id."""
    column = TRACE_SORTS[by]
    ordered = traces.sort([column, "trace_id"], descending=[True, False], nulls_last=True)
    return ordered.head(limit) if limit else ordered


def rank_traces(spans: pl.LazyFrame, by: str, limit: int) -> pl.LazyFrame:
    """The first ``limit`` traces by ``by``, with their totals but not yet their details.

    The root and the list of models are the costly parts of a summary; compute them with
    :func:`trace_details` for just these traces, then :func:`with_details`.
    """
    return sort_traces(spans.group_by("trace_id").agg(*_totals(spans)), by, limit)


def trace_details(spans: pl.LazyFrame, trace_ids: list[str]) -> pl.LazyFrame:
    """Root service and name and the models of the given traces."""
    return spans.filter(pl.col("trace_id").is_in(trace_ids)).group_by("trace_id").agg(*_DETAILS)


def with_details(ranked: pl.LazyFrame, details: pl.LazyFrame) -> pl.LazyFrame:
    """Ranked totals joined with their details: the columns of :func:`summarize_traces`."""
    return _finish(ranked.join(details, on="trace_id", how="left", maintain_order="left"))


def trace_ids_with_prefix(spans: pl.LazyFrame, prefix: str, limit: int = 10) -> pl.LazyFrame:
    """The distinct trace ids that start with ``prefix`` (case-insensitive), sorted, with the
    time span of their spans (``first_start``, ``last_start``) so the caller can fetch a
    trace by time range as well as by id, which lets Parquet skip most row groups."""
    wanted = prefix.strip().lower()
    return (
        spans.select("trace_id", "start_time")
        .filter(pl.col("trace_id").str.starts_with(wanted))
        .group_by("trace_id")
        .agg(
            pl.col("start_time").min().alias("first_start"),
            pl.col("start_time").max().alias("last_start"),
        )
        .sort("trace_id")
        .head(limit)
    )
