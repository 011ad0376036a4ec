"""Span costs in integer micro-dollars: cached and reasoning tokens once, rules, dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from pyflare_cli.analysis.cost.price_rules import PriceRule, Rates, complete_rates, litellm_rules
from pyflare_cli.analysis.cost.pricing import (
    genai_schedule,
    model_pairs,
    price_table,
    resolve,
    unpriced,
    with_cost,
)
from pyflare_cli.analysis.cost.schedule import BandRates
from pyflare_cli.config.prices import parse_price_rules
from pyflare_cli.errors import UsageError

M = 1_000_000
GPT4O = Rates(
    input=2_500_000,
    output=10_000_000,
    cache_read=1_250_000,
    cache_write=3_750_000,
    reasoning=12_000_000,
)
T1 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _spans(**columns: list[object]) -> pl.LazyFrame:
    base: dict[str, list[object]] = {
        "provider": ["openai"],
        "model": ["gpt-4o"],
        "start_time": [T1],
        "input_tokens": [None],
        "output_tokens": [None],
        "cache_read_tokens": [None],
        "cache_write_tokens": [None],
        "reasoning_tokens": [None],
        "reported_cost_usd": [None],
    }
    base.update(columns)
    rows = max(len(v) for v in base.values())
    base = {k: v * rows if len(v) == 1 else v for k, v in base.items()}
    schema = {
        "provider": pl.String,
        "model": pl.String,
        "start_time": pl.Datetime("ns", "UTC"),
        "input_tokens": pl.Int64,
        "output_tokens": pl.Int64,
        "cache_read_tokens": pl.Int64,
        "cache_write_tokens": pl.Int64,
        "reasoning_tokens": pl.Int64,
        "reported_cost_usd": pl.Float64,
    }
    return pl.DataFrame(base, schema=schema).lazy()


RULES = (PriceRule("gpt-4o", "exact", GPT4O, "test"),)


def _costs(spans: pl.LazyFrame, rules: tuple[PriceRule, ...] = RULES) -> pl.DataFrame:
    pairs = [(p, m) for p, m in model_pairs(spans).collect().iter_rows()]
    table = price_table([resolve(p, m, rules, genai=lambda *_: None) for p, m in pairs])
    return with_cost(spans, table).collect()


def test_cached_and_reasoning_tokens_are_priced_once_exactly() -> None:
    spans = _spans(
        input_tokens=[1000],
        output_tokens=[300],
        cache_read_tokens=[600],
        cache_write_tokens=[100],
        reasoning_tokens=[200],
    )
    # 300 uncached x 2.5 + 600 x 1.25 + 100 x 3.75 + 100 plain output x 10 + 200 x 12 ($/M)
    expected = (
        300 * 2_500_000 + 600 * 1_250_000 + 100 * 3_750_000 + 100 * 10_000_000 + 200 * 12_000_000
    ) // M
    out = _costs(spans)
    assert out["cost_micros"].to_list() == [expected] == [5275]
    assert out["cost_source"].to_list() == ["price"]
    assert out["cost_usd"].to_list() == [pytest.approx(0.005275)]


def test_rounding_is_half_up_per_span_and_sums_are_exact() -> None:
    spans = _spans(input_tokens=[1, 1, 1], output_tokens=[0, 0, 0])  # 2.5 micro-dollars each
    out = _costs(spans)
    assert out["cost_micros"].to_list() == [3, 3, 3]
    assert out["cost_micros"].sum() == 9


def test_unknown_model_keeps_reported_cost_or_is_unpriced() -> None:
    spans = _spans(
        provider=["acme"] * 3,
        model=["secret-1"] * 3,
        input_tokens=[10, 10, None],
        output_tokens=[1, 1, None],
        reported_cost_usd=[0.5, None, None],
    )
    out = _costs(spans)
    assert out["cost_micros"].to_list() == [500_000, None, None]
    assert out["cost_source"].to_list() == ["reported", None, None]
    missing = unpriced(with_cost(spans, price_table([]))).collect()
    assert missing.rows() == [("acme", "secret-1", 1, 11)]  # reported: priced; no usage: free


def test_no_usage_means_no_cost_not_zero() -> None:
    assert _costs(_spans())["cost_micros"].to_list() == [None]


def test_rule_kinds_and_provider() -> None:
    rules = parse_price_rules(
        [
            {"model": "exact-one", "input": 1, "output": 2},
            {"prefix": "azure/gpt-4o", "input": 5, "output": 15},
            {"regex": "^acme-.*-v[0-9]+$", "input": 0.5, "output": 1.5, "provider": "acme"},
        ],
        "pyflare.yaml",
    )
    (band,) = resolve(None, "exact-one", rules).bands
    assert band.rates == BandRates.from_rates(complete_rates({"input": M, "output": 2 * M}))
    azure = resolve("azure", "azure/gpt-4o-2024-08-06", rules, genai=lambda *_: None)
    assert azure.bands[0].rates == BandRates.from_rates(
        complete_rates({"input": 5 * M, "output": 15 * M})
    )
    assert "prefix 'azure/gpt-4o'" in azure.reason
    assert resolve("acme", "acme-chat-v2", rules).priced
    assert not resolve("other", "acme-chat-v2", rules, genai=lambda *_: None).priced


def test_effective_dates_pick_the_price_in_force() -> None:
    rules = parse_price_rules(
        [
            {"model": "gpt-4o", "input": 2.5, "output": 10},
            {"model": "gpt-4o", "input": 1, "output": 4, "effective_from": "2026-11-10"},
        ],
        "pyflare.yaml",
    )
    before, after = T1, datetime(2026, 11, 15, tzinfo=UTC)
    spans = _spans(start_time=[before, after], input_tokens=[M, M], output_tokens=[0, 0])
    assert _costs(spans, rules)["cost_micros"].to_list() == [2_500_000, 1_000_000]


def test_genai_prices_and_routed_names() -> None:
    found = genai_schedule("openai", "gpt-4o")
    assert found is not None
    (band,), reason = found
    rates = band.rates
    assert rates is not None and rates.output > rates.input > rates.cache_read > 0
    assert "genai-prices" in reason
    routed = genai_schedule(None, "openrouter/meta-llama/llama-3.1-70b-instruct")
    assert routed is not None and "openrouter/meta-llama" in routed[1]
    assert genai_schedule(None, "no-such-model-xyz") is None


def test_dated_rules_without_an_undated_one_leave_earlier_calls_unpriced() -> None:
    rules = parse_price_rules(
        [{"model": "gpt-4o", "input": 1, "output": 4, "effective_from": "2026-11-10"}],
        "pyflare.yaml",
    )
    before, after = T1, datetime(2026, 11, 15, tzinfo=UTC)
    spans = _spans(start_time=[before, after], input_tokens=[M, M], output_tokens=[0, 0])
    out = _costs(spans, rules)
    assert out["cost_micros"].to_list() == [None, 1_000_000]
    assert out["cost_source"].to_list() == [None, "price"]


def test_litellm_file() -> None:
    data = {
        "sample_spec": {"input_cost_per_token": 0},
        "azure/gpt-4o": {
            "input_cost_per_token": 2.5e-06,
            "output_cost_per_token": 1e-05,
            "cache_read_input_token_cost": 1.25e-06,
        },
        "embedding-only": {"input_cost_per_token": 1e-07},
    }
    (rule,) = litellm_rules(data, "prices.json")
    assert rule.rates == Rates(2_500_000, 10_000_000, 1_250_000, 2_500_000, 10_000_000)
    assert rule.matches(None, "azure/gpt-4o") and not rule.matches(None, "gpt-4o")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("nope", "prices must be a list"),
        ([{"input": 1, "output": 1}], "exactly one of model, prefix or regex"),
        ([{"model": "m", "input": 1}], "needs input and output"),
        ([{"model": "m", "input": -1, "output": 1}], "prices[0].input"),
        ([{"regex": "(", "input": 1, "output": 1}], "does not compile"),
        ([{"model": "m", "input": 1, "output": 1, "effective_from": "soon"}], "not a date"),
        ([{"model": "m", "input": 1, "output": 1, "colour": "red"}], "prices[0].colour"),
    ],
)
def test_rule_validation(section: object, message: str) -> None:
    with pytest.raises(UsageError, match=None) as caught:
        parse_price_rules(section, "pyflare.yaml")
    assert message in str(caught.value) and "pyflare.yaml" in str(caught.value)


def test_dates_are_plain_dates() -> None:
    (rule,) = parse_price_rules(
        [{"model": "m", "input": 1, "output": 1, "effective_from": date(2026, 1, 2)}], "f"
    )
    assert rule.effective_from == date(2026, 1, 2)
