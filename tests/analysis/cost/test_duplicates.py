"""An LLM call reported by two spans (a framework's and the client's) is counted once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from pyflare_cli.analysis.cost.duplicates import DUPLICATE, count_calls_once, duplicate_calls

T0 = datetime(2026, 12, 1, tzinfo=UTC)
LANGCHAIN = "openinference.instrumentation.langchain"
OPENAI = "openinference.instrumentation.openai"


def _span(span_id: str, parent: str | None, start: int, end: int, **over: Any) -> dict[str, Any]:
    row = {
        "trace_id": "t1",
        "span_id": span_id,
        "parent_span_id": parent,
        "scope_name": OPENAI,
        "start_time": T0 + timedelta(milliseconds=start),
        "end_time": T0 + timedelta(milliseconds=end),
        "ai_kind": "llm",
        "model": "gpt-4o-mini",
        "input_tokens": 16,
        "output_tokens": 12,
        "total_tokens": 28,
        "cache_read_tokens": 0,
        "cost_pico": 9_600_000,
        "cost_micros": 10,
        "cost_usd": 0.0000096,
        "cost_source": "price",
    }
    return {**row, **over}


def _flagged(*rows: dict[str, Any]) -> set[str]:
    frame = pl.DataFrame(list(rows)).lazy()
    return set(duplicate_calls(frame).collect()["span_id"])


def test_child_reporting_the_same_call() -> None:
    outer = _span("outer", "app", 0, 100, scope_name=LANGCHAIN)
    assert _flagged(outer, _span("inner", "outer", 10, 90)) == {"outer"}


def test_sibling_of_another_scope_inside_it() -> None:
    # What OpenInference LangChain + OpenAI write today: both under the app span.
    outer = _span("outer", "app", 0, 100, scope_name=LANGCHAIN)
    assert _flagged(outer, _span("inner", "app", 10, 90)) == {"outer"}


def test_three_nested_reports_keep_the_innermost() -> None:
    rows = (
        _span("a", None, 0, 100, scope_name="x"),
        _span("b", "a", 5, 95, scope_name="y"),
        _span("c", "b", 10, 90),
    )
    assert _flagged(*rows) == {"a", "b"}


def test_same_times_keep_exactly_one() -> None:
    rows = (_span("b", "app", 0, 50, scope_name=LANGCHAIN), _span("a", "app", 0, 50))
    assert len(_flagged(*rows)) == 1


def test_different_calls_are_not_merged() -> None:
    outer = _span("outer", "app", 0, 100, scope_name=LANGCHAIN)
    # Other tokens, another model, outside in time, another trace, or the same scope's
    # parallel identical calls: separate calls.
    assert _flagged(outer, _span("x", "outer", 10, 90, output_tokens=13)) == set()
    assert _flagged(outer, _span("x", "outer", 10, 90, model="gpt-4o")) == set()
    assert _flagged(outer, _span("x", "outer", 50, 150)) == set()
    assert _flagged(outer, _span("x", "outer", 10, 90, trace_id="t2")) == set()
    parallel = _span("p1", "app", 0, 100)
    assert _flagged(parallel, _span("p2", "app", 10, 90)) == set()
    assert _flagged(outer, _span("x", "outer", 10, 90, ai_kind="chain")) == set()


def test_totals_count_the_call_once_and_rows_stay() -> None:
    rows = [
        _span("outer", "app", 0, 100, scope_name=LANGCHAIN, model=None),
        _span("inner", "outer", 10, 90),
        _span("other", "app", 200, 300, input_tokens=5, output_tokens=5, cost_pico=1),
    ]
    out = count_calls_once(pl.DataFrame(rows).lazy()).collect()
    assert out["span_id"].to_list() == ["outer", "inner", "other"]
    assert out["input_tokens"].sum() == 16 + 5
    assert out["cost_pico"].sum() == 9_600_000 + 1
    outer = out.row(0, named=True)
    assert (outer["cost_source"], outer["cost_usd"], outer["total_tokens"]) == (
        DUPLICATE,
        0.0,
        None,
    )


def test_frames_without_trace_columns_pass_through() -> None:
    requests = pl.LazyFrame({"model": ["m"], "input_tokens": [1], "cost_usd": [1.0]})
    assert count_calls_once(requests).collect().equals(requests.collect())


def _failed(span_id: str, parent: str | None, start: int, end: int, **over: Any) -> dict[str, Any]:
    """An LLM span without usage (a 429), as both OpenInference instrumentors write it."""
    row = {"input_tokens": None, "output_tokens": None, "total_tokens": None}
    row |= {"cost_pico": None, "cost_micros": None, "cost_usd": None, "cost_source": None}
    row |= {"status_code": "error", "input_text": "[rate_limit] hello"}
    return _span(span_id, parent, start, end, **(row | over))


def test_a_failed_call_reported_twice_is_one_call() -> None:
    # What OpenInference LangChain + OpenAI write for a 429: siblings, no usage at all.
    outer = _failed("outer", "app", 0, 100, scope_name=LANGCHAIN)
    assert _flagged(outer, _failed("inner", "app", 2, 40)) == {"outer"}
    # A child needs no text: an LLM span inside an LLM span without usage is its request.
    bare = {"input_text": None}
    assert _flagged(_failed("o", "app", 0, 100, **bare), _failed("i", "o", 2, 40)) == {"o"}
    # The inner span may report the usage the framework's span lacks (a stream).
    assert _flagged(outer, _span("inner", "app", 2, 40, input_text="[rate_limit] hello")) == {
        "outer"
    }


def test_retries_without_usage_stay_separate_calls() -> None:
    # An application retrying a LangChain call: two pairs, one after the other.
    rows = (
        _failed("lc1", "app", 0, 100, scope_name=LANGCHAIN),
        _failed("oa1", "app", 2, 40),
        _failed("lc2", "app", 200, 300, scope_name=LANGCHAIN),
        _failed("oa2", "app", 202, 240),
    )
    assert _flagged(*rows) == {"lc1", "lc2"}
    # One instrumentor's retries, one after the other or in parallel: never paired.
    assert _flagged(_failed("r1", "app", 0, 100), _failed("r2", "app", 200, 300)) == set()
    assert _flagged(_failed("p1", "app", 0, 100), _failed("p2", "app", 10, 90)) == set()


def test_calls_without_usage_that_differ_are_not_merged() -> None:
    outer = _failed("outer", "app", 0, 100, scope_name=LANGCHAIN)
    assert _flagged(outer, _failed("x", "app", 2, 40, input_text="another question")) == set()
    assert _flagged(outer, _failed("x", "app", 2, 40, model="gpt-4o")) == set()
    assert _flagged(outer, _failed("x", "app", 50, 150)) == set()
    assert _flagged(outer, _failed("x", "other", 2, 40)) == set()
    assert _flagged(outer, _failed("x", "outer", 2, 40, trace_id="t2")) == set()
    # The outer span has usage the inner one lacks: pairing would lose its tokens.
    assert _flagged(_span("o", "app", 0, 100, scope_name=LANGCHAIN), _failed("i", "o", 2, 40)) == (
        set()
    )


def test_spans_without_input_text_pair_as_if_it_were_unrecorded() -> None:
    rows = (_failed("outer", "app", 0, 100, scope_name=LANGCHAIN), _failed("inner", "app", 2, 40))
    frame = pl.DataFrame(list(rows)).drop("input_text").lazy()
    assert set(duplicate_calls(frame).collect()["span_id"]) == {"outer"}
