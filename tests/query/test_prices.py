"""Prices as every reader applies them: pyflare.yaml then a LiteLLM file, and the answer cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.config.file import Config, load_config
from pyflare_cli.errors import UsageError
from pyflare_cli.query.prices import PRICE_CACHE, price_rules, priced, prices_version

NOW = datetime(2025, 11, 21, tzinfo=UTC)


def _llm_spans(model: str = "gpt-4o") -> pl.LazyFrame:
    return pl.DataFrame(
        {
            "provider": ["openai"],
            "model": [model],
            "input_tokens": [1_000_000],
            "output_tokens": [0],
            "cache_read_tokens": [None],
            "cache_write_tokens": [None],
            "reasoning_tokens": [None],
            "reported_cost_usd": [None],
            "start_time": [NOW],
        },
        schema_overrides={
            "cache_read_tokens": pl.Int64,
            "cache_write_tokens": pl.Int64,
            "reasoning_tokens": pl.Int64,
            "reported_cost_usd": pl.Float64,
            "start_time": pl.Datetime("ns", "UTC"),
        },
    ).lazy()


def test_prices_are_cached_under_the_store(tmp_path: Path) -> None:
    first = priced(_llm_spans(), tmp_path).collect().item(0, "cost_usd")
    assert first == pytest.approx(2.5)
    cache_file = tmp_path / PRICE_CACHE
    data = json.loads(cache_file.read_text())
    assert data["rates"][0][:2] == ["openai", "gpt-4o"]
    # the first band's rates (atto-dollars per token): $9 per million input tokens
    data["rates"][0][2][0][0][0] = [9 * 10**12, 10 * 10**12, 10**12, 10**12, 10**13, 0]
    cache_file.write_text(json.dumps(data))
    assert priced(_llm_spans(), tmp_path).collect().item(0, "cost_usd") == pytest.approx(9.0)
    data["version"] = "0.0.0-other"
    cache_file.write_text(json.dumps(data))
    assert priced(_llm_spans(), tmp_path).collect().item(0, "cost_usd") == pytest.approx(2.5)


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / PRICE_CACHE).parent.mkdir(parents=True)
    (tmp_path / PRICE_CACHE).write_text("{not json")
    assert priced(_llm_spans(), tmp_path).collect().item(0, "cost_usd") == pytest.approx(2.5)


def test_rules_of_the_config_then_of_a_litellm_file(tmp_path: Path) -> None:
    config = tmp_path / "pyflare.yaml"
    config.write_text("prices:\n  - model: house-model\n    input: 4\n    output: 8\n")
    litellm = tmp_path / "litellm.json"
    litellm.write_text(
        json.dumps({"house-model": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}})
    )
    rules, version = price_rules(load_config(config), litellm)
    assert [r.source for r in rules] == ["pyflare.yaml", f"LiteLLM {litellm}"]
    assert version == (
        f"genai-prices {prices_version()} + {config} (1 rule(s)) + litellm.json (1 model(s))"
    )
    # the config's rule comes first, so it wins
    cost = priced(_llm_spans("house-model"), None, rules).collect().item(0, "cost_usd")
    assert cost == pytest.approx(4.0)


def test_no_rules_without_config_or_file() -> None:
    rules, version = price_rules(Config())
    assert rules == () and version == f"genai-prices {prices_version()}"


def test_an_unreadable_litellm_file_names_the_option(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match=r"--prices .*bad\.json: cannot read it as JSON"):
        price_rules(Config(), bad)


def test_drift_and_alert_drift_checks_price_with_the_config_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import pyflare_cli.query.spans as spans_module
    from pyflare_cli.main import app

    used: list[tuple[PriceRule, ...]] = []
    real = spans_module.priced

    def recording(
        spans: pl.LazyFrame, root: Path | None = None, rules: tuple[PriceRule, ...] = ()
    ) -> pl.LazyFrame:
        used.append(rules)
        return real(spans, root, rules)

    monkeypatch.setattr(spans_module, "priced", recording)
    config = tmp_path / "pyflare.yaml"
    config.write_text("prices:\n  - model: gpt-4o-mini\n    input: 4\n    output: 8\n")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: Drift\n"
        "        drift: {model: gpt-4o-mini}\n"
    )
    common = ["--store", str(tmp_path), "--config", str(config)]
    env = {"PYFLARE_NOW": "2026-11-20T12:00:00+00:00"}
    for args in (
        ["drift", "--model", "gpt-4o-mini"],
        ["alert", "check", "--rules", str(alerts), "--no-notify"],
    ):
        used.clear()
        CliRunner().invoke(app, [*args, *common], env=env)
        assert len(used) == 2 and all(  # the reference and the current window
            [r.pattern for r in rules] == ["gpt-4o-mini"] for rules in used
        ), (args, used)
