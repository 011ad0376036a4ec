"""pyflare's vectorised prices against genai-prices' own ``calc_price``, span by span.

Spans over 24 models, tiered ones (claude-sonnet-4-5, gemini-2.5-pro) on both sides of
their 200k tier, cached and reasoning tokens, prices that changed on a date
(claude-opus-4-6, deepseek-v4-flash, mistral-large-4) and off-peak windows (deepseek-chat)
are written to a real store; ``pyflare cost --format json`` must equal, to the
micro-dollar, the sum of ``calc_price`` called once per span in this test.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from genai_prices import Usage, calc_price
from typer.testing import CliRunner

from pyflare_cli.analysis.cost.pricing import model_pairs, price_table, resolve, with_cost
from pyflare_cli.main import app
from tests.conftest import canonical_spans, commit_spans

MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o3-mini"),
    ("openai", "o1"),
    ("openai", "gpt-4.1"),
    ("openai", "gpt-4.1-mini"),
    ("openai", "text-embedding-3-small"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-6"),
    ("anthropic", "claude-3-5-haiku-latest"),
    ("anthropic", "claude-sonnet-4-20250514"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.5-flash"),
    ("google", "gemini-3-pro-preview"),
    ("deepseek", "deepseek-chat"),
    ("deepseek", "deepseek-reasoner"),
    ("deepseek", "deepseek-v4-flash"),
    ("mistral", "mistral-large-4"),
    ("mistral", "ministral-8b-latest"),
    ("groq", "llama-3.3-70b-versatile"),
    (None, "openrouter/meta-llama/llama-3.1-70b-instruct"),
    ("x-ai", "grok-3"),
    (None, "claude-sonnet-4-5"),
    (None, "gpt-4o-2024-08-06"),
]
FIRST = datetime(2025, 9, 1, tzinfo=UTC)
LAST = datetime(2026, 12, 1, tzinfo=UTC)


def _spans(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    seconds = int((LAST - FIRST).total_seconds())
    for i in range(count):
        provider, model = MODELS[i % len(MODELS)]
        size = rng.choice([0, 40, 1_000, 12_000, 150_000, 200_000, 200_001, 320_000])
        cache_read = rng.choice([0, 0, size // 3, size // 2])
        cache_write = rng.choice([0, 0, (size - cache_read) // 4])
        output = rng.choice([0, 17, 200, 3_000, 40_000])
        reasoning = rng.choice([0, 0, output // 2, output])
        rows.append(
            {
                "span_id": f"s{seed}-{i}",
                "start_time": FIRST + timedelta(seconds=rng.randrange(seconds)),
                "provider": provider,
                "model": model,
                "ai_kind": "llm",
                "input_tokens": size,
                "output_tokens": output,
                "cache_read_tokens": cache_read,
                "cache_write_tokens": cache_write,
                "reasoning_tokens": reasoning,
            }
        )
    return rows


def _expected_pico(row: dict[str, Any]) -> Decimal:
    """calc_price of one span (USD), in pico-dollars, as genai-prices itself says."""
    usage = Usage(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        output_reasoning_tokens=row["reasoning_tokens"],
    )
    attempts = [(row["model"], row["provider"]), (row["model"], None)]
    if "/" in row["model"]:
        head, tail = row["model"].split("/", 1)
        attempts.append((tail, head))
    for model, provider in attempts:
        try:
            price = calc_price(
                usage, model, provider_id=provider, genai_request_timestamp=row["start_time"]
            )
        except LookupError:
            continue
        return Decimal(price.total_price) * 10**12
    raise AssertionError(f"genai-prices does not know {row['model']}")


def _micros(pico: Decimal) -> int:
    return int((pico / 10**6).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_span_costs_equal_calc_price_per_span() -> None:
    rows = _spans(1, 600)
    frame = canonical_spans(rows).lazy()
    pairs = [(p, m) for p, m in model_pairs(frame).collect().iter_rows()]
    table = price_table([resolve(p, m) for p, m in pairs])
    got = with_cost(frame, table).select("span_id", "cost_pico", "cost_source").collect()
    assert got.height == len(rows)  # one band per span: none lost, none doubled
    assert got.get_column("cost_source").to_list() == ["price"] * len(rows)
    for row, (span_id, pico, _) in zip(rows, got.iter_rows(), strict=True):
        assert span_id == row["span_id"]
        expected = _expected_pico(row)
        assert abs(Decimal(pico) - expected) <= 1, (row, pico, expected)


@pytest.mark.parametrize(
    ("tokens", "usd"),
    [((1_000, 200), Decimal("0.006")), ((300_000, 200), Decimal("1.8045"))],
)
def test_claude_sonnet_4_5_is_priced_per_call_tier(tokens: tuple[int, int], usd: Decimal) -> None:
    row = {
        "span_id": "a",
        "start_time": datetime(2026, 6, 1, tzinfo=UTC),
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "input_tokens": tokens[0],
        "output_tokens": tokens[1],
    }
    frame = canonical_spans([row]).lazy()
    table = price_table([resolve("anthropic", "claude-sonnet-4-5")])
    pico = with_cost(frame, table).collect().item(0, "cost_pico")
    assert Decimal(pico) / 10**12 == usd


def test_cost_json_equals_calc_price_to_the_micro_dollar(tmp_path: Path) -> None:
    rows = _spans(2, 1_500)
    store = tmp_path / "store"
    commit_spans(store, canonical_spans(rows), "genai-check")
    expected = _micros(sum((_expected_pico(r) for r in rows), Decimal(0)))
    result = CliRunner().invoke(
        app,
        [
            "cost",
            "--store",
            str(store),
            "--since",
            "2025-08-01",
            "--until",
            "2026-12-02",
            "--by",
            "model",
            "--format",
            "json",
        ],
        env={"PYFLARE_NOW": "2026-12-05T00:00:00+00:00"},
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total_micros"] == expected
    per_model = pl.DataFrame(data["rows"]).select("model", "requests")
    assert per_model.get_column("requests").sum() == len(rows)
