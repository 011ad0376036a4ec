"""``pyflare traces`` on DuckDB and ClickHouse (chdb) lists the same traces as on Polars.

Each case runs the real command (``--format json``) on the 20k-span demo store: every
order (price-free ones rank unpriced spans, cost and tokens the priced window), ``--where``
with span, trace-level and priced terms, a time window and an empty one. Rows in the same
order, integers and strings equal, floats (cost sums) to 1e-9.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_engine_cost_equivalence import run, same

CASES = {
    "latest": ["traces", "-n", "8"],
    "longest": ["traces", "--sort", "duration", "-n", "8"],
    "most spans, a window": ["traces", "--sort", "spans", "--since", "5d", "--until", "2d"],
    "costliest": ["traces", "--sort", "cost", "-n", "8", "--since", "10d"],
    "most tokens of a model": ["traces", "--sort", "tokens", "-n", "6", "--where", "model:gpt-4o*"],
    "failing traces": ["traces", "--sort", "errors", "-n", "10", "--where", "trace.errors:>=1"],
    "priced where, latest": ["traces", "-n", "6", "--where", "cost:>0.01 OR tokens:>3k"],
    "glob and negation": ["traces", "-n", "6", "--where", "name:execute_tool* -status:error"],
}


def _reference(store: Path, case: str) -> object:
    found = run(CASES[case], "--store", str(store))
    assert found, f"{case}: the reference found nothing; the comparison would be empty"
    return found


@pytest.mark.parametrize("case", CASES)
def test_traces_match_polars(store20k: Path, case: str) -> None:
    want = _reference(store20k, case)
    for engine in ("duckdb", "clickhouse"):
        got = run(CASES[case], "--store", str(store20k), "--engine", engine)
        same(got, want, f"{engine}: {case}")


def test_an_empty_window_lists_nothing(store20k: Path) -> None:
    args = ["traces", "--since", "2020-01-01", "--until", "2020-01-02"]
    for engine in ("polars", "duckdb", "clickhouse"):
        assert run(args, "--store", str(store20k), "--engine", engine) == []


def test_traces_over_otel_traces(store20k: Path, otel_session: Path) -> None:
    case = "failing traces"
    got = run(CASES[case], "--store", f"chdb://{otel_session}?table=otel_traces")
    same(got, _reference(store20k, case), case)


@pytest.mark.spark
@pytest.mark.parametrize("case", ["latest", "costliest", "failing traces"])
def test_traces_on_spark_connect(store20k: Path, spark_connect: str, case: str) -> None:
    args = ("--store", str(store20k), "--engine", "spark", "--spark-master", spark_connect)
    same(run(CASES[case], *args), _reference(store20k, case), case)
