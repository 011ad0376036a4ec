"""Unit rows and the grouped pass on hand-built traces: two agents, nested tools, LLM calls
at every level; exact percentiles against NumPy on random groups over many seeds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from pyflare_cli.analysis.stats.figures import stats_table
from pyflare_cli.analysis.stats.units import unit_rows

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
PICO = 10**12


def _span(span_id: str, parent: str | None, ms: int, **fields: Any) -> dict[str, Any]:
    return {
        "trace_id": fields.pop("trace_id", "t1"),
        "span_id": span_id,
        "parent_span_id": parent,
        "start_time": T0 + timedelta(milliseconds=fields.pop("at", 0)),
        "ms": ms,
        **fields,
    }


def _llm(span_id: str, parent: str, tokens: int, **fields: Any) -> dict[str, Any]:
    return _span(
        span_id,
        parent,
        10,
        ai_kind="llm",
        model="gpt-4o",
        provider="openai",
        input_tokens=tokens,
        output_tokens=tokens // 10,
        **fields,
    )


@pytest.fixture
def spans(make_spans: Callable[..., pl.DataFrame]) -> pl.LazyFrame:
    """planner -> (L1, search -> (L2, fetch[error] -> L3)); writer -> (search -> L4, L5)."""
    frame = make_spans(
        _span("r", None, 1000, name="chat", user_id="u1", session_id="s1"),
        _span("planner", "r", 400, ai_kind="agent", agent_name="planner"),
        _llm("L1", "planner", 100),
        _span("search1", "planner", 200, ai_kind="tool", tool_name="search", at=10),
        _llm("L2", "search1", 200),
        _span("fetch", "search1", 50, ai_kind="tool", tool_name="fetch", status_code="error"),
        _llm("L3", "fetch", 300),
        _span("writer", "r", 500, ai_kind="agent", agent_name="writer", at=500),
        _span("search2", "writer", 300, ai_kind="tool", tool_name="search", at=510),
        _llm("L4", "search2", 400),
        _llm("L5", "writer", 500),
        _span("x", None, 20, trace_id="t2", name="health", user_id="u2"),
    )
    tokens = pl.col("input_tokens")
    return frame.lazy().with_columns(
        (tokens * PICO).alias("cost_pico"),  # $1 per input token, easy to read
        pl.when(tokens.is_not_null()).then(pl.lit("price")).alias("cost_source"),
    )


def _table(spans: pl.LazyFrame, unit: str, by: list[str]) -> dict[Any, dict[str, Any]]:
    frame = stats_table(unit_rows(spans, unit, by), by).collect()
    key = by[0] if len(by) == 1 else None
    return {(row[key] if key else tuple(row[n] for n in by)): row for row in frame.to_dicts()}


def test_tool_calls_carry_the_llm_calls_under_them(spans: pl.LazyFrame) -> None:
    rows = _table(spans, "call", ["tool"])
    assert set(rows) == {"search", "fetch"}
    assert (rows["search"]["requests"], rows["search"]["errors"]) == (2, 0)
    assert rows["search"]["input_tokens"] == 200 + 400  # L3 belongs to the nested fetch
    assert rows["search"]["cost_usd"] == 600
    assert (rows["fetch"]["requests"], rows["fetch"]["errors"]) == (1, 1)
    assert rows["fetch"]["input_tokens"] == 300
    assert rows["search"]["p50"] == pytest.approx(250e6)  # 200 ms and 300 ms


def test_agent_runs_carry_everything_under_them(spans: pl.LazyFrame) -> None:
    rows = _table(spans, "call", ["agent"])
    assert rows["planner"]["input_tokens"] == 100 + 200 + 300
    assert rows["writer"]["input_tokens"] == 400 + 500
    assert rows["planner"]["requests"] == rows["writer"]["requests"] == 1
    assert rows["planner"]["users"] == 1  # the trace's user


def test_tools_per_agent(spans: pl.LazyFrame) -> None:
    rows = _table(spans, "call", ["agent", "tool"])
    assert set(rows) == {("planner", "search"), ("planner", "fetch"), ("writer", "search")}
    assert rows[("writer", "search")]["input_tokens"] == 400


def test_llm_calls_by_their_nearest_tool(spans: pl.LazyFrame) -> None:
    rows = _table(spans, "llm", ["tool"])
    assert {k: v["requests"] for k, v in rows.items()} == {None: 2, "search": 2, "fetch": 1}


def test_a_trace_counts_under_each_agent_it_ran(spans: pl.LazyFrame) -> None:
    rows = _table(spans, "trace", ["agent"])
    assert rows["planner"]["requests"] == rows["writer"]["requests"] == 1
    assert rows[None]["requests"] == 1  # the health check ran no agent
    assert rows["planner"]["input_tokens"] == 1500  # the whole trace's
    assert rows["planner"]["errors"] == 1  # the fetch failed
    assert rows["planner"]["p50"] == pytest.approx(1000e6)


def test_span_unit_counts_tokens_once(spans: pl.LazyFrame) -> None:
    frame = stats_table(unit_rows(spans, "span", []), []).collect()
    assert frame.item(0, "requests") == 12 and frame.item(0, "input_tokens") == 1500
    assert frame.item(0, "errors") == 1 and frame.item(0, "users") == 2


@pytest.mark.parametrize("seed", range(20))
def test_percentiles_are_numpy_linear_on_random_groups(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    groups = rng.integers(0, 5, n)
    durations = rng.lognormal(18, 1.5, n).astype(np.int64)
    rows = pl.LazyFrame(
        {
            "g": groups,
            "duration_ns": durations,
            "error": rng.random(n) < 0.1,
            "input_tokens": np.zeros(n, dtype=np.int64),
            "output_tokens": np.zeros(n, dtype=np.int64),
            "cost_pico": np.zeros(n, dtype=np.int64),
            "unpriced": np.zeros(n, dtype=bool),
            "user_id": [None] * n,
            "session_id": [None] * n,
        },
        schema_overrides={"user_id": pl.String, "session_id": pl.String},
    )
    table = stats_table(rows, ["g"]).collect()
    for row in table.to_dicts():
        values = durations[groups == row["g"]].astype(float)
        assert row["requests"] == len(values)
        for name, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
            assert row[name] == pytest.approx(np.percentile(values, q), rel=1e-12)
        assert row["max"] == values.max()
