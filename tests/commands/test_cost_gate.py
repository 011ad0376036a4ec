"""The cost gate fails closed, speaks JSON/Markdown to CI, and counts only real calls."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from cli_support import invoke

from tests.conftest import canonical_spans, commit_spans


@pytest.mark.parametrize(
    "args",
    [
        ("cost",),
        ("cost", "check", "--max-total", "5"),
        ("cost", "top"),
        ("traces",),
        ("query", "SELECT 1"),
        ("rca",),
        ("tui",),
    ],
)
def test_a_store_that_does_not_exist_is_exit_2(args: tuple[str, ...], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-store"
    result = invoke(*args, "--store", str(missing))
    assert result.exit_code == 2, result.output
    assert f"store {missing} does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_empty_window_impossible_limits_and_allow_empty(demo_store: Path) -> None:
    store = ("--store", str(demo_store))
    old = ("--since", "2020-01-01", "--until", "2020-01-02")
    empty = invoke("cost", "check", "--max-total", "5", *old, *store)
    assert empty.exit_code == 2 and "no spans between 2020-01-01 00:00" in empty.stderr
    allowed = invoke(
        "cost", "check", "--max-total", "5", *old, "--allow-empty", "-f", "json", *store
    )
    assert allowed.exit_code == 0
    assert json.loads(allowed.stdout)["warnings"][0].startswith("no spans")
    for limit in ("--max-total", "--max-per-request"):
        assert invoke("cost", "check", limit, "-1", *store).exit_code == 2
        assert invoke("cost", "check", limit, "inf", *store).exit_code == 2


def test_verdict_json_and_markdown(demo_store: Path) -> None:
    store = ("--store", str(demo_store), "--since", "10d")
    limits = ("--max-total", "0.01", "--max-per-request", "1000")
    fail = invoke("cost", "check", *limits, "-f", "json", *store)
    assert fail.exit_code == 1
    data = json.loads(fail.stdout)
    assert data["verdict"] == "fail" and data["gate"] == "cost check"
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["max_total"]["passed"] is False and by_name["max_total"]["limit"] == 0.01
    assert by_name["max_total"]["offending"][0]["model"]
    assert by_name["max_per_request"]["passed"] is True
    ok = invoke("cost", "check", "--max-total", "1000000", "-f", "json", *store)
    assert ok.exit_code == 0 and json.loads(ok.stdout)["verdict"] == "pass"
    limits = ("--max-total", "0.01", "--max-per-request", "0.0001")
    md = invoke("cost", "check", *limits, "-f", "markdown", *store)
    assert md.exit_code == 1
    assert md.stdout.startswith("**FAIL** `cost check`")
    assert "| max_total | $0.01 |" in md.stdout
    assert not re.search(r"\de-\d|nan|inf\b", md.stdout)


def _unpriced_store(root: Path) -> None:
    at = datetime(2026, 11, 20, 10, tzinfo=UTC)
    rows = [
        {"span_id": "p1", "start_time": at, "ai_kind": "llm", "provider": "openai",
         "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 100},
        {"span_id": "u1", "start_time": at, "ai_kind": "llm", "provider": "acme",
         "model": "acme-secret-1", "input_tokens": 5000, "output_tokens": 500},
        {"span_id": "c1", "start_time": at, "ai_kind": "llm", "provider": "openai",
         "model": "gpt-4o", "input_tokens": 10, "output_tokens": 1, "cache_read_tokens": 50},
        {"span_id": "a1", "start_time": at, "ai_kind": "agent", "model": "gpt-4o"},
        {"span_id": "f1", "start_time": at, "ai_kind": "llm", "model": "gpt-4o",
         "status_code": "error"},
    ]  # fmt: skip
    commit_spans(root, canonical_spans(rows), "unpriced")


def test_unpriced_and_cache_excess_are_said_and_can_fail(tmp_path: Path) -> None:
    _unpriced_store(tmp_path)
    store = ("--store", str(tmp_path), "--since", "24h")
    warned = invoke("cost", "check", "--max-total", "100", *store)
    assert warned.exit_code == 0
    assert "1 span(s) report tokens but have no price" in warned.stdout
    assert "estimate" in warned.stdout
    assert "more cache read + write tokens than input tokens (e.g. span c1)" in warned.stdout
    strict = invoke("cost", "check", "--max-total", "100", "--fail-on-unpriced", *store)
    assert strict.exit_code == 1 and "FAIL unpriced" in strict.stdout
    rows = json.loads(invoke("cost", "--by", "model", "-f", "json", *store).stdout)["rows"]
    gpt = next(r for r in rows if r["model"] == "gpt-4o")
    assert (gpt["requests"], gpt["failed"]) == (3, 1)  # the agent span is not a request


def test_requests_are_llm_and_embedding_calls_and_tools_are_attributed(demo_store: Path) -> None:
    store = ("--store", str(demo_store), "--since", "2000-01-01", "--until", "2100-01-01")
    rows = json.loads(invoke("cost", "--by", "model", "-f", "json", *store).stdout)["rows"]
    spans = pl.read_parquet(demo_store / "spans" / "**" / "*.parquet")
    calls = spans.filter(pl.col("ai_kind").is_in(["llm", "embedding"])).height
    assert sum(r["requests"] for r in rows) == calls
    tools = json.loads(invoke("cost", "--by", "tool", "-f", "json", *store).stdout)["rows"]
    named = [r for r in tools if r["tool"]]
    assert named and all(r["cost_usd"] >= 0 for r in named)
    again = json.loads(invoke("cost", "--by", "tool", "-f", "json", *store).stdout)["rows"]
    assert [r["tool"] for r in again] == [r["tool"] for r in tools]


def test_where_selects_the_same_spans_in_cost_budgets_and_alert_rules(
    demo_store: Path, tmp_path: Path
) -> None:
    # One meaning of --where: the matching spans themselves (docs/search.md). Before, cost
    # --where kept every span of a matching trace (other models' calls in the same trace).
    store = tmp_path / "store"
    shutil.copytree(demo_store, store)  # alert check writes its state under the store
    where = "model:gpt-4o-mini"
    # The demo writes spans up to an hour past its now (12:00): look from two hours later.
    later = {"PYFLARE_NOW": "2026-11-20T14:00:00+00:00"}
    since = ("--since", "2026-11-01T00:00:00+00:00")
    report = invoke("cost", "--by", "model", "--where", where, *since, "--store", str(store),
                    "-f", "json", env=later)  # fmt: skip
    assert report.exit_code == 0, report.output
    payload = json.loads(report.stdout)
    assert [r["model"] for r in payload["rows"]] == ["gpt-4o-mini"]
    spent = payload["total_micros"] / 1e6
    assert spent > 0
    gate = invoke("cost", "check", "--max-total", "1000", "--where", where, *since,
                  "--store", str(store), "-f", "json", env=later)  # fmt: skip
    assert json.loads(gate.stdout)["total_usd"] == pytest.approx(spent, abs=1e-6)
    config = tmp_path / "pyflare.yaml"
    config.write_text(
        "budgets:\n  - {name: mini, period: month, limit_usd: 1000, where: 'model:gpt-4o-mini'}\n"
    )
    budget = invoke("cost", "budget", "--store", str(store), "--config", str(config),
                    "-f", "json", env=later)  # fmt: skip
    (row,) = json.loads(budget.stdout)
    assert row["spent_usd"] == pytest.approx(spent, abs=1e-6)
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        "groups:\n  - name: cost\n    rules:\n      - alert: MiniSpend\n"
        "        threshold: {aggregate: sum, field: cost, where: 'model:gpt-4o-mini',"
        " op: '>', value: 0}\n        window: 470h\n"
    )  # 470 h: from 2026-11-01 to now, 2026-11-20T14:00
    alert = invoke("alert", "check", "--rules", str(rules), "--store", str(store),
                   "--config", str(config), "-f", "json", env=later)  # fmt: skip
    (fired,) = json.loads(alert.stdout)["alerts"]
    assert fired["value"] == pytest.approx(spent, abs=1e-6)
    # A trace-level filter says so: every call of a trace with an error, of every model.
    traced = invoke("cost", "--by", "model", "--where", "trace.errors:>0", *since,
                    "--store", str(store), "-f", "json", env=later)  # fmt: skip
    assert len(json.loads(traced.stdout)["rows"]) > 1
