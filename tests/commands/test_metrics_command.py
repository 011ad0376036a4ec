"""``pyflare metrics``: the exposition parsed with prometheus_client's own parser and checked
against DuckDB and ``pyflare cost`` on the same store; the textfile; a real /metrics server
on 127.0.0.1 that refreshes when the store grows; errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
import polars as pl
import pytest
from cli_support import NOW, ROOT, invoke
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

MODEL_CALL = "(model IS NOT NULL)"


def _samples(text: str) -> dict[str, list[Sample]]:
    found: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        found.setdefault(family.name, []).extend(family.samples)
    return found


def _metrics(store: Path, *args: str) -> dict[str, list[Sample]]:
    result = invoke("metrics", "--store", str(store), *args)
    assert result.exit_code == 0, result.output
    return _samples(result.stdout)


def _duck(store: Path, sql: str) -> list[tuple[object, ...]]:
    files = str(store / "spans" / "*" / "*.parquet")
    con = duckdb.connect()
    con.execute(f"CREATE VIEW spans AS SELECT * FROM read_parquet('{files}')")
    return con.execute(sql).fetchall()


def test_calls_errors_and_tokens_match_duckdb(demo_store: Path) -> None:
    found = _metrics(demo_store)
    calls = {s.labels["model"]: 0.0 for s in found["pyflare_llm_calls"]}
    for sample in found["pyflare_llm_calls"]:
        calls[sample.labels["model"]] += sample.value
    expected = _duck(
        demo_store,
        f"SELECT model, count(*), count(*) FILTER (status_code = 'error'), "
        f"coalesce(sum(input_tokens), 0) FROM spans WHERE {MODEL_CALL} GROUP BY model",
    )
    assert calls == {m: float(n) for m, n, _, _ in expected}
    errors = sum(s.value for s in found["pyflare_llm_errors"])
    assert errors == sum(e for _, _, e, _ in expected)
    tokens_in = sum(
        s.value for s in found["pyflare_llm_tokens"] if s.labels["direction"] == "input"
    )
    assert tokens_in == sum(t for *_, t in expected)
    traces = sum(s.value for s in found["pyflare_traces"])
    ((n_traces,),) = _duck(demo_store, "SELECT count(DISTINCT trace_id) FROM spans")
    assert traces == n_traces


def test_cost_matches_pyflare_cost(demo_store: Path) -> None:
    found = _metrics(demo_store)
    cost = invoke(
        "cost", "--store", str(demo_store), "--since", "2020-01-01", "--until", "2030-01-01",
        "-f", "json",
    )  # fmt: skip
    total = json.loads(cost.stdout)["total_usd"]
    assert sum(s.value for s in found["pyflare_llm_cost_usd"]) == pytest.approx(total, abs=1e-5)
    users = sum(s.value for s in found["pyflare_user_cost_usd"])
    assert 0 < users <= total + 1e-6


def test_latency_histogram_is_cumulative_and_exact(demo_store: Path) -> None:
    found = _metrics(demo_store)
    buckets = [s for s in found["pyflare_llm_latency_seconds"] if s.name.endswith("_bucket")]
    model = "gpt-4o-mini"
    mine = [s for s in buckets if s.labels["model"] == model]
    values = [s.value for s in mine]
    assert values == sorted(values) and mine[-1].labels["le"] == "+Inf"
    for sample in mine[:-1]:
        bound_ns = float(sample.labels["le"]) * 1e9
        ((n,),) = _duck(
            demo_store,
            f"SELECT count(*) FROM spans WHERE model = '{model}' AND duration_ns <= {bound_ns}",
        )
        assert sample.value == n
    count = next(
        s.value
        for s in found["pyflare_llm_latency_seconds"]
        if s.name.endswith("_count") and s.labels["model"] == model
    )
    assert count == mine[-1].value


def test_user_buckets_bound_the_series(demo_store: Path) -> None:
    found = _metrics(demo_store, "--top-users", "3")
    buckets = {s.labels["user_bucket"] for s in found["pyflare_user_cost_usd"]}
    assert len(buckets) == 4 and "other" in buckets


def test_budgets_and_openmetrics(demo_store: Path, tmp_path: Path) -> None:
    config = tmp_path / "pyflare.yaml"
    config.write_text("budgets:\n  - name: daily\n    period: day\n    limit_usd: 1\n")
    result = invoke("metrics", "--store", str(demo_store), "--config", str(config), "--openmetrics")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("# EOF")
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om

    names = {family.name for family in om(result.stdout)}
    assert {"pyflare_budget_spent_usd", "pyflare_budget_used_ratio"} <= names


def test_textfile_is_written_whole(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "pyflare.prom"
    result = invoke("metrics", "--store", str(demo_store), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "pyflare_llm_calls" in _samples(out.read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["pyflare.prom"]


@pytest.mark.parametrize(
    "args",
    [
        ["--out", "missing/folder/x.prom"],
        ["--serve", "localhost"],
        ["--serve", "127.0.0.1:99999"],
        ["--out", "x.prom", "--serve", "127.0.0.1:9464"],
    ],
)
def test_usage_errors(demo_store: Path, tmp_path: Path, args: list[str]) -> None:
    args = [str(tmp_path / a) if a.endswith(".prom") else a for a in args]
    result = invoke("metrics", "--store", str(demo_store), *args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_store_is_exit_2(tmp_path: Path) -> None:
    assert invoke("metrics", "--store", str(tmp_path / "none")).exit_code == 2


def test_served_metrics_refresh_when_the_store_grows(
    tmp_path: Path,
    make_spans: Callable[..., pl.DataFrame],
    add_source: Callable[[Path, pl.DataFrame, str], list[Path]],
) -> None:
    root = tmp_path / "store"
    at = datetime(2026, 11, 20, 9, tzinfo=UTC)

    def calls(source: str, n: int) -> None:
        rows = [
            {"span_id": f"{source}{i}", "start_time": at, "model": "m1", "ai_kind": "llm"}
            for i in range(n)
        ]
        add_source(root, make_spans(*rows), source)

    calls("a", 3)
    env = {**os.environ, "PYFLARE_NOW": NOW, "PYTHONPATH": str(ROOT / "sdk" / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "pyflare_cli", "metrics", "--store", str(root),
         "--serve", "127.0.0.1:0", "--interval", "1"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "serving http://127.0.0.1:" in line, line
        url = line.split()[-1]

        def model_calls() -> float:
            text = httpx.get(url, timeout=10).text
            return sum(s.value for s in _samples(text)["pyflare_llm_calls"])

        assert model_calls() == 3
        calls("b", 2)
        deadline = time.monotonic() + 60
        while model_calls() != 5:
            assert time.monotonic() < deadline, "the served figures never refreshed"
            time.sleep(0.2)
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
