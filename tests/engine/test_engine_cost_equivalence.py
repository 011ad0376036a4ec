"""``cost`` gives the same answer on every engine: Polars (the reference), DuckDB, chdb over
the store's Parquet, chdb over a Collector-style ``otel_traces`` table, and Spark Connect.

Each case runs the real command (``--format json``) on a 20k-span demo store; integers
must be equal, floats equal to 1e-9 (relative), and rows in the same order.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke

CASES = {
    "by model every day": ["cost", "--by", "model", "--every", "day", "--since", "10d"],
    "by provider and service, change": [
        *("cost", "--by", "provider", "--by", "service", "--since", "4d"),
    ],
    "by attribute every week": [
        *("cost", "--by", "attr.gen_ai.request.model", "--every", "week", "--since", "10d"),
    ],
    "every hour by model": ["cost", "--by", "model", "--every", "hour", "--since", "36h"],
    "an empty window": [
        *("cost", "--by", "model", "--since", "2020-01-01", "--until", "2020-01-08"),
    ],
    "top traces": ["cost", "top", "--since", "10d", "-n", "8"],
    "top calls": ["cost", "top", "--spans", "--since", "10d", "-n", "12"],
    "forecast by user": ["cost", "forecast", "--since", "10d", "--by", "user", "--days", "5"],
    "forecast total": ["cost", "forecast", "--since", "10d", "--days", "3"],
}


def same(a: Any, b: Any, where: str = "") -> None:
    """``a`` equals ``b``: integers and strings exactly, floats to 1e-9, lists in order."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), where
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {a.keys()} {b}"
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: {len(a)} rows vs {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def run(args: list[str], *options: str) -> Any:
    result = invoke(*args, *options, "--format", "json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


_REFERENCES: dict[tuple[Path, str], Any] = {}


def reference(store: Path, case: str) -> Any:
    """The Polars engine's answer (computed once per case)."""
    if (store, case) in _REFERENCES:
        return _REFERENCES[(store, case)]
    found = _REFERENCES[(store, case)] = run(CASES[case], "--store", str(store))
    rows = found if isinstance(found, list) else found.get("rows", found.get("daily"))
    if case != "an empty window":
        assert rows, f"{case}: the reference found nothing; the comparison would be empty"
    return found


@pytest.mark.parametrize("case", CASES)
def test_duckdb_matches_polars(store20k: Path, case: str) -> None:
    got = run(CASES[case], "--store", str(store20k), "--engine", "duckdb")
    same(got, reference(store20k, case), case)


@pytest.mark.parametrize("case", CASES)
def test_chdb_over_parquet_matches_polars(store20k: Path, case: str) -> None:
    got = run(CASES[case], "--store", str(store20k), "--engine", "clickhouse")
    same(got, reference(store20k, case), case)


OTEL_CASES = ("by model every day", "by provider and service, change", "top calls")
OTEL_CASES += ("forecast by user", "an empty window")
"""The view evaluates every semconv rule per span (seconds per case): the cases that
cover each query text (spend parts, top calls, daily costs) and the empty window."""


@pytest.mark.parametrize("case", OTEL_CASES)
def test_chdb_over_otel_traces_matches_polars(
    store20k: Path, otel_session: Path, case: str
) -> None:
    """The Collector exporter's table through the canonical view: model, provider, tokens
    and kinds are found again in SpanAttributes by the rules of semconv.py."""
    got = run(CASES[case], "--store", f"chdb://{otel_session}?table=otel_traces")
    same(got, reference(store20k, case), case)


@pytest.mark.spark
@pytest.mark.parametrize("case", CASES)
def test_spark_connect_matches_polars(store20k: Path, spark_connect: str, case: str) -> None:
    got = run(
        CASES[case], "--store", str(store20k), "--engine", "spark", "--spark-master", spark_connect
    )
    same(got, reference(store20k, case), case)


def test_the_comparison_can_fail(store20k: Path) -> None:
    """A different answer is caught: one micro-dollar off, or one row missing."""
    found = reference(store20k, "by model every day")
    changed = json.loads(json.dumps(found))
    changed["rows"][0]["requests"] += 1
    with pytest.raises(AssertionError):
        same(changed, found)
    with pytest.raises(AssertionError):
        same({**found, "rows": found["rows"][1:]}, found)
