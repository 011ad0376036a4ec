"""Tool sequences per agent run: order, nesting, runs without an agent, success."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from pyflare_cli.analysis.stats.sequences import sequences, tool_calls

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


def _s(span_id: str, parent: str | None, at: int, **fields: Any) -> dict[str, Any]:
    start = T0 + timedelta(seconds=at)
    return {"span_id": span_id, "parent_span_id": parent, "start_time": start, **fields}


def _tool(span_id: str, parent: str, at: int, name: str, **fields: Any) -> dict[str, Any]:
    return _s(span_id, parent, at, ai_kind="tool", tool_name=name, **fields)


def test_sequences_per_agent(make_spans: Callable[..., pl.DataFrame]) -> None:
    frame = make_spans(
        _s("r", None, 0, trace_id="a"),
        _s("planner", "r", 1, trace_id="a", ai_kind="agent", agent_name="planner"),
        _tool("s2", "planner", 5, "search", trace_id="a"),  # out of row order on purpose
        _tool("s1", "planner", 2, "search", trace_id="a"),
        _tool("f", "s2", 6, "fetch", trace_id="a"),  # inside a tool: not the agent's call
        _tool("g", "planner", 8, "get_order", trace_id="a", status_code="error"),
        _s("writer", "r", 10, trace_id="a", ai_kind="agent", agent_name="writer"),
        _tool("w1", "writer", 11, "fetch", trace_id="a"),
        _tool("w2", "writer", 12, "search", trace_id="a"),
        _s("r2", None, 0, trace_id="b"),
        _tool("b1", "r2", 1, "lookup", trace_id="b"),
        _tool("b2", "r2", 2, "lookup", trace_id="b"),
    )
    calls = tool_calls(frame.lazy())
    found = sequences(calls, 2).collect()
    rows = {(r["agent"], r["sequence"]): r for r in found.to_dicts()}
    assert set(rows) == {
        ("planner", "search → search"),
        ("planner", "search → get_order"),
        ("writer", "fetch → search"),
        (None, "lookup → lookup"),
    }
    assert rows[("planner", "search → get_order")]["success_rate"] == 0
    assert rows[("planner", "search → search")]["success_rate"] == 1
    assert rows[("planner", "search → search")]["share"] == 0.5
    single = sequences(calls, 1).collect()
    assert single.filter(pl.col("agent") == "planner").get_column("count").sum() == 3
    assert sequences(calls, 4).collect().is_empty()
