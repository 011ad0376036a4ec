"""``cost --by user|session|environment|agent|tool`` gives the same answer on every engine.

Two stores: the 20k-span demo store, and a small store of messy traces built so that
the rules matter: spans stored out of time order with different users (the trace's value
is its earliest span's by (start time, span id, value), never the first stored), two
spans starting at the same nanosecond, an LLM call under a tool under an agent, a chain
of 150 spans (deeper than Spark's default recursion limit), a cycle of parent links, a
missing parent, a span that is its own parent, and a repeated span id with two tool
labels. The Polars answers are checked against hand-worked values, then each engine's
JSON against Polars' (integers exact, floats to 1e-9).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke
from test_engine_cost_equivalence import same

from tests.conftest import canonical_spans, commit_spans

T0 = datetime(2026, 11, 19, 9, tzinfo=UTC)
WINDOW = ("--since", "2026-11-19", "--until", "2026-11-20")
DEEP_WINDOW = ("--since", "2026-11-20", "--until", "2026-11-21")
DEEP_DAY = 86_400_000
"""The deep trace's day (milliseconds after T0): its own window, so chdb (one pass over
the window per level of the recursion, ~0.4 s each here) runs the other cases fast."""
DEMO = {
    "by user": ["cost", "--by", "user", "--since", "10d"],
    "by session every day": ["cost", "--by", "session", "--every", "day", "--since", "10d"],
    "by environment and model": ["cost", "--by", "environment", "--by", "model", "--since", "4d"],
    "by agent": ["cost", "--by", "agent", "--since", "10d"],
    "by tool every week": ["cost", "--by", "tool", "--every", "week", "--since", "10d"],
    "by agent and tool, where": [
        *("cost", "--by", "agent", "--by", "tool", "--since", "10d"),
        *("--where", "model:gpt-4o*"),
    ],
    "by user, where on user": [
        *("cost", "--by", "user", "--since", "10d", "--where", "user:user-000*"),
    ],
}


def _span(trace: str, span: str, parent: str | None, ms: int, **over: Any) -> dict[str, Any]:
    return {
        "trace_id": trace,
        "span_id": span,
        "parent_span_id": parent,
        "start_time": T0 + timedelta(milliseconds=ms),
        "ms": 5,
    } | over


def _llm(trace: str, span: str, parent: str | None, ms: int, **over: Any) -> dict[str, Any]:
    usage = {"ai_kind": "llm", "provider": "openai", "model": "gpt-4o-mini"}
    usage |= {"input_tokens": 100, "output_tokens": 10}
    return _span(trace, span, parent, ms, **usage) | over


def _messy() -> list[dict[str, Any]]:
    rows = [
        # users: stored late first; the earliest span with a value names the trace
        _span("tu", "u-late", None, 50, user_id="zed", environment="prod", session_id="s9"),
        _span("tu", "u-early", "u-late", 10, user_id="amy", environment="staging"),
        _llm("tu", "u-llm", "u-late", 20),
        _llm("tu", "u-own", "u-late", 30, user_id="own"),
        # the same start: the smaller span id wins
        _span("tt", "b", None, 0, user_id="bob"),
        _span("tt", "a", "b", 0, user_id="ann"),
        _llm("tt", "c", "b", 0),
        # agent > tool > step > llm
        _span("ta", "root", None, 0, ai_kind="agent", agent_name="planner"),
        _span("ta", "tl", "root", 1, ai_kind="tool", name="execute_tool search"),
        _span("ta", "mid", "tl", 2),
        _llm("ta", "l1", "mid", 3),
        _llm("ta", "l2", "root", 4),
        _llm("ta", "orphan", "gone", 5),
        _llm("ta", "self", "self", 6),
        # a cycle with an agent on it, a call under it
        _span("tc", "c1", "c2", 0, ai_kind="agent", agent_name="ring"),
        _span("tc", "c2", "c1", 1),
        _llm("tc", "cl", "c2", 2),
        # one span id twice, two tool labels: the smaller label is the node's
        _span("tdup", "dup", None, 0, ai_kind="tool", tool_name="zeta"),
        _span("tdup", "dup", None, 0, ai_kind="tool", tool_name="alpha"),
        _llm("tdup", "dl", "dup", 1),
    ]
    # the next day: 150 levels under an agent (deeper than Spark's default recursion limit)
    deep = DEEP_DAY
    rows.append(_span("deep", "d0", None, deep, ai_kind="agent", name="deep agent"))
    rows += [_span("deep", f"d{i}", f"d{i - 1}", deep + i) for i in range(1, 150)]
    rows.append(_llm("deep", "dl", "d149", deep + 150))
    return rows


EXPECTED = {
    "user": {"amy": 1, "own": 1, "ann": 1, None: 6},
    "environment": {"staging": 2, None: 7},
    "session": {"s9": 2, None: 7},
    "agent": {"planner": 2, "ring": 1, None: 6},
    "tool": {"execute_tool search": 1, "alpha": 1, None: 7},
}
"""Requests per group on the messy store, worked by hand."""


@pytest.fixture(scope="module")
def messy_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("messy") / "store"
    commit_spans(root, canonical_spans(_messy()), "messy")
    return root


def run(args: list[str], *options: str) -> Any:
    result = invoke(*args, *options, "--format", "json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("by", EXPECTED)
def test_polars_follows_the_rules(messy_store: Path, by: str) -> None:
    """The hand-worked answers (the old storage-order rule named "zed", "prod" and "zeta")."""
    found = run(["cost", "--by", by, *WINDOW], "--store", str(messy_store))
    assert {row[by]: row["requests"] for row in found["rows"]} == EXPECTED[by]


def test_polars_walks_a_deep_trace(messy_store: Path) -> None:
    found = run(["cost", "--by", "agent", *DEEP_WINDOW], "--store", str(messy_store))
    assert [(r["agent"], r["requests"]) for r in found["rows"]] == [("deep agent", 1)]


def test_duckdb_walks_a_deep_trace(messy_store: Path) -> None:
    args = ["cost", "--by", "agent", *DEEP_WINDOW]
    reference = run(args, "--store", str(messy_store))
    same(run(args, "--store", str(messy_store), "--engine", "duckdb"), reference)


ENGINES = {
    "duckdb": ["--engine", "duckdb"],
    "chdb": ["--engine", "clickhouse"],
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("by", EXPECTED)
def test_engines_follow_the_rules(messy_store: Path, by: str, engine: str) -> None:
    args = ["cost", "--by", by, *WINDOW]
    reference = run(args, "--store", str(messy_store))
    same(run(args, "--store", str(messy_store), *ENGINES[engine]), reference, by)


_REFERENCES: dict[str, Any] = {}


def _reference(store: Path, case: str) -> Any:
    if case not in _REFERENCES:
        found = _REFERENCES[case] = run(DEMO[case], "--store", str(store))
        named = {row[k] for row in found["rows"] for k in row if k in EXPECTED}
        assert named - {None} and len(found["rows"]) >= 2, f"{case}: too little to compare"
    return _REFERENCES[case]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", DEMO)
def test_demo_store_matches_polars(store20k: Path, case: str, engine: str) -> None:
    got = run(DEMO[case], "--store", str(store20k), *ENGINES[engine])
    same(got, _reference(store20k, case), case)


@pytest.mark.parametrize("case", ["by agent"])
def test_chdb_over_otel_traces_matches_polars(
    store20k: Path, otel_session: Path, case: str
) -> None:
    got = run(DEMO[case], "--store", f"chdb://{otel_session}?table=otel_traces")
    same(got, _reference(store20k, case), case)


@pytest.mark.spark
@pytest.mark.parametrize("by", EXPECTED)
def test_spark_connect_follows_the_rules(messy_store: Path, spark_connect: str, by: str) -> None:
    args = ["cost", "--by", by, *WINDOW]
    spark = ("--engine", "spark", "--spark-master", spark_connect)
    # (not the 150-level chain: Spark runs a job per level, ~4 s each at load 15)
    same(run(args, "--store", str(messy_store), *spark), run(args, "--store", str(messy_store)))


@pytest.mark.spark
@pytest.mark.parametrize("case", DEMO)
def test_spark_connect_matches_polars(store20k: Path, spark_connect: str, case: str) -> None:
    spark = ("--engine", "spark", "--spark-master", spark_connect)
    same(run(DEMO[case], "--store", str(store20k), *spark), _reference(store20k, case), case)
