"""Span costs from model prices: cached tokens once, unknown models never $0."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_series_equal

from pyflare_cli.analysis.pricing import model_pairs, model_rates, price_table, with_cost

M = 1_000_000


def _spans(**columns: list[object]) -> pl.LazyFrame:
    base: dict[str, list[object]] = {
        "provider": ["openai"],
        "model": ["gpt-4o"],
        "input_tokens": [None],
        "output_tokens": [None],
        "cache_read_tokens": [None],
        "cache_write_tokens": [None],
        "reported_cost_usd": [None],
    }
    base.update(columns)
    rows = max(len(v) for v in base.values())
    base = {k: v * rows if len(v) == 1 else v for k, v in base.items()}
    return pl.DataFrame(
        base,
        schema={
            "provider": pl.String,
            "model": pl.String,
            "input_tokens": pl.Int64,
            "output_tokens": pl.Int64,
            "cache_read_tokens": pl.Int64,
            "cache_write_tokens": pl.Int64,
            "reported_cost_usd": pl.Float64,
        },
    ).lazy()


RATES = pl.DataFrame(
    {
        "provider": ["openai"],
        "model": ["gpt-4o"],
        "input_rate": [2.5 / M],
        "output_rate": [10 / M],
        "cache_read_rate": [1.25 / M],
        "cache_write_rate": [3.75 / M],
    }
)


def _cost(spans: pl.LazyFrame, prices: pl.DataFrame = RATES) -> list[object]:
    return with_cost(spans, prices).collect().get_column("cost_usd").to_list()


def test_cached_tokens_are_priced_once() -> None:
    spans = _spans(
        input_tokens=[1000], output_tokens=[100], cache_read_tokens=[800], cache_write_tokens=[100]
    )
    # 100 uncached input + 800 cache read + 100 cache write + 100 output
    expected = 100 * 2.5 / M + 800 * 1.25 / M + 100 * 3.75 / M + 100 * 10 / M
    assert _cost(spans) == [pytest.approx(expected)]


def test_unknown_model_keeps_reported_cost_or_null() -> None:
    spans = _spans(
        provider=["acme", "acme"],
        model=["secret-1", "secret-1"],
        input_tokens=[10, 10],
        output_tokens=[1, 1],
        reported_cost_usd=[0.5, None],
    )
    assert _cost(spans) == [0.5, None]


def test_no_usage_means_no_cost_not_zero() -> None:
    assert _cost(_spans()) == [None]


def test_null_provider_matches_null_provider_prices() -> None:
    prices = RATES.with_columns(pl.lit(None, pl.String).alias("provider"))
    spans = _spans(provider=[None], input_tokens=[M], output_tokens=[0])
    assert _cost(spans, prices) == [pytest.approx(2.5)]


def test_real_price_data_for_known_and_prefixed_models() -> None:
    gpt = model_rates("openai", "gpt-4o")
    assert gpt is not None and gpt[1] > gpt[0] > gpt[2] > 0
    routed = model_rates(None, "openrouter/meta-llama/llama-3.1-70b-instruct")
    assert routed is not None and routed[0] > 0
    assert model_rates(None, "no-such-model-xyz") is None


def test_price_table_uses_and_fills_a_cache() -> None:
    cache: dict[tuple[str | None, str], tuple[float, float, float, float] | None] = {
        ("acme", "cached"): (1.0, 2.0, 0.5, 1.5)
    }
    table = price_table([("acme", "cached"), (None, "no-such-model-xyz")], cache)
    assert table.rows() == [("acme", "cached", 1.0, 2.0, 0.5, 1.5)]
    assert cache[(None, "no-such-model-xyz")] is None


def test_model_pairs_are_distinct_and_skip_missing_models() -> None:
    spans = _spans(provider=["a", "a", "b"], model=["m", "m", None])
    pairs = model_pairs(spans).collect()
    assert_series_equal(pairs.get_column("model"), pl.Series("model", ["m"]))
