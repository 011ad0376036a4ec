"""Who spends what: cost grouped by any dimension and period, against the previous period.

Pure and lazy: spans with ``cost_micros`` in (see :mod:`pricing`), small frames out.
Sums stay integer micro-dollars; dollars are derived for display only.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.cost.gate import is_failed, is_request
from pyflare_cli.analysis.cost.pricing import has_usage, sum_micros
from pyflare_cli.analysis.traces.ancestry import with_ancestry

DIMENSIONS = {
    "model": "model",
    "provider": "provider",
    "service": "service_name",
    "user": "user_id",
    "session": "session_id",
    "agent": "agent",
    "tool": "tool",
    "environment": "environment",
}
TRACE_WIDE = ("user_id", "session_id", "environment")
"""Columns an LLM call inherits from its trace when it does not carry them itself."""
BY_ANCESTRY = ("agent", "tool")
"""Dimensions of the nearest agent/tool span above a call (analysis.traces.ancestry)."""
EVERY = {"hour": "1h", "day": "1d", "week": "1w"}


def dimension_expr(name: str) -> pl.Expr:
    """The expression of a ``--by`` dimension: a known name or ``attr.<key>``."""
    if name.startswith("attr.") and len(name) > 5:
        return pl.col("attributes").map.get(name[5:]).alias(name)
    if name not in DIMENSIONS:
        raise ValueError(name)
    return pl.col(DIMENSIONS[name]).alias(name)


def attributed(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Spans whose user, session and environment fall back to their trace's.

    A trace's value is that of its earliest span that has one, by (start time, span id,
    value), nulls last: a rule every engine follows (``engine.attribution_sql``), where
    the first value in storage order would depend on how the store was written and read.
    """
    order = [pl.col("start_time"), pl.col("span_id")]
    return spans.with_columns(
        pl.col(column).fill_null(
            pl.col(column)
            .sort_by([pl.col(column).is_null(), *order, pl.col(column)], nulls_last=True)
            .first()
            .over("trace_id")
        )
        for column in TRACE_WIDE
    )


def _aggregates() -> list[pl.Expr]:
    tokens = pl.col("input_tokens").fill_null(0) + pl.col("output_tokens").fill_null(0)
    unpriced = pl.col("cost_source").is_null() & has_usage()
    return [
        pl.col("cost_pico").cast(pl.Int128).sum().alias("cost_pico"),
        is_request().sum().cast(pl.Int64).alias("requests"),
        (is_request() & is_failed()).sum().cast(pl.Int64).alias("failed"),
        pl.col("input_tokens").sum().alias("input_tokens"),
        pl.col("output_tokens").sum().alias("output_tokens"),
        pl.col("cache_read_tokens").sum().alias("cached_tokens"),
        pl.col("reasoning_tokens").sum().alias("reasoning_tokens"),
        unpriced.sum().cast(pl.Int64).alias("unpriced"),
        tokens.filter(unpriced).sum().alias("unpriced_tokens"),
    ]


SUMS = (
    "requests",
    "failed",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "unpriced",
    "unpriced_tokens",
)
STEP = "_step"
"""The sparkline's period (hour or day) in :func:`spend_parts`."""


def spend_parts(
    spans: pl.LazyFrame,
    by: list[str],
    every: str | None = None,
    where: pl.Expr | None = None,
    step: str = "day",
) -> pl.LazyFrame:
    """One pass over the window: integer sums per sparkline step, period, group and model.

    Every figure of the report (the table, the total, the sparkline, the unpriced models)
    is a sum, so each is a re-aggregation of these few rows (:func:`table_of`,
    :func:`series_of`, :func:`unpriced_of`, :func:`total_of`), exact since the sums are
    integers: the spans are read and priced once instead of once per figure. ``where``
    selects the spans counted (span-level); their user, session, agent and tool are found
    in all of ``spans`` first, so a filtered-out tool span still names its calls.
    """
    frame, keys = grouping(spans, by, every, where, step)
    return frame.group_by(keys).agg(_aggregates())


def grouping(
    spans: pl.LazyFrame, by: list[str], every: str | None, where: pl.Expr | None, step: str
) -> tuple[pl.LazyFrame, list[pl.Expr]]:
    """The spans :func:`spend_parts` groups (trace-wide fields, ancestry, ``where``) and its
    keys: step, period, the ``by`` dimensions, provider and model."""
    keys = [dimension_expr(name) for name in by]
    frame = attributed(spans) if any(n in ("user", "session", "environment") for n in by) else spans
    if any(n in BY_ANCESTRY for n in by):
        frame = with_ancestry(frame)
    if where is not None:
        frame = frame.filter(where)
    start = pl.col("start_time")
    keys = [
        start.dt.truncate(EVERY[step]).alias(STEP),
        *([start.dt.truncate(EVERY[every]).alias("period")] if every else []),
        *keys,
        pl.col("provider").alias("_provider"),
        pl.col("model").alias("_model"),
    ]
    return frame, keys


