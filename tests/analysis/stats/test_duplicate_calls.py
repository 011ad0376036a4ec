"""One LLM call reported by two spans (LangChain's ChatOpenAI and OpenAI's ChatCompletion
inside it) is one request, one turn and one model call in stats, sessions and metrics.

The spans are priced by the same function every reader uses (``query.prices.priced``,
which marks the outer span with :mod:`analysis.cost.duplicates`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from pyflare_cli.analysis.stats.figures import stats_table
from pyflare_cli.analysis.stats.metrics import latency_histogram, llm_calls, per_trace
from pyflare_cli.analysis.stats.sessions import session_table, user_table
from pyflare_cli.analysis.stats.units import unit_rows
from pyflare_cli.query.prices import priced

T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)
LANGCHAIN = "openinference.instrumentation.langchain"
OPENAI = "openinference.instrumentation.openai"


def _span(span_id: str, parent: str | None, at: int, ms: int, **fields: Any) -> dict[str, Any]:
    return {
        "trace_id": fields.pop("trace_id", "t1"),
        "span_id": span_id,
        "parent_span_id": parent,
        "start_time": T0 + timedelta(milliseconds=at),
        "ms": ms,
        "user_id": "u1",
        "session_id": "s1",
        **fields,
    }


def _call(span_id: str, parent: str, at: int, ms: int, scope: str, **fields: Any) -> dict[str, Any]:
    return _span(
        span_id,
        parent,
        at,
        ms,
        ai_kind="llm",
        model="gpt-4o-mini",
        provider="openai",
        input_tokens=1000,
        output_tokens=100,
        scope_name=scope,
        **fields,
    )


@pytest.fixture
def spans(make_spans: Callable[..., pl.DataFrame]) -> pl.LazyFrame:
    """Two LangChain calls, each with OpenAI's span inside (a child, then a sibling), and
    one plain OpenAI call: three calls in five LLM spans."""
    frame = make_spans(
        _span("root", None, 0, 3000, name="agent"),
        _call("lc1", "root", 10, 900, LANGCHAIN, name="ChatOpenAI"),
        _call("oa1", "lc1", 20, 800, OPENAI, name="ChatCompletion"),
        _call("lc2", "root", 1000, 900, LANGCHAIN, name="ChatOpenAI"),
        _call("oa2", "root", 1010, 800, OPENAI, name="ChatCompletion"),
        _call("oa3", "root", 2000, 500, OPENAI, name="ChatCompletion"),
    )
    return priced(frame.lazy())


def test_the_fixture_holds_two_duplicates(spans: pl.LazyFrame) -> None:
    sources = spans.select("span_id", "cost_source").collect().rows()
    assert sorted(s for s, source in sources if source == "duplicate") == ["lc1", "lc2"]


@pytest.mark.parametrize("by", [["model"], ["provider"], []])
def test_llm_unit_counts_each_call_once(spans: pl.LazyFrame, by: list[str]) -> None:
    row = stats_table(unit_rows(spans, "llm", by), by).collect().to_dicts()[0]
    assert row["requests"] == 3
    assert (row["input_tokens"], row["output_tokens"]) == (3000, 300)
    # The latencies are the inner calls' own: 800, 800 and 500 ms.
    assert row["max"] == pytest.approx(800e6)
    assert row["p50"] == pytest.approx(800e6)


def test_trace_and_span_units_keep_their_meaning(spans: pl.LazyFrame) -> None:
    trace = stats_table(unit_rows(spans, "trace", []), []).collect().row(0, named=True)
    assert (trace["requests"], trace["input_tokens"]) == (1, 3000)
    span = stats_table(unit_rows(spans, "span", []), []).collect().row(0, named=True)
    assert (span["requests"], span["input_tokens"]) == (6, 3000)  # every span is a span


def test_sessions_and_users_count_turns_once(spans: pl.LazyFrame) -> None:
    session = session_table(spans).collect().row(0, named=True)
    assert (session["turns"], session["input_tokens"]) == (3, 3000)
    assert user_table(spans).collect().row(0, named=True)["turns"] == 3


def test_metrics_count_model_calls_once(spans: pl.LazyFrame) -> None:
    calls = llm_calls(spans).collect().row(0, named=True)
    assert (calls["calls"], calls["input_tokens"]) == (3, 3000)
    assert latency_histogram(spans).collect().row(0, named=True)["count"] == 3
    assert per_trace(spans).collect().row(0, named=True)["calls"] == 3
