"""``pyflare rca --engine ...`` gives the same report as Polars: the whole JSON (slices,
new versions with their first sightings and example traces, failure templates, causes with
the before/after-deploy check), on DuckDB, chdb over the store's Parquet, chdb over a
Collector-style ``otel_traces`` table and Spark Connect (marked ``spark``).

A 20k-span demo store over four days (dense enough for the deploy to be found: rag-api
2.0.0, ten hours before its end, raises gpt-4o-mini's errors in one region); the cases
cover ``--unit origin`` and ``span``, one day and two, and a version first seen before the
window (the history lookup); ``--where``, ``--span-filter`` and ``--vs-rest`` too. Integers and text
compare exactly, floats to 1e-9. What the engines do not run yet is refused with one line
naming the option and the engine (exit 2), never computed by loading the spans here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke
from otel_fill import fill_otel_traces

pytest.importorskip("duckdb")
pytest.importorskip("chdb")

CASES = {
    # a deploy in the window, significant slices, and the onset check ("after it")
    "origin-1d": ["--since", "1d"],
    "span-1d": ["--since", "1d", "--unit", "span", "--min-size", "10", "--alpha", "0.2"],
    "origin-2d": ["--since", "2d"],
    # the new version was deployed before the window: seen before, no onset
    "origin-seen-before": ["--since", "6h", "--baseline-since", "3d", "--baseline-until", "2d"],
    "span-seen-before": [
        *("--since", "6h", "--baseline-since", "3d", "--baseline-until", "2d"),
        *("--unit", "span"),
    ],
}
SEEN_BEFORE = ("origin-seen-before", "span-seen-before")
FILTERED = {
    # --where keeps whole traces, --span-filter spans (engine.search_sql's predicates)
    "where": ["--since", "2d", "--where", "model:gpt-4o-mini"],
    "where-trace-and-span-filter": [
        *("--since", "1d", "--where", "trace.duration:>2s"),
        *("--span-filter", "type:llm", "--unit", "span"),
    ],
    # --vs-rest: the window's --select spans against the rest of it, after --where
    "vs-rest": ["--since", "1d", "--vs-rest", "--select", "resource.cloud.region:eu-west-1"],
    "vs-rest-where": [
        *("--since", "2d", "--where", "service:agent-runtime"),
        *("--vs-rest", "--select", "model:gpt-4o-mini"),
    ],
}


@pytest.fixture(scope="module")
def store4d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four days of demo traffic, 20,000 spans."""
    root = tmp_path_factory.mktemp("rca-engines") / "store"
    result = invoke("demo", "--spans", "20000", "--days", "4", "--store", str(root))
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def otel4d(store4d: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A chdb ``otel_traces`` table holding ``store4d`` (events included), as a store URL."""
    folder = tmp_path_factory.mktemp("rca-chdb") / "session"
    assert fill_otel_traces(store4d, folder) > 19_000
    return f"chdb://{folder}?table=otel_traces"


def _report(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = invoke("rca", *args, "--format", "json", env=env)
    assert result.exit_code == 0, result.stderr or result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _same(got: Any, want: Any, where: str = "") -> None:
    """Equal JSON: floats to 1e-9 (relative), everything else exactly."""
    if isinstance(want, float) and isinstance(got, float | int):
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {got} != {want}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got} != {want}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


@pytest.fixture(scope="module")
def polars(store4d: Path) -> dict[str, dict[str, Any]]:
    return {name: _report(*args, "--store", str(store4d)) for name, args in CASES.items()}


def test_the_cases_reach_every_part_of_the_report(polars: dict[str, dict[str, Any]]) -> None:
    """Not an empty comparison: slices, a new version, templates and the deploy check."""
    assert all(r["failure_clusters"] for r in polars.values())
    assert all(r["changes"] for r in polars.values())
    assert any(r["slices"] for r in polars.values())
    for name, report in polars.items():
        assert report["changes"][0]["value"] == "rag-api 2.0.0"
        evidence = [e for cause in report["causes"] for e in cause["evidence"]]
        assert any(cause["traces"] for cause in report["causes"])
        if name in SEEN_BEFORE:
            assert report["changes"][0]["seen_before"] is not None
        else:
            assert report["changes"][0]["seen_before"] is None
            assert any("after it vs" in e for e in evidence), evidence


@pytest.mark.parametrize("case", sorted(CASES))
def test_duckdb_report_matches_polars(
    store4d: Path, polars: dict[str, dict[str, Any]], case: str
) -> None:
    _same(_report(*CASES[case], "--store", str(store4d), "--engine", "duckdb"), polars[case])


@pytest.mark.parametrize("case", ["origin-1d", "span-1d", "origin-seen-before"])
def test_chdb_report_over_parquet_matches_polars(
    store4d: Path, polars: dict[str, dict[str, Any]], case: str
) -> None:
    got = _report(*CASES[case], "--store", str(store4d), "--engine", "clickhouse")
    _same(got, polars[case])


def test_chdb_report_over_otel_traces_matches_polars(
    otel4d: str, polars: dict[str, dict[str, Any]]
) -> None:
    """The Collector's table: error types and messages come from its exception events.
    One case (the canonical view costs seconds a query): origin errors, a version seen
    before the window; the onset query is the same ClickHouse SQL as over Parquet."""
    case = "origin-seen-before"
    _same(_report(*CASES[case], "--store", otel4d), polars[case])


@pytest.mark.parametrize("case", sorted(FILTERED))
def test_search_options_match_polars(store4d: Path, case: str) -> None:
    want = _report(*FILTERED[case], "--store", str(store4d))
    assert want["slices"]
    assert want["failure_clusters"]
    for engine in ("duckdb", "clickhouse"):
        _same(_report(*FILTERED[case], "--store", str(store4d), "--engine", engine), want)


def test_where_over_otel_traces_matches_polars(store4d: Path, otel4d: str) -> None:
    """--where over the Collector's table: each filtered relation holds the canonical
    view's text twice, more than ClickHouse's default 256 KiB of query (exit 3 before)."""
    args = FILTERED["where"]
    _same(_report(*args, "--store", otel4d), _report(*args, "--store", str(store4d)))


def test_select_of_texts_over_otel_traces_is_refused_with_where(otel4d: str) -> None:
    """The table has no prompt texts: --select 'timeout' is refused with --where too (the
    filtered engine hid the table, and the texts were read as NULL: exit 0, other slices)."""
    result = invoke(
        *("rca", "--store", otel4d, "--since", "1d", "--where", "service:rag-api"),
        *("--vs-rest", "--select", "timeout"),
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "error: --select term 'timeout' (the otel_traces view has no input_text/output_text) "
        "does not run on --engine clickhouse yet (docs/scale.md lists what does); "
        "use --engine polars"
    ]


def test_the_engine_comes_from_the_environment(
    store4d: Path, polars: dict[str, dict[str, Any]]
) -> None:
    env = {"PYFLARE_ENGINE": "duckdb"}
    _same(_report(*CASES["span-1d"], "--store", str(store4d), env=env), polars["span-1d"])


@pytest.mark.spark
def test_spark_report_matches_polars(
    store4d: Path, spark_connect: str, polars: dict[str, dict[str, Any]]
) -> None:
    for case in ("origin-1d", "span-seen-before"):
        args = ("--store", str(store4d), "--engine", "spark", "--spark-master", spark_connect)
        _same(_report(*CASES[case], *args), polars[case])


def test_the_gate_fails_on_an_engine_as_on_polars(store4d: Path) -> None:
    args = [*CASES["origin-1d"], "--store", str(store4d), "--fail-on-significant"]
    assert invoke("rca", *args).exit_code == 1
    result = invoke("rca", *args, "--engine", "duckdb")
    assert result.exit_code == 1
    assert "significant slice(s); first:" in result.stderr


def test_an_empty_baseline_is_refused(store4d: Path) -> None:
    result = invoke(
        "rca",
        *("--store", str(store4d), "--engine", "duckdb"),
        *("--baseline-since", "2020-01-01", "--baseline-until", "2020-01-02"),
    )
    assert result.exit_code == 2
    assert "no spans in the baseline" in result.stderr


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--metric", "latency"], "rca --metric latency"),
        (["--metric", "cost"], "rca --metric cost"),
        (["--metric", "attr.gen_ai.usage.input_tokens"], "rca --metric attr."),
        (["--unit", "trace"], "rca --unit trace"),
        (["--where", "cost:>0.01"], "rca --where on cost"),
        (["--span-filter", "trace.cost:>0.1"], "rca --span-filter on cost"),
        (["--where", "eval.judge:<0.5"], "--where term 'eval.judge'"),
        (["--span-filter", "eval.judge:<0.5"], "--span-filter term 'eval.judge'"),
        (["--vs-rest", "--select", "eval.judge:<0.5"], "--select term 'eval.judge'"),
        (["--vs-rest", "--select", "cost:>0.01"], "rca --select on cost"),
    ],
)
def test_what_the_engines_do_not_run_is_refused(
    store4d: Path, option: list[str], named: str
) -> None:
    for engine in ("duckdb", "clickhouse"):
        result = invoke("rca", *option, "--store", str(store4d), "--engine", engine)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert named in lines[0] and f"--engine {engine}" in lines[0], lines[0]


def test_html_needs_a_store_folder(otel4d: str, tmp_path: Path) -> None:
    result = invoke("rca", "--store", otel4d, "--html", str(tmp_path / "rca.html"))
    assert result.exit_code == 2
    assert "--html with a ClickHouse --store" in result.stderr
    assert not (tmp_path / "rca.html").exists()