def table_of(parts: pl.LazyFrame, by: list[str], every: str | None = None) -> pl.LazyFrame:
    """Cost, requests and tokens per group (and per period with ``every``), largest first.

    Adds cost per request, per 1K tokens and the share of the total.
    """
    keys = [*(["period"] if every else []), *by]
    sums = [sum_micros().alias("cost_micros"), *(pl.col(c).sum() for c in SUMS[:-1])]
    table = parts.group_by(keys).agg(sums) if keys else parts.select(sums)
    total = pl.col("cost_micros").sum()
    tokens = pl.col("input_tokens").fill_null(0) + pl.col("output_tokens").fill_null(0)
    table = table.with_columns(
        (pl.col("cost_micros") / 1_000_000).alias("cost_usd"),
        (pl.col("cost_micros") / 1_000_000 / pl.col("requests")).alias("usd_per_request"),
        (pl.col("cost_micros") / 1_000 / tokens).alias("usd_per_1k_tokens"),
        (pl.col("cost_micros") / total).alias("share"),
    )
    table = table.filter((pl.col("requests") > 0) | (pl.col("cost_micros") != 0))
    # Ties are broken by the group keys, so one store always prints one table.
    order = [*(["period"] if every else []), "cost_micros", *by]
    descending = [False] * (1 if every else 0) + [True] + [False] * len(by)
    return table.sort(order, descending=descending, nulls_last=True)


def cost_table(
    spans: pl.LazyFrame, by: list[str], every: str | None = None, where: pl.Expr | None = None
) -> pl.LazyFrame:
    """Cost, requests and tokens per group of priced ``spans`` (see :func:`table_of`)."""
    return table_of(spend_parts(spans, by, every, where), by, every)


def series_of(parts: pl.LazyFrame) -> pl.LazyFrame:
    """Total cost per sparkline step of :func:`spend_parts`."""
    return (
        parts.group_by(pl.col(STEP).alias("period"))
        .agg(sum_micros().alias("cost_micros"))
        .sort("period")
    )


def unpriced_of(parts: pl.LazyFrame) -> pl.LazyFrame:
    """Spans that use tokens but have no cost, per model: how many and how many tokens."""
    return (
        parts.filter(pl.col("unpriced") > 0)
        .group_by(pl.col("_provider").alias("provider"), pl.col("_model").alias("model"))
        .agg(
            pl.col("unpriced").sum().alias("spans"),
            pl.col("unpriced_tokens").sum().alias("tokens"),
        )
        .sort(["spans", "model", "provider"], descending=[True, False, False], nulls_last=True)
    )


def total_of(parts: pl.LazyFrame) -> pl.LazyFrame:
    """The exact total of :func:`spend_parts`, in micro-dollars (one row, ``cost_micros``)."""
    return parts.select(sum_micros().alias("cost_micros"))


def with_change(current: pl.LazyFrame, previous: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """``current`` plus ``previous_usd`` and ``change`` (relative, null when new)."""
    if not by:
        total = previous.select((pl.col("cost_micros").sum() / 1_000_000).alias("previous_usd"))
        joined = current.join(total, how="cross")
    else:
        before = previous.select(*by, (pl.col("cost_micros") / 1_000_000).alias("previous_usd"))
        joined = current.join(before, on=by, how="left", nulls_equal=True, maintain_order="left")
    return joined.with_columns(
        pl.when(pl.col("previous_usd") > 0)
        .then((pl.col("cost_usd") - pl.col("previous_usd")) / pl.col("previous_usd"))
        .alias("change")
    )


def cost_series(spans: pl.LazyFrame, every: str) -> pl.LazyFrame:
    """Total cost per period, for the sparkline."""
    return (
        spans.group_by(pl.col("start_time").dt.truncate(EVERY[every]).alias("period"))
        .agg(sum_micros().alias("cost_micros"))
        .sort("period")
    )


def top_traces_by_cost(spans: pl.LazyFrame, limit: int) -> pl.LazyFrame:
    """The most expensive traces: cost, calls, models, root operation."""
    root = [pl.col("parent_span_id").is_not_null(), pl.col("start_time")]
    return (
        spans.group_by("trace_id")
        .agg(
            sum_micros().alias("cost_micros"),
            pl.col("start_time").min(),
            pl.col("service_name").sort_by(root).first().alias("root_service"),
            pl.col("name").sort_by(root).first().alias("root_name"),
            is_request().sum().alias("calls"),
            pl.col("model").drop_nulls().unique().sort().alias("models"),
        )
        .filter(pl.col("cost_micros") > 0)
        .sort(["cost_micros", "trace_id"], descending=[True, False])
        .head(limit)
        .with_columns((pl.col("cost_micros") / 1_000_000).alias("cost_usd"))
    )


def top_spans_by_cost(spans: pl.LazyFrame, limit: int) -> pl.LazyFrame:
    """The most expensive single calls."""
    return (
        spans.filter(pl.col("cost_micros") > 0)
        .sort(["cost_micros", "span_id"], descending=[True, False])
        .head(limit)
        .select(
            "trace_id",
            "span_id",
            "start_time",
            "service_name",
            "name",
            "model",
            "input_tokens",
            "output_tokens",
            "cost_micros",
            (pl.col("cost_micros") / 1_000_000).alias("cost_usd"),
            "cost_source",
        )
    )
