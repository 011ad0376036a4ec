"""Latency attribution (`pyflare rca --metric latency`): critical-path time per operation.

Hand-made traces with known critical paths (Jaeger's rule: from the end of a span, descend
into the child that finishes last before the cut-off; the parent owns the gaps), then the
comparison of slow target traces with baseline traces of the same root operation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.rca.latency import (
    ATTRIBUTION_SCHEMA,
    critical_path_ms,
    latency_attribution,
    trace_durations,
)
from pyflare_cli.schema import POLARS_SCHEMA

T0 = datetime(2025, 3, 1, 14, tzinfo=UTC)
COLUMNS = ["trace_id", "span_id", "parent_span_id", "name", "service_name", "start_time"]
COLUMNS += ["end_time", "duration_ns", "status_code"]


def span(
    trace: str,
    span_id: str,
    parent: str | None,
    start_ms: float,
    end_ms: float,
    name: str | None = None,
    service: str | None = "api",
    offset_s: float = 0.0,
) -> dict[str, Any]:
    start = T0 + timedelta(seconds=offset_s, milliseconds=start_ms)
    end = T0 + timedelta(seconds=offset_s, milliseconds=end_ms)
    return {
        "trace_id": trace,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name or span_id,
        "service_name": service,
        "start_time": start,
        "end_time": end,
        "duration_ns": round((end_ms - start_ms) * 1e6),
        "status_code": "unset",
    }


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: POLARS_SCHEMA[c] for c in COLUMNS}, orient="row")


def paths(rows: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    result = critical_path_ms(frame(rows))
    return {(t, op): ms for t, op, ms in result.iter_rows()}


# --- critical path per operation ---------------------------------------------------------


def test_sequential_children() -> None:
    # root 0-100 calls b 10-40 then c 50-90: root owns 0-10, 40-50, 90-100.
    got = paths(
        [
            span("t1", "root", None, 0, 100),
            span("t1", "b", "root", 10, 40),
            span("t1", "c", "root", 50, 90),
        ]
    )
    assert got == pytest.approx(
        {("t1", "api: root"): 30, ("t1", "api: b"): 30, ("t1", "api: c"): 40}
    )


def test_nested_chain() -> None:
    # a 0-100 > b 10-90 > c 20-60: a owns 0-10 and 90-100, b 10-20 and 60-90, c 20-60.
    got = paths(
        [
            span("t1", "a", None, 0, 100),
            span("t1", "b", "a", 10, 90, service="rag"),
            span("t1", "c", "b", 20, 60, service="llm"),
        ]
    )
    assert got == pytest.approx({("t1", "api: a"): 20, ("t1", "rag: b"): 40, ("t1", "llm: c"): 40})


def test_overlapping_children() -> None:
    # Parallel b 10-50 and c 30-80: c finishes last, so it is on the path (30-80); b ends
    # after c starts, so it is not; the root owns 0-30 and 80-100.
    got = paths(
        [
            span("t1", "root", None, 0, 100),
            span("t1", "b", "root", 10, 50),
            span("t1", "c", "root", 30, 80),
        ]
    )
    assert got == pytest.approx({("t1", "api: root"): 50, ("t1", "api: c"): 50})


def test_parallel_children_then_a_sequential_one() -> None:
    # b 10-40 and c 20-35 overlap; d 40-90 follows them. From the end: d owns 40-90, then b
    # (it ends at d's start) owns 10-40; c ends after b starts, so it is skipped; the root
    # owns 0-10 and 90-100.
    got = paths(
        [
            span("t1", "root", None, 0, 100),
            span("t1", "b", "root", 10, 40),
            span("t1", "c", "root", 20, 35),
            span("t1", "d", "root", 40, 90),
        ]
    )
    assert got == pytest.approx(
        {("t1", "api: root"): 20, ("t1", "api: b"): 30, ("t1", "api: d"): 50}
    )


def test_child_longer_than_its_parent_is_clipped() -> None:
    # b runs 50-150 under a root that ends at 100: it owns 50-100 only.
    got = paths([span("t1", "root", None, 0, 100), span("t1", "b", "root", 50, 150)])
    assert got == pytest.approx({("t1", "api: root"): 50, ("t1", "api: b"): 50})


def test_child_starting_before_its_parent_is_clipped() -> None:
    got = paths([span("t1", "root", None, 10, 100), span("t1", "b", "root", 0, 60)])
    assert got == pytest.approx({("t1", "api: root"): 40, ("t1", "api: b"): 50})


def test_async_child_after_the_parent_ends_is_ignored() -> None:
    # A fire-and-forget child 120-200 of a root 0-100: not on the critical path.
    rows = [
        span("t1", "root", None, 0, 100),
        span("t1", "b", "root", 20, 60),
        span("t1", "async", "root", 120, 200),
        span("t1", "async-child", "async", 130, 190),
    ]
    got = paths(rows)
    assert got == pytest.approx({("t1", "api: root"): 60, ("t1", "api: b"): 40})
    # The trace's duration still spans it (first start to last end).
    durations = trace_durations(frame(rows))
    assert durations.row(0) == ("t1", 200.0, "api: root")


def test_repeated_operations_are_summed_per_trace_and_traces_are_separate() -> None:
    rows = [
        span("t1", "root", None, 0, 100, name="chat"),
        span("t1", "r1", "root", 0, 30, name="retrieve", service="rag"),
        span("t1", "r2", "root", 30, 70, name="retrieve", service="rag"),
        span("t2", "root2", None, 0, 10, name="chat", service=None),
    ]
    result = critical_path_ms(frame(rows)).sort("trace_id", "operation")
    expected = pl.DataFrame(
        {
            "trace_id": ["t1", "t1", "t2"],
            "operation": ["api: chat", "rag: retrieve", "?: chat"],
            "ms": [30.0, 70.0, 10.0],
        }
    )
    assert_frame_equal(result, expected)


def test_critical_path_tiles_the_root_duration() -> None:
    rows = [
        span("t1", "root", None, 0, 250),
        span("t1", "a", "root", 5, 120),
        span("t1", "a1", "a", 10, 60),
        span("t1", "a2", "a", 40, 119),
        span("t1", "b", "root", 100, 240),
        span("t1", "b1", "b", 150, 400),
    ]
    got = paths(rows)
    assert sum(got.values()) == pytest.approx(250)
    # b1 is clipped to b (150-240) and owns it; b owns 100-150; a ends at 120, after b
    # starts, so it is skipped and the root owns 0-100 and 240-250.
    assert got == pytest.approx(
        {("t1", "api: root"): 110, ("t1", "api: b"): 50, ("t1", "api: b1"): 90}
    )


def test_trace_durations_and_roots() -> None:
    rows = [
        span("t1", "c", "root", 10, 30),
        span("t1", "root", None, 0, 50, name="chat"),
        span("t2", "orphan", "missing", 5, 25, name="embed", service="rag"),
    ]
    result = trace_durations(frame(rows)).sort("trace_id")
    expected = pl.DataFrame(
        {"trace_id": ["t1", "t2"], "duration_ms": [50.0, 20.0], "root": ["api: chat", "rag: embed"]}
    )
    assert_frame_equal(result, expected)


# --- attribution -------------------------------------------------------------------------


def chat_trace(trace: str, retrieve_ms: float, generate_ms: float, offset_s: float) -> list[dict]:
    """api: chat -> rag: retrieve, then llm: generate, 5 ms of root work on each side."""
    end_retrieve = 5 + retrieve_ms
    end_generate = end_retrieve + generate_ms
    return [
        span(trace, f"{trace}-root", None, 0, end_generate + 5, "chat", "api", offset_s),
        span(trace, f"{trace}-r", f"{trace}-root", 5, end_retrieve, "retrieve", "rag", offset_s),
        span(
            trace,
            f"{trace}-g",
            f"{trace}-root",
            end_retrieve,
            end_generate,
            "generate",
            "llm",
            offset_s,
        ),
    ]


def embed_trace(trace: str, offset_s: float) -> list[dict]:
    """A different kind of trace: api: embed -> llm: vectorize (long)."""
    return [
        span(trace, f"{trace}-root", None, 0, 60, "embed", "api", offset_s),
        span(trace, f"{trace}-v", f"{trace}-root", 2, 58, "vectorize", "llm", offset_s),
    ]


@pytest.fixture(scope="module")
def attribution() -> tuple[pl.DataFrame, int, float]:
    baseline_rows: list[dict] = []
    for i in range(40):  # chat: 20 ms retrieve + 50 ms generate (80 ms), a little jitter
        baseline_rows += chat_trace(f"b{i:02d}", 20 + i % 3, 50, i)
    for i in range(4):  # a few embed traces, shorter than the 90th percentile
        baseline_rows += embed_trace(f"e{i}", 100 + i)
    target_rows: list[dict] = []
    for i in range(20):  # slow: retrieve takes 200 ms
        target_rows += chat_trace(f"s{i:02d}", 200, 50, 200 + i)
    for i in range(20):  # normal ones
        target_rows += chat_trace(f"n{i:02d}", 20, 50, 300 + i)
    return latency_attribution(frame(target_rows), frame(baseline_rows))


def test_attribution_names_the_operation_that_got_slower(
    attribution: tuple[pl.DataFrame, int, float],
) -> None:
    table, slow, threshold = attribution
    assert table.schema == pl.Schema(ATTRIBUTION_SCHEMA)
    assert slow == 20
    # 90th percentile of baseline durations: chat traces take 80-82 ms.
    assert 80 <= threshold <= 82
    top = table.row(0, named=True)
    assert top["operation"] == "rag: retrieve"
    assert top["target_ms"] == pytest.approx(200.0)
    baseline_retrieve = sum(20 + i % 3 for i in range(40)) / 40
    assert top["baseline_ms"] == pytest.approx(baseline_retrieve)
    assert top["added_ms"] == pytest.approx(200.0 - baseline_retrieve)
    assert top["share"] == pytest.approx(1.0)
    assert len(top["examples"]) == 3
    assert all(e.startswith("s") for e in top["examples"])


def test_attribution_compares_with_traces_of_the_same_root(
    attribution: tuple[pl.DataFrame, int, float],
) -> None:
    table, _, _ = attribution
    by_operation = {r["operation"]: r for r in table.iter_rows(named=True)}
    # Embed traces have another root: their operations are not "removed time".
    assert set(by_operation) == {"api: chat", "rag: retrieve", "llm: generate"}
    assert by_operation["llm: generate"]["added_ms"] == pytest.approx(0.0, abs=1e-9)
    assert by_operation["api: chat"]["target_ms"] == pytest.approx(10.0)
    assert by_operation["api: chat"]["added_ms"] == pytest.approx(0.0, abs=1e-9)
    assert table["added_ms"].to_list() == sorted(table["added_ms"].to_list(), reverse=True)


def test_attribution_without_slow_traces_or_spans() -> None:
    baseline = frame([r for i in range(10) for r in chat_trace(f"b{i}", 20, 50, i)])
    fast = frame([r for i in range(10) for r in chat_trace(f"t{i}", 10, 50, 100 + i)])
    table, slow, threshold = latency_attribution(fast, baseline)
    assert (table.height, slow) == (0, 0)
    assert threshold == pytest.approx(80.0)
    table, slow, threshold = latency_attribution(fast, baseline.head(0))
    assert (table.height, slow, threshold) == (0, 0, 0.0)
