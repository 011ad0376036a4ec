"""`pyflare eval health`: the table, the gate and its exit codes, on a store of real
Parquet parts holding two windows of calls of two models (one got slow and failing)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from cli_support import invoke

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DRIFT_FEATURE_NAMES = (
    "input_tokens", "prompt_chars", "provider", "output_tokens", "completion_chars",
    "finish_reason", "tool_name", "total_tokens", "duration_ms", "cost_usd", "status",
)  # fmt: skip


@pytest.fixture
def store(
    tmp_path: Path,
    make_spans: Callable[..., pl.DataFrame],
    add_source: Callable[[Path, pl.DataFrame, str], list[Path]],
) -> Path:
    rows = []
    for hours_ago, slow in ((30, 1), (6, 3)):  # the previous day, then today
        for model, service in (("steady", "api"), ("shaky", "batch")):
            for i in range(40):
                bad = model == "shaky" and hours_ago == 6
                rows.append(
                    {
                        "span_id": f"{model}-{hours_ago}-{i}",
                        "start_time": NOW - timedelta(hours=hours_ago, seconds=i),
                        "ms": 100 * (slow if bad else 1) + i,
                        "model": model,
                        "ai_kind": "llm",
                        "service_name": service,
                        "status_code": "error" if bad and i % 4 == 0 else "ok",
                        "input_tokens": 10 + i,
                        "output_tokens": 5,
                    }
                )
    root = tmp_path / "store"
    add_source(root, make_spans(*rows), "health")
    return root


def test_health_per_model_shows_its_parts(store: Path) -> None:
    result = invoke("eval", "health", "--since", "24h", "--store", str(store), "-f", "json")
    assert result.exit_code == 0, result.output
    rows = {row["model"]: row for row in json.loads(result.stdout)}
    assert rows["steady"]["status"] == "healthy" and rows["steady"]["latency"] == 1.0
    shaky = rows["shaky"]
    assert shaky["errors"] == 0.0 and shaky["latency"] == 0.0  # 25% errors, 3x slower
    assert shaky["tested_features"] > 0  # drift ran over the same two windows
    assert shaky["health"] < rows["steady"]["health"]
    table = invoke("eval", "health", "--since", "24h", "--store", str(store))
    assert table.exit_code == 0 and "unhealthy" in table.stdout


def test_health_per_service_and_the_gate(store: Path) -> None:
    base = ("eval", "health", "--since", "24h", "--store", str(store), "--by", "service")
    result = invoke(*base, "-f", "csv")
    assert result.exit_code == 0, result.output
    services = pl.read_csv(result.stdout.encode())
    assert set(services.get_column("service")) == {"api", "batch"}
    assert services.get_column("drift").is_null().all()  # drift is per model
    gate = invoke(*base, "--fail-below", "0.8")
    assert gate.exit_code == 1
    assert (
        "FAIL service=batch" in gate.stdout and "service=api" not in gate.stdout.split("FAIL")[-1]
    )
    assert invoke(*base, "--fail-below", "0.0").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [("--by", "region"), ("--since", "5m"), ("--fail-below", "2"), ("--store", "/no/such")],
)
def test_health_usage_errors_exit_2(store: Path, args: tuple[str, ...]) -> None:
    result = invoke("eval", "health", "--store", str(store), *args)
    assert result.exit_code == 2, result.output


def test_drift_of_a_row_is_pyflare_drift_of_that_model(
    tmp_path: Path,
    make_spans: Callable[..., pl.DataFrame],
    add_source: Callable[[Path, pl.DataFrame, str], list[Path]],
) -> None:
    """Calls that asked for gpt-4o and were answered by gpt-4o-2024-08-06: the health row
    (named by the answering model) has the drift verdict of `pyflare drift --model` of
    that name over the same windows (before, drift was keyed by the request name only and
    the row had none)."""
    rows = []
    for hours_ago, longer in ((30, 1), (6, 4)):
        for i in range(60):
            rows.append(
                {
                    "span_id": f"c-{hours_ago}-{i}",
                    "start_time": NOW - timedelta(hours=hours_ago, seconds=i),
                    "ms": 200 + i,
                    "model": "gpt-4o-2024-08-06",
                    "request_model": "gpt-4o",
                    "ai_kind": "llm",
                    "input_tokens": (100 + i) * longer,
                    "output_tokens": 20 + i % 7,
                }
            )
    root = tmp_path / "store"
    add_source(root, make_spans(*rows), "snapshot")
    health = invoke("eval", "health", "--since", "24h", "--store", str(root), "-f", "json")
    assert health.exit_code == 0, health.output
    row = {r["model"]: r for r in json.loads(health.stdout)}["gpt-4o-2024-08-06"]
    assert row["tested_features"] > 0 and row["drifted_features"] > 0
    features = [f for name in DRIFT_FEATURE_NAMES for f in ("--feature", name)]
    day_before = (NOW - timedelta(hours=48), NOW - timedelta(hours=24))
    reference = "..".join(moment.isoformat() for moment in day_before)
    drift = invoke(
        "drift", "--model", "gpt-4o-2024-08-06", "--since", "24h", "--reference", reference,
        "--only", *features, "--store", str(root), "--format", "json",
    )  # fmt: skip
    assert drift.exit_code in (0, 1), drift.output
    (model,) = json.loads(drift.stdout)["models"]
    assert (row["drifted_features"], row["tested_features"]) == (
        model["drifted_features"],
        model["tested_features"],
    )
