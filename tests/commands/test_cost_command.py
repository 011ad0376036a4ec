"""``pyflare cost``: reports, prices, top, budgets and the gate's exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from cli_support import FIXTURES, invoke


def _json(*args: str) -> object:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_report_totals_are_exact_and_grouped(demo_store: Path) -> None:
    store = ("--store", str(demo_store))
    total = _json("cost", *store, "--since", "7d", "--format", "json")
    by_model = _json("cost", "--by", "model", *store, "--since", "7d", "--format", "json")
    assert isinstance(total, dict) and isinstance(by_model, dict)
    assert total["total_micros"] > 0
    micros = round(sum(row["cost_usd"] for row in by_model["rows"]) * 1e6)
    assert abs(micros - total["total_micros"]) <= len(by_model["rows"])
    assert total["price_data"].startswith("genai-prices ")
    shares = [row["share"] for row in by_model["rows"]]
    assert abs(sum(shares) - 1) < 1e-9 and shares == sorted(shares, reverse=True)
    models = {row["model"] for row in by_model["rows"]}
    assert "gpt-4o-mini" in models and "openrouter/meta-llama/llama-3.1-70b-instruct" in models


def test_report_by_user_and_every_day(demo_store: Path) -> None:
    store = ("--store", str(demo_store))
    by_user = _json("cost", "--by", "user", *store, "--format", "json")
    assert isinstance(by_user, dict)
    users = [row["user"] for row in by_user["rows"]]
    assert "user-0042" in users[:3]  # the demo's cost spike
    daily = invoke("cost", "--every", "day", *store, "--format", "csv")
    assert daily.exit_code == 0 and daily.stdout.splitlines()[0].startswith("period,")


def test_report_errors(demo_store: Path) -> None:
    assert "--by 'colour'" in invoke("cost", "--by", "colour", "--store", str(demo_store)).stderr
    assert invoke("cost", "--every", "month", "--store", str(demo_store)).exit_code == 2


def test_top_traces_and_spans(demo_store: Path) -> None:
    traces = _json("cost", "top", "-n", "3", "--store", str(demo_store), "--format", "json")
    assert isinstance(traces, list) and len(traces) == 3
    costs = [row["cost_usd"] for row in traces]
    assert costs == sorted(costs, reverse=True) and costs[0] > 0
    spans = _json(
        "cost", "top", "--spans", "-n", "2", "--store", str(demo_store), "--format", "json"
    )
    assert isinstance(spans, list) and {"span_id", "model", "cost_source"} <= set(spans[0])


def test_prices_of_a_model_and_missing(demo_store: Path, tmp_path: Path) -> None:
    (row,) = _json("cost", "prices", "gpt-4o", "--provider", "openai", "--format", "json")  # type: ignore[misc]
    assert row["input_per_m"] > 0 and row["resolved_by"].startswith("genai-prices")
    unknown = _json("cost", "prices", "acme-1", "--format", "json")
    assert isinstance(unknown, list) and unknown[0]["resolved_by"].startswith("no price")
    missing = invoke("cost", "prices", "--missing", "--store", str(demo_store))
    assert missing.exit_code == 0


def test_check_exit_codes(demo_store: Path) -> None:
    store = ("--store", str(demo_store))
    ok = invoke("cost", "check", "--max-total", "1000000", *store)
    assert ok.exit_code == 0 and ok.stdout.startswith("ok:")
    over = invoke("cost", "check", "--max-total", "0.01", "--max-per-request", "0.000001", *store)
    assert over.exit_code == 1
    assert "FAIL max_total" in over.stdout and "(limit $0.01) over by" in over.stdout
    assert "FAIL max_per_request" in over.stdout
    assert invoke("cost", "check", *store).exit_code == 2


def test_budgets_and_budget_gate(demo_store: Path, tmp_path: Path) -> None:
    config = FIXTURES / "pyflare.yaml"
    store = ("--store", str(demo_store), "--config", str(config))
    rows = _json("cost", "budget", *store, "--format", "json")
    assert isinstance(rows, list) and [r["name"] for r in rows] == ["daily-total", "gpt-4o-weekly"]
    assert {r["status"] for r in rows} == {"ok"}
    tight = tmp_path / "tight.yaml"
    tight.write_text("budgets:\n  - name: tiny\n    period: month\n    limit_usd: 0.01\n")
    gate = invoke(
        "cost", "check", "--budget", "tiny", "--store", str(demo_store), "--config", str(tight)
    )
    assert gate.exit_code == 1 and "tiny: spent" in gate.stdout
    unknown = invoke("cost", "check", "--budget", "nope", *store)
    assert unknown.exit_code == 2 and "'nope' is not in the config" in unknown.stderr


def test_price_override_from_config(demo_store: Path, tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("prices:\n  - model: gpt-4o-mini\n    input: 1000\n    output: 1000\n")
    store = ("--store", str(demo_store))
    base = _json("cost", "--by", "model", *store, "--format", "json")
    over = _json("cost", "--by", "model", *store, "--config", str(config), "--format", "json")
    assert isinstance(base, dict) and isinstance(over, dict)

    def mini(report: dict[str, object]) -> float:
        rows = pl.DataFrame(report["rows"])
        return float(rows.filter(pl.col("model") == "gpt-4o-mini")["cost_usd"][0])

    assert mini(over) > 100 * mini(base)
    assert "p.yaml (1 rule(s))" in over["price_data"]


def test_forecast_days_backtest_and_short_history(demo_store: Path, tmp_path: Path) -> None:
    store = ("--store", str(demo_store))
    payload = _json("cost", "forecast", "--days", "5", *store, "--format", "json")
    assert isinstance(payload, dict)
    rows = payload["daily"]
    assert isinstance(rows, list) and len(rows) == 5
    total = payload["total"]
    assert payload["horizon_days"] == 5 and payload["level"] == 0.8
    assert 0 <= total["lower_usd"] <= total["forecast_usd"] <= total["upper_usd"]
    daily_sum = sum(r["forecast_usd"] for r in rows)
    assert abs(total["forecast_usd"] - daily_sum) < 1e-6 * max(1.0, daily_sum)
    markdown = invoke("cost", "forecast", "--days", "5", *store, "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    head = markdown.stdout.splitlines()[0]
    assert head.startswith("**Forecast, next 5 days: $") and " at 80%)" in head
    assert "| day" in markdown.stdout or "| date" in markdown.stdout
    assert "nan" not in markdown.stdout and "e-0" not in markdown.stdout
    grouped = _json("cost", "forecast", "--days", "5", "--by", "model", *store, "--format", "json")
    assert isinstance(grouped, dict) and grouped["total"] is None and grouped["daily"]
    assert all(r["lower_usd"] <= r["forecast_usd"] <= r["upper_usd"] for r in rows)
    assert all(r["lower_usd"] >= 0 for r in rows)
    table = invoke("cost", "forecast", "--days", "3", *store)
    assert table.exit_code == 0 and "next 3 days:" in table.stdout
    scored = invoke("cost", "forecast", "--backtest", "2", *store)
    assert scored.exit_code == 0 and "inside the 80% interval" in scored.stdout
    short = invoke("cost", "forecast", "--since", "3d", *store)
    assert short.exit_code == 2
    assert "a forecast needs at least 7 days: widen --since" in short.stderr
    assert invoke("cost", "forecast", "--by", "colour", *store).exit_code == 2
