"""Per-trace summaries: roots, totals, models, cost, ranking and prefix lookup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.traces.summary import (
    rank_traces,
    sort_traces,
    summarize_traces,
    trace_details,
    trace_ids_with_prefix,
    with_details,
)

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _span(
    trace: str, span: str, parent: str | None, start_ms: int, end_ms: int, **extra: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "trace_id": trace,
        "span_id": span,
        "parent_span_id": parent,
        "name": extra.pop("name", span),
        "service_name": extra.pop("service", "svc"),
        "start_time": T0 + timedelta(milliseconds=start_ms),
        "end_time": T0 + timedelta(milliseconds=end_ms),
        "status_code": extra.pop("status", "unset"),
        "model": extra.pop("model", None),
        "input_tokens": extra.pop("input_tokens", None),
        "output_tokens": extra.pop("output_tokens", None),
        "total_tokens": extra.pop("total_tokens", None),
        "cost_usd": extra.pop("cost", None),
    }
    assert not extra
    return row


SCHEMA = {
    "start_time": pl.Datetime("ns", "UTC"),
    "end_time": pl.Datetime("ns", "UTC"),
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "total_tokens": pl.Int64,
    "cost_usd": pl.Float64,
    "parent_span_id": pl.String,
    "model": pl.String,
}


@pytest.fixture
def spans() -> pl.LazyFrame:
    rows = [
        # trace a: root + LLM child with an error, two models
        _span("aaaa", "a1", None, 0, 1000, name="POST /chat", service="gw"),
        _span(
            "aaaa",
            "a2",
            "a1",
            100,
            900,
            model="gpt-4o",
            input_tokens=100,
            output_tokens=20,
            total_tokens=120,
            cost=0.01,
            status="error",
        ),
        _span(
            "aaaa",
            "a3",
            "a1",
            910,
            990,
            model="claude",
            input_tokens=5,
            output_tokens=5,
            total_tokens=10,
            cost=0.002,
        ),
        # trace b: its root is missing; the earliest span stands in
        _span("bbbb", "b2", "b0", 50, 3050, name="orphan", service="worker"),
        _span("bbbb", "b3", "b2", 60, 70),
        # trace c: unpriced
        _span(
            "cccc",
            "c1",
            None,
            500,
            700,
            name="GET /health",
            model="mystery",
            input_tokens=1,
            output_tokens=1,
            total_tokens=2,
        ),
    ]
    return pl.DataFrame(rows, schema_overrides=SCHEMA).lazy()


def test_summary_per_trace(spans: pl.LazyFrame) -> None:
    out = summarize_traces(spans).sort("trace_id").collect()
    expected = pl.DataFrame(
        {
            "trace_id": ["aaaa", "bbbb", "cccc"],
            "start_time": [T0, T0 + timedelta(milliseconds=50), T0 + timedelta(milliseconds=500)],
            "root_service": ["gw", "worker", "svc"],
            "root_name": ["POST /chat", "orphan", "GET /health"],
            "duration_ns": [1_000_000_000, 3_000_000_000, 200_000_000],
            "spans": [3, 2, 1],
            "errors": [1, 0, 0],
            "models": [["claude", "gpt-4o"], [], ["mystery"]],
            "input_tokens": [105, 0, 1],
            "output_tokens": [25, 0, 1],
            "total_tokens": [130, 0, 2],
            "cost_usd": [0.012, None, None],
        },
        schema_overrides={
            "start_time": pl.Datetime("ns", "UTC"),
            "spans": pl.UInt32,
            "errors": pl.UInt32,
        },
    )
    assert_frame_equal(out, expected, check_dtypes=False)


@pytest.mark.parametrize("by", ["start", "duration", "errors", "spans", "tokens", "cost"])
def test_rank_then_details_equals_full_summary(spans: pl.LazyFrame, by: str) -> None:
    full = sort_traces(summarize_traces(spans), by, 2).collect()
    ranked = rank_traces(spans, by, 2).collect()
    ids = ranked.get_column("trace_id").to_list()
    fast = with_details(ranked.lazy(), trace_details(spans, ids)).collect()
    assert_frame_equal(fast, full)


def test_sort_is_largest_first_with_nulls_last(spans: pl.LazyFrame) -> None:
    by_cost = sort_traces(summarize_traces(spans), "cost", None).collect()
    assert by_cost.get_column("trace_id").to_list() == ["aaaa", "bbbb", "cccc"]
    by_duration = sort_traces(summarize_traces(spans), "duration", 1).collect()
    assert by_duration.get_column("trace_id").to_list() == ["bbbb"]


def test_trace_ids_with_prefix(spans: pl.LazyFrame) -> None:
    found = trace_ids_with_prefix(spans, " AA ").collect()
    assert found.get_column("trace_id").to_list() == ["aaaa"]
    assert found.row(0)[1:] == (T0, T0 + timedelta(milliseconds=910))
    assert trace_ids_with_prefix(spans, "").collect().height == 3
    assert trace_ids_with_prefix(spans, "zz").collect().height == 0
