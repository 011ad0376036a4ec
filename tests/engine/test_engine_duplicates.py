"""A call reported by two spans counts once on every engine, with or without usage.

The store holds the shapes the real instrumentors write (``tests/instrumentors`` drives
them): LangChain's ``ChatOpenAI`` beside OpenAI's ``ChatCompletion`` with the same tokens,
the same for a 429 without usage, an application's two retries of that 429, one
instrumentor's own retries and parallel calls, two failed calls whose input texts differ,
a framework span without usage over a client span with it, and an outer span with usage
over an inner one without. ``pyflare cost`` must count the same requests, failures and
tokens on Polars (``analysis.cost.duplicates``), DuckDB, chdb and Spark
(``engine.cost_sql``'s duplicate clauses), and those counts are the calls made.
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
LANGCHAIN = "openinference.instrumentation.langchain"
OPENAI = "openinference.instrumentation.openai"
FAILED = {"input_tokens": None, "output_tokens": None, "status_code": "error"}


def _call(trace: str, span: str, parent: str, start: int, end: int, **over: Any) -> dict[str, Any]:
    row = {
        "trace_id": trace,
        # Unique span ids: top calls of the same cost are ordered by span id.
        "span_id": f"{trace}-{span}",
        "parent_span_id": parent if parent.startswith("app") else f"{trace}-{parent}",
        "scope_name": OPENAI,
        "start_time": T0 + timedelta(milliseconds=start),
        "end_time": T0 + timedelta(milliseconds=end),
        "ai_kind": "llm",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 16,
        "output_tokens": 12,
        "input_text": "What is the capital of France?",
    }
    return row | over


SHAPES: dict[str, tuple[list[dict[str, Any]], int, int]] = {
    # name: (LLM spans, requests, failed requests)
    "langchain over openai, same usage": (
        [
            _call("t1", "lc", "app1", 0, 100, scope_name=LANGCHAIN),
            _call("t1", "oa", "app1", 5, 90),
        ],
        1,
        0,
    ),
    "langchain over openai, a 429": (
        [
            _call("t2", "lc", "app2", 0, 100, scope_name=LANGCHAIN, **FAILED),
            _call("t2", "oa", "app2", 5, 40, **FAILED),
        ],
        1,
        1,
    ),
    "an application's two retries of that 429": (
        [
            _call("t3", "lc1", "app3", 0, 100, scope_name=LANGCHAIN, **FAILED),
            _call("t3", "oa1", "app3", 5, 40, **FAILED),
            _call("t3", "lc2", "app3", 200, 300, scope_name=LANGCHAIN, **FAILED),
            _call("t3", "oa2", "app3", 205, 240, **FAILED),
        ],
        2,
        2,
    ),
    "one instrumentor's retries and parallel calls": (
        [
            _call("t4", "r1", "app4", 0, 100, **FAILED),
            _call("t4", "r2", "app4", 200, 300, **FAILED),
            _call("t4", "p1", "app4", 400, 500, **FAILED),
            _call("t4", "p2", "app4", 410, 490, **FAILED),
        ],
        4,
        4,
    ),
    "two failed calls whose texts differ": (
        [
            _call("t5", "lc", "app5", 0, 100, scope_name=LANGCHAIN, **FAILED),
            _call("t5", "oa", "app5", 5, 40, **FAILED, input_text="Another question"),
        ],
        2,
        2,
    ),
    "a framework span without usage or text over a client span": (
        [
            _call(
                "t6",
                "fw",
                "app6",
                0,
                100,
                scope_name="framework",
                input_tokens=None,
                output_tokens=None,
                input_text=None,
            ),
            _call("t6", "oa", "fw", 5, 90),
        ],
        1,
        0,
    ),
    "usage outside, none inside": (
        [
            _call("t7", "lc", "app7", 0, 100, scope_name=LANGCHAIN),
            _call("t7", "oa", "lc", 5, 90, input_tokens=None, output_tokens=None),
        ],
        2,
        0,
    ),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("duplicates") / "store"
    rows = [row for spans, _, _ in SHAPES.values() for row in spans]
    commit_spans(root, canonical_spans(rows), "duplicates")
    return root


WINDOW = ("--since", "2026-11-19", "--until", "2026-11-20")


def _cost(store: Path, *options: str) -> Any:
    args = ["cost", "--by", "model", *WINDOW, "--store", str(store), "--format", "json"]
    result = invoke(*args, *options)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def _top_calls(store: Path, *options: str) -> Any:
    args = ["cost", "top", "--spans", "--since", "2026-11-19", "-n", "50", "--store", str(store)]
    result = invoke(*args, "--format", "json", *options)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def test_polars_counts_each_call_once(store: Path) -> None:
    (row,) = _cost(store)["rows"]
    assert row["requests"] == sum(n for _, n, _ in SHAPES.values())
    assert row["failed"] == sum(f for _, _, f in SHAPES.values())


ENGINES = {
    "duckdb": ("--engine", "duckdb"),
    "chdb": ("--engine", "clickhouse"),
}


@pytest.mark.parametrize("engine", ENGINES)
def test_sql_engines_pair_the_same_calls(store: Path, engine: str) -> None:
    same(_cost(store, *ENGINES[engine]), _cost(store), engine)
    same(_top_calls(store, *ENGINES[engine]), _top_calls(store), engine)


@pytest.mark.spark
def test_spark_pairs_the_same_calls(store: Path, spark_connect: str) -> None:
    options = ("--engine", "spark", "--spark-master", spark_connect)
    same(_cost(store, *options), _cost(store), "spark")
    same(_top_calls(store, *options), _top_calls(store), "spark")
