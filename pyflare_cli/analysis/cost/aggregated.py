"""Spend parts priced after aggregating: token sums per group first, then the price bands.

Per-span pricing (:func:`pricing.with_cost`) joins every span to its price band and
multiplies in 128-bit integers: on a window of a million spans that is most of
``pyflare cost``. A span's cost is rounded once, from atto- to pico-dollars; when every
rate of a band is a whole number of pico-dollars (atto-dollars divisible by 10^6, as for
every price genai-prices lists today) that rounding changes nothing, so the cost of a
group of spans in one band is its token sums times the band's rates, exactly. The bands
are then applied to a few hundred rows of sums instead of every span.

A group lies in one band when the band's interval holds both its earliest and latest start
and both its smallest and largest input size (bands are intervals that never overlap).
When some group does not, a rate is not whole, or a model's band sets a daily window,
:func:`price_usage` answers None and the caller prices per span: same figures, slower.
The columns and types are :func:`report.spend_parts`'s, so everything after is shared.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.cost.gate import REQUEST_KINDS, is_failed
from pyflare_cli.analysis.cost.pricing import (
    ATTO_PER_PICO,
    PICO,
    RATE_COLUMNS,
    TOKEN_COLUMNS,
    has_usage,
)
from pyflare_cli.analysis.cost.report import SUMS, grouping

CHARGED = {
    "_q_input": "rate_input",
    "_q_cache_read": "rate_cache_read",
    "_q_cache_write": "rate_cache_write",
    "_q_output": "rate_output",
    "_q_reasoning": "rate_reasoning",
    "_calls": "rate_request",
}
"""Each sum of the spans with usage and the rate it is charged at."""
QUANTITIES = tuple(CHARGED)[:5]


def usage_parts(
    spans: pl.LazyFrame, by: list[str], every: str | None = None, step: str = "day"
) -> pl.LazyFrame:
    """One pass over unpriced spans: per :func:`report.spend_parts` group, the sums its
    cost and counts are made of, and the group's extent in time and input size.

    Each span's token split (cached out of input, reasoning out of output, as
    :func:`pricing._span_cost_atto` splits them) is computed on the span, then summed:
    plain column sums, the fast path of Polars' group-by.
    """
    frame, keys = grouping(spans, by, every, None, step)
    tokens = {name: pl.col(name).fill_null(0) for name in TOKEN_COLUMNS}
    cached = tokens["cache_read_tokens"] + tokens["cache_write_tokens"]
    reasoning = pl.min_horizontal(tokens["reasoning_tokens"], tokens["output_tokens"])
    split = (
        (tokens["input_tokens"] - cached).clip(lower_bound=0),
        tokens["cache_read_tokens"],
        tokens["cache_write_tokens"],
        tokens["output_tokens"] - reasoning,
        reasoning,
    )
    usage = pl.col("_usage")
    kind = pl.col("ai_kind")
    # A call reported twice is never here (the caller prices per span then), so a request
    # is is_request() without its duplicate test.
    request = kind.is_in(REQUEST_KINDS).fill_null(False) | (kind.is_null() & usage)
    reported = (pl.col("reported_cost_usd") * PICO).round(0).cast(pl.Int64).cast(pl.Int128)
    unreported = usage & pl.col("reported_cost_usd").is_null()
    per_span = frame.with_columns(has_usage().alias("_usage")).with_columns(
        *(pl.when(usage).then(q).alias(name) for name, q in zip(QUANTITIES, split, strict=True)),
        reported.alias("_reported"),
        pl.when(~usage).then(reported).alias("_reported_bare"),
        unreported.alias("_unreported"),
        pl.when(unreported)
        .then(tokens["input_tokens"] + tokens["output_tokens"])
        .alias("_unreported_tokens"),
        request.alias("_request"),
        (request & is_failed()).alias("_failed"),
        tokens["input_tokens"].alias("_size"),
    )
    return per_span.group_by(keys).agg(
        pl.col(*QUANTITIES).sum(),
        pl.col("_usage").sum().cast(pl.Int64).alias("_calls"),
        pl.col("_reported", "_reported_bare").sum(),
        pl.col("_unreported").sum().cast(pl.Int64),
        pl.col("_unreported_tokens").sum(),
        pl.col("_request").sum().cast(pl.Int64).alias("requests"),
        pl.col("_failed").sum().cast(pl.Int64).alias("failed"),
        pl.col("input_tokens").sum(),
        pl.col("output_tokens").sum(),
        pl.col("cache_read_tokens").sum().alias("cached_tokens"),
        pl.col("reasoning_tokens").sum(),
        pl.col("start_time").min().alias("_t_min"),
        pl.col("start_time").max().alias("_t_max"),
        pl.col("_size").min().alias("_in_min"),
        pl.col("_size").max().alias("_in_max"),
    )


def _holds(end: str) -> pl.Expr:
    """The band's interval condition at one end of the group (``min`` or ``max``)."""
    start, size = pl.col(f"_t_{end}"), pl.col(f"_in_{end}")
    return (
        (pl.col("since").is_null() | (start >= pl.col("since")))
        & (pl.col("until").is_null() | (start < pl.col("until")))
        & (pl.col("above").is_null() | (size > pl.col("above")))
        & (pl.col("upto").is_null() | (size <= pl.col("upto")))
    )


def price_usage(usage: pl.DataFrame, prices: pl.DataFrame) -> pl.DataFrame | None:
    """:func:`usage_parts` priced with ``prices`` (:func:`pricing.price_table`): the rows
    of :func:`report.spend_parts`, or None when aggregating is not exact for them."""
    keys = usage.columns[: usage.columns.index(QUANTITIES[0])]
    joined = usage.with_row_index("_group").join(
        prices,
        left_on=["_provider", "_model"],
        right_on=["provider", "model"],
        how="left",
        nulls_equal=True,
    )
    if joined.get_column("day_from_us").is_not_null().any():
        return None  # a daily window: time of day is not an interval of a day's spans
    inside = pl.col("price_source").is_null() | (_holds("min") & _holds("max"))
    chosen = joined.filter(inside)
    if chosen.height != usage.height or chosen.get_column("_group").n_unique() != usage.height:
        return None  # a group whose spans fall in several bands (or none)
    rates = chosen.select(RATE_COLUMNS)
    priced = pl.col("rate_input").is_not_null()
    whole = pl.all_horizontal(
        (pl.col(c).is_not_null() & (pl.col(c) % ATTO_PER_PICO == 0)) for c in RATE_COLUMNS
    )
    if not rates.select((~priced | whole).all()).item():
        return None  # a rate with a fraction of a pico-dollar: each span rounds
    atto = pl.sum_horizontal(pl.col(q).cast(pl.Int128) * pl.col(r) for q, r in CHARGED.items())
    priced_pico = atto // ATTO_PER_PICO + pl.col("_reported_bare")
    return chosen.sort("_group").select(
        *keys,
        pl.when(priced).then(priced_pico).otherwise(pl.col("_reported")).alias("cost_pico"),
        *(c for c in SUMS if c not in ("unpriced", "unpriced_tokens")),
        pl.when(priced).then(0).otherwise(pl.col("_unreported")).alias("unpriced"),
        pl.when(priced).then(0).otherwise(pl.col("_unreported_tokens")).alias("unpriced_tokens"),
    )
