"""The figures ``pyflare metrics`` exposes to Prometheus, as a few small grouped frames.

- per (model, provider, service): model calls (any span with a model or a cost, as in
  ``pyflare cost``: LLM, embedding and reranker calls), failed calls, input and output
  tokens, exact cost (pico-dollars summed, rounded once), unpriced calls;
- per service (of the root span): traces and failed traces;
- per model: a latency histogram of LLM calls (cumulative counts at each bucket bound, the
  sum of latencies and the count), as Prometheus histograms are;
- per user bucket: cost and calls of the ``top`` users by cost, the rest as ``other``, so
  the number of series stays bounded however many users there are.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.cost.duplicates import is_duplicate
from pyflare_cli.analysis.cost.pricing import sum_micros
from pyflare_cli.analysis.stats.dimensions import root_first

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Latency bucket bounds in seconds (``+Inf`` is implied)."""
OTHER = "other"


MODEL_CALL_COLUMNS = (
    "model",
    "provider",
    "service_name",
    "status_code",
    "input_tokens",
    "output_tokens",
    "cost_pico",
    "cost_source",
    "duration_ns",
)
"""What :func:`llm_calls` and :func:`latency_histogram` read of a model call: the columns
of :func:`model_calls`, which both can then group without reading the store again."""


def model_calls(spans: pl.LazyFrame) -> pl.LazyFrame:
    """The model calls of ``spans`` (:func:`model_call`), only the columns the per-model
    frames read: collected once, they feed both :func:`llm_calls` and
    :func:`latency_histogram` (a model call is a model call on the smaller frame too)."""
    return spans.filter(model_call()).select(MODEL_CALL_COLUMNS)


def model_call() -> pl.Expr:
    """A span that calls a model or costs something (``pyflare cost``'s requests), once per
    call: not the outer span of a call another span reports too."""
    call = pl.col("model").is_not_null() | pl.col("cost_pico").is_not_null()
    return call & ~is_duplicate()


def llm_calls(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Model calls per model, provider and service: calls, errors, tokens, cost, unpriced."""
    usage = pl.any_horizontal(pl.col("input_tokens", "output_tokens").is_not_null())
    return (
        spans.filter(model_call())
        .group_by(
            pl.col("model").fill_null(""),
            pl.col("provider").fill_null(""),
            pl.col("service_name").fill_null("").alias("service"),
        )
        .agg(
            pl.len().alias("calls"),
            (pl.col("status_code") == "error").sum().alias("errors"),
            pl.col("input_tokens").sum(),
            pl.col("output_tokens").sum(),
            sum_micros().alias("cost_micros"),
            (usage & pl.col("cost_source").is_null()).sum().alias("unpriced"),
        )
        .sort("model", "provider", "service")
    )


def per_trace(spans: pl.LazyFrame) -> pl.LazyFrame:
    """One row per trace: its root's service, whether it failed, its first user, the exact
    cost and number of its model calls, and its number of spans; the base of :func:`traces` and
    :func:`user_buckets` (one pass over the spans, no window over them)."""
    call = model_call()
    return spans.group_by("trace_id").agg(
        root_first(pl.col("service_name")).fill_null("").alias("service"),
        (pl.col("status_code") == "error").any().alias("failed"),
        root_first(pl.col("user_id"), skip_nulls=True).alias("user_id"),
        # when/then rather than filter, and min_by in root_first: the streaming engine runs
        # them (a filter inside an aggregation doubled the peak memory on 1M spans).
        pl.when(call).then(pl.col("cost_pico")).cast(pl.Int128).sum().alias("cost_pico"),
        call.sum().alias("calls"),
        pl.len().alias("spans"),
    )


def traces(trace_rows: pl.LazyFrame) -> pl.LazyFrame:
    """Traces and failed traces per service of the root span (rows of :func:`per_trace`)."""
    return (
        trace_rows.group_by("service")
        .agg(pl.len().alias("traces"), pl.col("failed").sum().alias("errors"))
        .sort("service")
    )


def latency_histogram(spans: pl.LazyFrame, buckets: tuple[float, ...] = BUCKETS) -> pl.LazyFrame:
    """Per model: ``le_<bound>`` cumulative counts, ``sum_seconds`` and ``count``."""
    seconds = pl.col("duration_ns") / 1e9
    return (
        spans.filter(model_call() & pl.col("duration_ns").is_not_null())
        .group_by(pl.col("model").fill_null(""))
        .agg(
            *((seconds <= bound).sum().alias(f"le_{bound}") for bound in buckets),
            # Summed in integer nanoseconds: exact and the same on every run (a float sum
            # depends on the order the streaming engine adds the rows in).
            (pl.col("duration_ns").cast(pl.Int128).sum() / 1e9).alias("sum_seconds"),
            pl.len().alias("count"),
        )
        .sort("model")
    )


def user_buckets(trace_rows: pl.LazyFrame, top: int) -> pl.LazyFrame:
    """Cost and model calls of the ``top`` users by cost, and of all others as ``other``
    (rows of :func:`per_trace`: a call belongs to its trace's first user)."""
    per_user = (
        trace_rows.filter(pl.col("user_id").is_not_null() & (pl.col("calls") > 0))
        .group_by("user_id")
        .agg(sum_micros().alias("cost_micros"), pl.col("calls").sum())
    )
    ranked = per_user.sort(
        ["cost_micros", "user_id"], descending=[True, False], nulls_last=True
    ).with_columns(
        pl.when(pl.int_range(pl.len()) < top)
        .then(pl.col("user_id"))
        .otherwise(pl.lit(OTHER))
        .alias("user_bucket")
    )
    return (
        ranked.group_by("user_bucket")
        .agg(pl.col("cost_micros").sum(), pl.col("calls").sum())
        .sort("user_bucket")
    )
