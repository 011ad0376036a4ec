"""Resolve each model to a price, and compute every span's cost in integer micro-dollars.

A (provider, model) pair is resolved once (:func:`resolve`): the configured rules first,
then a LiteLLM price file, then the ``genai-prices`` package, where a routed name such as
``openrouter/meta-llama/llama-3.1-70b-instruct`` is tried as provider + model when the
full name is unknown. The cost of every span is then one vectorised integer expression.

Input tokens include cached tokens, and output tokens include reasoning tokens
(DESIGN.md): the cached and reasoning parts are taken out before the base rates apply, so
nothing is counted twice. A span whose model has no price keeps the cost its
instrumentation reported (``cost_source = "reported"``), else its cost is null and it is
counted as unpriced, never a silent $0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.cost.schedule import Band, BandRates, genai_bands, rule_bands

PICO = 10**12
PICO_PER_MICRO = 10**6
ATTO_PER_PICO = 10**6

RATE_COLUMNS = (
    "rate_input",
    "rate_output",
    "rate_cache_read",
    "rate_cache_write",
    "rate_reasoning",
    "rate_request",
)
BAND_COLUMNS = ("since", "until", "day_from_us", "day_to_us", "above", "upto")
PRICE_SCHEMA = pl.Schema(
    {
        "provider": pl.String(),
        "model": pl.String(),
        "since": pl.Datetime("ns", "UTC"),
        "until": pl.Datetime("ns", "UTC"),
        "day_from_us": pl.Int64(),
        "day_to_us": pl.Int64(),
        "above": pl.Int64(),
        "upto": pl.Int64(),
        **{name: pl.Int64() for name in RATE_COLUMNS},
        "price_source": pl.String(),
    }
)


@dataclass(frozen=True)
class Resolution:
    """The price schedule a model resolves to and why (which rule, from which source)."""

    provider: str | None
    model: str
    bands: tuple[Band, ...]
    reason: str

    @property
    def priced(self) -> bool:
        return any(band.rates is not None for band in self.bands)


def _attempts(provider: str | None, model: str) -> list[tuple[str, str | None]]:
    attempts: list[tuple[str, str | None]] = [(model, provider)]
    if provider is not None:
        attempts.append((model, None))
    if "/" in model:
        head, tail = model.split("/", 1)
        attempts.append((tail, head))
        attempts.append((tail, None))
    return attempts


@lru_cache(maxsize=4096)
def genai_schedule(provider: str | None, model: str) -> tuple[tuple[Band, ...], str] | None:
    """The ``genai-prices`` schedule of a model and the name it matched, or None."""
    from genai_prices import data_snapshot  # heavy: imported only when pricing

    snapshot = data_snapshot.get_snapshot()
    for name, prov in _attempts(provider, model):
        try:
            found, info = snapshot.find_provider_model(name, None, prov, None)
        except (LookupError, ValueError):
            continue
        where = f"genai-prices: {found.id}/{info.id}"
        return genai_bands(info, where), where
    return None


GenaiLookup = Callable[[str | None, str], "tuple[tuple[Band, ...], str] | None"]


def resolve(
    provider: str | None,
    model: str,
    rules: tuple[PriceRule, ...] = (),
    genai: GenaiLookup | None = None,
) -> Resolution:
    """The prices of one (provider, model) pair: matching rules, else genai-prices.

    Of the matching rules, the first undated one applies from the start and each dated
    one from its date. ``genai`` replaces the package lookup (the CLI passes a cached one).
    """
    matching = [rule for rule in rules if rule.matches(provider, model)]
    if matching:
        undated = [rule for rule in matching if rule.effective_from is None][:1]
        dated = [rule for rule in matching if rule.effective_from is not None]
        entries = [
            (
                None
                if rule.effective_from is None
                else datetime.combine(rule.effective_from, datetime.min.time(), UTC),
                BandRates.from_rates(rule.rates),
                rule.describe(),
            )
            for rule in undated + dated
        ]
        reason = ", ".join(rule.describe() for rule in undated + dated)
        return Resolution(provider, model, rule_bands(entries), reason)
    found = (genai or genai_schedule)(provider, model)
    if found is None:
        return Resolution(provider, model, (), "no price: no rule and unknown to genai-prices")
    return Resolution(provider, model, found[0], found[1])


def price_table(resolutions: list[Resolution]) -> pl.DataFrame:
    """One row per band of every model: bands of one model never overlap."""
    rows: list[tuple[object, ...]] = []
    for res in resolutions:
        for band in res.bands:
            rates = band.rates
            values = (
                (
                    rates.input,
                    rates.output,
                    rates.cache_read,
                    rates.cache_write,
                    rates.reasoning,
                    rates.request,
                )
                if rates
                else (None,) * len(RATE_COLUMNS)
            )
            rows.append(
                (
                    res.provider,
                    res.model,
                    band.since,
                    band.until,
                    band.day_from_us,
                    band.day_to_us,
                    band.above,
                    band.upto,
                    *values,
                    band.source,
                )
            )
    return pl.DataFrame(rows, schema=PRICE_SCHEMA, orient="row")


def model_pairs(spans: pl.LazyFrame) -> pl.LazyFrame:
    """The distinct (provider, model) pairs of the spans that have a model."""
    return spans.select("provider", "model").filter(pl.col("model").is_not_null()).unique()


TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


def _span_cost_atto() -> pl.Expr:
    """Exact integer atto-dollars (10^-18 USD) of one span, given its band's rate columns.

    Cached tokens are part of the input and reasoning tokens part of the output
    (DESIGN.md): each token is charged once, at its most specific rate, as genai-prices'
    leaf values do. Cache tokens beyond the input are charged as cache tokens and the
    plain input is taken as zero (the report counts such spans, see ``cache_excess``).
    """
    tokens = {name: pl.col(name).fill_null(0).cast(pl.Int128) for name in TOKEN_COLUMNS}
    cached = tokens["cache_read_tokens"] + tokens["cache_write_tokens"]
    uncached = (tokens["input_tokens"] - cached).clip(lower_bound=0)
    reasoning = pl.min_horizontal(tokens["reasoning_tokens"], tokens["output_tokens"])
    plain_output = tokens["output_tokens"] - reasoning
    return (
        uncached * pl.col("rate_input")
        + tokens["cache_read_tokens"] * pl.col("rate_cache_read")
        + tokens["cache_write_tokens"] * pl.col("rate_cache_write")
        + plain_output * pl.col("rate_output")
        + reasoning * pl.col("rate_reasoning")
        + pl.col("rate_request")
    )


def _in_band(prices: pl.DataFrame) -> pl.Expr | None:
    """The band (joined on provider and model) that applies to the span's time and size.

    Only the conditions some band of ``prices`` sets are tested (a condition whose column
    is null in every band holds for every span), and none when no band sets any: most
    models have one band, and the filter then costs nothing.
    """
    start = pl.col("start_time").fill_null(datetime(1970, 1, 1, tzinfo=UTC))
    day_us = (start - start.dt.truncate("1d")).dt.total_microseconds()
    size = pl.col("input_tokens").fill_null(0)
    terms = {
        "since": pl.col("since").is_null() | (start >= pl.col("since")),
        "until": pl.col("until").is_null() | (start < pl.col("until")),
        "day_from_us": pl.col("day_from_us").is_null()
        | ((day_us >= pl.col("day_from_us")) & (day_us < pl.col("day_to_us"))),
        "above": pl.col("above").is_null() | (size > pl.col("above")),
        "upto": pl.col("upto").is_null() | (size <= pl.col("upto")),
    }
    used = [
        term
        for column, term in terms.items()
        if prices.get_column(column).null_count() < prices.height
    ]
    if not used:
        return None
    return pl.col("price_source").is_null() | pl.all_horizontal(used)


def with_cost(spans: pl.LazyFrame, prices: pl.DataFrame) -> pl.LazyFrame:
    """``spans`` plus ``cost_pico``, ``cost_micros``, ``cost_usd`` and ``cost_source``.

    Each span is priced by the band in force at its start time, for its own input size
    (the tier is picked per span): one join on (provider, model) and one filter, since a
    model's bands never overlap. ``cost_pico`` is the span's cost in integer pico-dollars
    (computed exactly in atto-dollars, rounded once): sum it (:func:`sum_micros`) and
    round once, so totals are exact to the micro-dollar. ``cost_micros`` is the span's own
    cost rounded half up to micro-dollars. ``cost_source`` is ``"price"``, ``"reported"``
    (the span's own ``reported_cost_usd``, for models without a price) or null (unpriced).
    """
    joined = spans.join(
        prices.lazy(),
        on=["provider", "model"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    in_band = _in_band(prices)
    if in_band is not None:
        joined = joined.filter(in_band)
    priced_here = has_usage() & pl.col("rate_input").is_not_null()
    atto = _span_cost_atto()
    computed = pl.when(priced_here).then(
        ((atto + ATTO_PER_PICO // 2) // ATTO_PER_PICO).cast(pl.Int64)
    )
    reported = (pl.col("reported_cost_usd") * PICO).round(0).cast(pl.Int64)
    return (
        joined.with_columns(computed.alias("_computed"))
        .with_columns(
            pl.coalesce("_computed", reported).alias("cost_pico"),
            pl.when(pl.col("_computed").is_not_null())
            .then(pl.lit("price"))
            .when(pl.col("reported_cost_usd").is_not_null())
            .then(pl.lit("reported"))
            .alias("cost_source"),
        )
        .with_columns(
            ((pl.col("cost_pico") + PICO_PER_MICRO // 2) // PICO_PER_MICRO).alias("cost_micros")
        )
        .with_columns((pl.col("cost_pico") / PICO).alias("cost_usd"))
        .drop("_computed", *RATE_COLUMNS, *BAND_COLUMNS, "price_source")
    )


def sum_micros(column: str = "cost_pico") -> pl.Expr:
    """The exact sum of pico-dollar costs, rounded once to micro-dollars (Int128 inside)."""
    total = pl.col(column).cast(pl.Int128).sum()
    return ((total + PICO_PER_MICRO // 2) // PICO_PER_MICRO).cast(pl.Int64)


def has_usage() -> pl.Expr:
    """Spans that report tokens: a failed call without usage costs nothing and is not unpriced."""
    return pl.any_horizontal(pl.col("input_tokens", "output_tokens").is_not_null())


def unpriced(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Spans that use tokens but have no cost, per model name: how many and how many tokens."""
    return (
        spans.filter(pl.col("cost_source").is_null() & has_usage())
        .group_by("provider", "model")
        .agg(
            pl.len().alias("spans"),
            (pl.col("input_tokens").fill_null(0) + pl.col("output_tokens").fill_null(0))
            .sum()
            .alias("tokens"),
        )
        .sort("spans", descending=True)
    )
