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
from decimal import Decimal
from functools import lru_cache

import polars as pl

from pyflare_cli.analysis.cost.price_rules import MICROS, PriceRule, Rates

PICO = 10**12
PICO_PER_MICRO = 10**6

RATE_COLUMNS = (
    "rate_input",
    "rate_output",
    "rate_cache_read",
    "rate_cache_write",
    "rate_reasoning",
)
PRICE_SCHEMA = pl.Schema(
    {
        "provider": pl.String(),
        "model": pl.String(),
        "effective_from": pl.Datetime("ns", "UTC"),
        **{name: pl.Int64() for name in RATE_COLUMNS},
        "price_source": pl.String(),
    }
)


@dataclass(frozen=True)
class Resolution:
    """The price a model resolves to and why (which rule, from which source)."""

    provider: str | None
    model: str
    rates: Rates | None
    reason: str
    rules: tuple[PriceRule, ...] = ()
    """Dated rules: every configured rule that applies, with its effective date."""


def _genai_micros(model: str, provider: str | None, **tokens: int) -> int:
    from genai_prices import Usage, calc_price  # heavy: imported only when pricing

    result = calc_price(Usage(**tokens), model_ref=model, provider_id=provider)
    return int((Decimal(str(result.total_price)) * MICROS).to_integral_value())


@lru_cache(maxsize=4096)
def genai_rates(provider: str | None, model: str) -> tuple[Rates, str] | None:
    """The ``genai-prices`` price of a model and the name it matched, or None."""
    attempts: list[tuple[str, str | None]] = [(model, provider)]
    if provider is not None:
        attempts.append((model, None))
    if "/" in model:
        head, tail = model.split("/", 1)
        attempts.append((tail, head))
        attempts.append((tail, None))
    million = MICROS
    for name, prov in attempts:
        try:
            input_rate = _genai_micros(name, prov, input_tokens=million)
            rates = Rates(
                input=input_rate,
                output=_genai_micros(name, prov, output_tokens=million),
                cache_read=_genai_micros(
                    name, prov, input_tokens=million, cache_read_tokens=million
                ),
                cache_write=_genai_micros(
                    name, prov, input_tokens=million, cache_write_tokens=million
                ),
                reasoning=_genai_micros(name, prov, output_tokens=million),
            )
        except (LookupError, ValueError):
            continue
        where = f"{prov}/{name}" if prov else name
        return rates, f"genai-prices: {where}"
    return None


GenaiLookup = Callable[[str | None, str], "tuple[Rates, str] | None"]


def resolve(
    provider: str | None,
    model: str,
    rules: tuple[PriceRule, ...] = (),
    genai: GenaiLookup | None = None,
) -> Resolution:
    """The price of one (provider, model) pair: first matching rule, else genai-prices.

    ``genai`` replaces the package lookup (the CLI passes a cached one).
    """
    matching = [rule for rule in rules if rule.matches(provider, model)]
    if matching:
        undated = [rule for rule in matching if rule.effective_from is None]
        dated = tuple(rule for rule in matching if rule.effective_from is not None)
        first = undated[0] if undated else None
        reason = (
            first.describe()
            if first
            else "dated rules only: " + ", ".join(rule.describe() for rule in dated)
        )
        return Resolution(provider, model, first.rates if first else None, reason, dated)
    found = (genai or genai_rates)(provider, model)
    if found is None:
        return Resolution(provider, model, None, "no price: no rule and unknown to genai-prices")
    return Resolution(provider, model, found[0], found[1])


def price_table(resolutions: list[Resolution]) -> pl.DataFrame:
    """One row per price in force: undated prices, and each dated rule from its date."""
    rows: list[tuple[object, ...]] = []
    for res in resolutions:
        if res.rates is not None:
            rows.append((res.provider, res.model, None, *_tuple(res.rates), res.reason))
        for rule in res.rules:
            assert rule.effective_from is not None
            start = datetime.combine(rule.effective_from, datetime.min.time(), UTC)
            rows.append((res.provider, res.model, start, *_tuple(rule.rates), rule.describe()))
    return pl.DataFrame(rows, schema=PRICE_SCHEMA, orient="row")


def _tuple(rates: Rates) -> tuple[int, int, int, int, int]:
    return rates.input, rates.output, rates.cache_read, rates.cache_write, rates.reasoning


def model_pairs(spans: pl.LazyFrame) -> pl.LazyFrame:
    """The distinct (provider, model) pairs of the spans that have a model."""
    return spans.select("provider", "model").filter(pl.col("model").is_not_null()).unique()


def _span_cost_pico() -> pl.Expr:
    """Exact integer pico-dollars (10^-12 USD) of one span, given its rate columns."""
    tokens = {
        name: pl.col(name).fill_null(0)
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        )
    }
    cached = tokens["cache_read_tokens"] + tokens["cache_write_tokens"]
    uncached = (tokens["input_tokens"] - cached).clip(lower_bound=0)
    reasoning = pl.min_horizontal(tokens["reasoning_tokens"], tokens["output_tokens"])
    plain_output = tokens["output_tokens"] - reasoning
    scaled = (
        uncached * pl.col("rate_input")
        + tokens["cache_read_tokens"] * pl.col("rate_cache_read")
        + tokens["cache_write_tokens"] * pl.col("rate_cache_write")
        + plain_output * pl.col("rate_output")
        + reasoning * pl.col("rate_reasoning")
    )
    # tokens x micro-dollars per million tokens = pico-dollars, exact: no rounding at all.
    return scaled


def with_cost(spans: pl.LazyFrame, prices: pl.DataFrame) -> pl.LazyFrame:
    """``spans`` plus ``cost_pico``, ``cost_micros``, ``cost_usd`` and ``cost_source``.

    ``cost_pico`` is exact (integer pico-dollars): sum it (:func:`sum_micros`) and round
    once, so totals are exact to the micro-dollar however many small calls they add up.
    ``cost_micros`` is the span's own cost rounded half up to micro-dollars.
    ``cost_source`` is ``"price"`` (computed from a price), ``"reported"`` (the span's own
    ``reported_cost_usd``, for models without a price) or null (unpriced).
    """
    reported_usage = pl.any_horizontal(pl.col("input_tokens", "output_tokens").is_not_null())
    if prices.filter(pl.col("effective_from").is_not_null()).height:
        joined = _join_dated(spans, prices)
    else:
        joined = spans.join(
            prices.lazy().drop("effective_from", "price_source"),
            on=["provider", "model"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
    computed = pl.when(reported_usage & pl.col("rate_input").is_not_null()).then(_span_cost_pico())
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
        .drop("_computed", *RATE_COLUMNS)
    )


def _join_dated(spans: pl.LazyFrame, prices: pl.DataFrame) -> pl.LazyFrame:
    """Join with prices that change over time: each span takes the latest one in force."""
    candidates = (
        spans.with_row_index("_span")
        .join(
            prices.lazy().drop("price_source"),
            on=["provider", "model"],
            how="left",
            nulls_equal=True,
        )
        .filter(
            pl.col("effective_from").is_null() | (pl.col("effective_from") <= pl.col("start_time"))
        )
    )
    best = (
        candidates.sort("_span", pl.col("effective_from"), nulls_last=False)
        .group_by("_span", maintain_order=True)
        .last()
    )
    everything = spans.with_row_index("_span").join(
        best.select("_span", *RATE_COLUMNS), on="_span", how="left", maintain_order="left"
    )
    return everything.drop("_span")


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
