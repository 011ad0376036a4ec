"""Model prices and the computed cost of each span.

Prices come from the offline ``genai-prices`` package. A model is priced once per
(provider, model) pair, as per-token rates; the cost of every span is then a vectorised
expression. Input tokens include cached tokens and output tokens include reasoning tokens
(DESIGN.md), so cached tokens are taken out of the input before pricing and are never
counted twice. A span whose model has no price keeps the cost its instrumentation
reported, else null: never a silent $0.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

PRICE_SCHEMA = {
    "provider": pl.String,
    "model": pl.String,
    "input_rate": pl.Float64,
    "output_rate": pl.Float64,
    "cache_read_rate": pl.Float64,
    "cache_write_rate": pl.Float64,
}
MILLION = 1_000_000
Rates = tuple[float, float, float, float]
"""USD per token: input, output, cache read, cache write."""


def _rate(model: str, provider: str | None, **tokens: int) -> float:
    from genai_prices import Usage, calc_price  # heavy: imported only when pricing

    result = calc_price(Usage(**tokens), model_ref=model, provider_id=provider)
    return float(result.total_price) / MILLION


@lru_cache(maxsize=4096)
def model_rates(provider: str | None, model: str) -> Rates | None:
    """USD per token (input, output, cache read, cache write), or None when unknown.

    A ``provider/`` prefix on the model name (``openrouter/meta-llama/...``) is tried as
    the provider when the full name is unknown.
    """
    attempts: list[tuple[str, str | None]] = [(model, provider)]
    if provider is not None:
        attempts.append((model, None))
    if "/" in model:
        head, tail = model.split("/", 1)
        attempts.append((tail, head))
    for name, prov in attempts:
        try:
            input_rate = _rate(name, prov, input_tokens=MILLION)
            output_rate = _rate(name, prov, output_tokens=MILLION)
            cache_read = _rate(name, prov, input_tokens=MILLION, cache_read_tokens=MILLION)
            cache_write = _rate(name, prov, input_tokens=MILLION, cache_write_tokens=MILLION)
        except (LookupError, ValueError):
            continue
        return input_rate, output_rate, cache_read, cache_write
    return None


def price_table(
    pairs: list[tuple[str | None, str]],
    known: dict[tuple[str | None, str], Rates | None] | None = None,
) -> pl.DataFrame:
    """Per-token rates for each (provider, model) pair that has a price.

    ``known`` holds rates already looked up (a cache); pairs found there are not priced
    again, and the ones priced now are added to it.
    """
    rows = []
    for provider, model in pairs:
        key = (provider, model)
        if known is not None and key in known:
            rates = known[key]
        else:
            rates = model_rates(provider, model)
            if known is not None:
                known[key] = rates
        if rates is not None:
            rows.append((provider, model, *rates))
    return pl.DataFrame(rows, schema=PRICE_SCHEMA, orient="row")


def model_pairs(spans: pl.LazyFrame) -> pl.LazyFrame:
    """The distinct (provider, model) pairs of the spans that have a model."""
    return spans.select("provider", "model").filter(pl.col("model").is_not_null()).unique()


def with_cost(spans: pl.LazyFrame, prices: pl.DataFrame) -> pl.LazyFrame:
    """``spans`` plus ``cost_usd``: computed from ``prices``, else the reported cost."""
    tokens = {
        name: pl.col(name).fill_null(0)
        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    }
    uncached = (
        tokens["input_tokens"] - tokens["cache_read_tokens"] - tokens["cache_write_tokens"]
    ).clip(lower_bound=0)
    computed = (
        uncached * pl.col("input_rate")
        + tokens["cache_read_tokens"] * pl.col("cache_read_rate")
        + tokens["cache_write_tokens"] * pl.col("cache_write_rate")
        + tokens["output_tokens"] * pl.col("output_rate")
    )
    reported_usage = pl.any_horizontal(pl.col("input_tokens", "output_tokens").is_not_null())
    computed = pl.when(reported_usage).then(computed)
    joined = spans.join(
        prices.lazy(),
        on=["provider", "model"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    return joined.with_columns(
        pl.coalesce(computed, pl.col("reported_cost_usd")).alias("cost_usd")
    ).drop("input_rate", "output_rate", "cache_read_rate", "cache_write_rate")
