from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal, assert_series_equal

from pyflare_cli.analysis.traces.tree import (
    CriticalSegment,
    breakdown,
    build_tree,
    critical_path,
    find_critical_path,
    self_times,
    span_intervals,
    trace_intervals,
)
from pyflare_cli.schema import POLARS_SCHEMA

T0 = datetime(2025, 1, 1, tzinfo=UTC)
MS = 1_000_000


def span(
    span_id: str, parent: str | None, start_ms: float, end_ms: float, **extra: Any
) -> dict[str, Any]:
    """One canonical span row; times are milliseconds after T0."""
    start = T0 + timedelta(milliseconds=start_ms)
    end = T0 + timedelta(milliseconds=end_ms)
    row: dict[str, Any] = {
        "trace_id": "t" * 32,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": span_id,
        "service_name": "api",
        "status_code": "unset",
        "start_time": start,
        "end_time": end,
        "duration_ns": int((end - start).total_seconds() * 1e9),
    }
    row.update(extra)
    return row


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return pl.DataFrame(
        [{c: row.get(c) for c in columns} for row in rows],
        schema={c: POLARS_SCHEMA[c] for c in columns},
        orient="row",
    )


def ms(*values: float) -> pl.Series:
    return pl.Series("self_time_ns", [int(v * MS) for v in values], dtype=pl.Int64)


def seg(span_id: str, row: int, start_ms: float, end_ms: float) -> CriticalSegment:
    base = int(T0.timestamp()) * 1_000_000_000
    return CriticalSegment(span_id, row, base + int(start_ms * MS), base + int(end_ms * MS))


def test_simple_chain() -> None:
    spans = frame(span("c", "b", 20, 30), span("a", None, 0, 100), span("b", "a", 10, 60))
    tree = build_tree(spans)
    assert tree.rows == [1, 2, 0]
    assert [n.span_id for n in tree.nodes] == ["a", "b", "c"]
    assert [n.depth for n in tree.nodes] == [0, 1, 2]
    assert [n.parent for n in tree.nodes] == [None, 0, 1]
    assert [n.children for n in tree.nodes] == [(1,), (2,), ()]
    assert tree.roots == (0,)
    assert tree.node_of_row == (2, 0, 1)
    assert not any(n.is_orphan or n.is_duplicate for n in tree.nodes)
    assert critical_path(tree, spans) == ["a", "b", "c"]
    assert list(find_critical_path(tree, spans).segments) == [
        seg("a", 1, 0, 10),
        seg("b", 2, 10, 20),
        seg("c", 0, 20, 30),
        seg("b", 2, 30, 60),
        seg("a", 1, 60, 100),
    ]
    assert_series_equal(self_times(tree, spans), ms(10, 50, 40))


def test_parallel_children_take_the_last_finisher() -> None:
    spans = frame(
        span("root", None, 0, 100),
        span("fast", "root", 10, 50),
        span("slow", "root", 10, 80),
    )
    tree = build_tree(spans)
    assert [n.span_id for n in tree.nodes] == ["root", "fast", "slow"]
    assert critical_path(tree, spans) == ["root", "slow"]
    assert list(find_critical_path(tree, spans).segments) == [
        seg("root", 0, 0, 10),
        seg("slow", 2, 10, 80),
        seg("root", 0, 80, 100),
    ]
    assert_series_equal(self_times(tree, spans), ms(30, 40, 70))


def test_sequential_children_all_on_the_path() -> None:
    spans = frame(
        span("root", None, 0, 100),
        span("b", "root", 30, 90),
        span("a", "root", 0, 30),
        span("early", "root", 2, 20),
    )
    tree = build_tree(spans)
    assert [n.span_id for n in tree.nodes] == ["root", "a", "early", "b"]
    assert critical_path(tree, spans) == ["root", "a", "b"]
    assert list(find_critical_path(tree, spans).segments) == [
        seg("a", 2, 0, 30),
        seg("b", 1, 30, 90),
        seg("root", 0, 90, 100),
    ]


def test_children_are_clipped_to_their_parent() -> None:
    spans = frame(
        span("root", None, 0, 100),
        span("overrun", "root", 50, 140),
        span("after", "root", 120, 130),
    )
    tree = build_tree(spans)
    assert critical_path(tree, spans) == ["root", "overrun"]
    assert list(find_critical_path(tree, spans).segments) == [
        seg("root", 0, 0, 50),
        seg("overrun", 1, 50, 100),
    ]


def test_self_time_counts_overlapping_children_once() -> None:
    spans = frame(
        span("root", None, 0, 100),
        span("a", "root", 10, 50),
        span("b", "root", 30, 70),
        span("inner", "b", 35, 40),
        span("c", "root", 90, 120),
        span("covered", None, 200, 210),
        span("whole", "covered", 190, 220),
    )
    tree = build_tree(spans)
    # root: children cover [10, 70] and [90, 100]; c is clipped at root's end.
    assert_series_equal(self_times(tree, spans), ms(30, 40, 35, 5, 30, 0, 30))


def test_orphan_becomes_a_flagged_root() -> None:
    spans = frame(
        span("root", None, 0, 100),
        span("lost", "missing", 50, 60),
        span("kid", "lost", 52, 55),
        span("a", "root", 10, 20),
    )
    tree = build_tree(spans)
    assert [n.span_id for n in tree.nodes] == ["root", "a", "lost", "kid"]
    assert [n.is_orphan for n in tree.nodes] == [False, False, True, False]
    assert tree.roots == (0, 2)
    assert [n.depth for n in tree.nodes] == [0, 1, 0, 1]
    assert critical_path(tree, spans) == ["root", "a"]


def test_multiple_roots_path_follows_the_longest() -> None:
    spans = frame(
        span("short", None, 0, 10),
        span("long", None, 5, 500),
        span("x", "short", 1, 9),
        span("y", "long", 100, 400),
    )
    tree = build_tree(spans)
    assert [n.span_id for n in tree.nodes] == ["short", "x", "long", "y"]
    assert tree.roots == (0, 2)
    assert critical_path(tree, spans) == ["long", "y"]


def test_duplicate_ids_do_not_crash() -> None:
    spans = frame(
        span("root", None, 0, 100),
        span("b", "root", 10, 50),
        span("b", "root", 20, 60),
        span("c", "b", 12, 30),
    )
    tree = build_tree(spans)
    assert [(n.row, n.depth) for n in tree.nodes] == [(0, 0), (1, 1), (3, 2), (2, 1)]
    assert [n.is_duplicate for n in tree.nodes] == [False, False, False, True]
    # The later "b" (row 2) finishes last; the earlier one ends after it started.
    assert find_critical_path(tree, spans).rows == (0, 2)
    assert len(self_times(tree, spans)) == 4


def test_self_parent_and_cycles_terminate() -> None:
    spans = frame(
        span("root", None, 0, 100),
        span("me", "me", 10, 20),
        span("x", "y", 30, 40),
        span("y", "x", 35, 45),
        span("hang", "x", 32, 33),
    )
    tree = build_tree(spans)
    assert sorted(tree.rows) == [0, 1, 2, 3, 4]
    # The cycle is cut at its earliest-starting span.
    assert [n.span_id for n in tree.nodes] == ["root", "me", "x", "hang", "y"]
    assert [n.is_orphan for n in tree.nodes] == [False, True, True, False, False]
    assert critical_path(tree, spans) == ["root"]
    assert (self_times(tree, spans) >= 0).all()


def test_empty_trace() -> None:
    spans = frame(span("a", None, 0, 1)).clear()
    tree = build_tree(spans)
    assert tree.nodes == ()
    assert critical_path(tree, spans) == []
    assert self_times(tree, spans).len() == 0
    assert breakdown(spans).height == 0


def test_breakdown_by_service_and_operation() -> None:
    spans = frame(
        span("root", None, 0, 100, service_name="api", name="GET /chat"),
        span("llm1", "root", 10, 50, service_name="llm", name="chat", status_code="error"),
        span("llm2", "root", 50, 90, service_name="llm", name="chat"),
        span("db", "root", 90, 95, service_name="db", name="SELECT"),
        span("emb", "llm2", 55, 65, service_name="llm", name="embed"),
    )
    expected = pl.DataFrame(
        {
            "service_name": ["llm", "api", "db"],
            "count": [3, 1, 1],
            "total_ns": [90 * MS, 100 * MS, 5 * MS],
            "self_ns": [80 * MS, 15 * MS, 5 * MS],
            "share": [0.8, 0.15, 0.05],
            "errors": [1, 0, 0],
        }
    )
    assert_frame_equal(breakdown(spans, "service"), expected)

    expected_ops = pl.DataFrame(
        {
            "service_name": ["llm", "api", "llm", "db"],
            "name": ["chat", "GET /chat", "embed", "SELECT"],
            "count": [2, 1, 1, 1],
            "total_ns": [80 * MS, 100 * MS, 10 * MS, 5 * MS],
            "self_ns": [70 * MS, 15 * MS, 10 * MS, 5 * MS],
            "share": [0.7, 0.15, 0.1, 0.05],
            "errors": [1, 0, 0, 0],
        }
    )
    assert_frame_equal(breakdown(spans, "operation"), expected_ops)


def generated_trace(n: int, seed: int = 7) -> pl.DataFrame:
    """A random well-formed trace: every span lies inside its parent."""
    rng = np.random.default_rng(seed)
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    parent = np.full(n, -1)
    end[0] = 10_000 * MS
    for i in range(1, n):
        p = int(rng.integers(0, i))
        parent[i] = p
        length = end[p] - start[p]
        s = start[p] + int(rng.integers(0, max(length, 1)))
        start[i] = s
        end[i] = s + int(rng.integers(0, max(end[p] - s, 1)))
    base = int(T0.timestamp()) * 1_000_000_000
    ids = [f"{i:016x}" for i in range(n)]
    return pl.DataFrame(
        {
            "span_id": ids,
            "parent_span_id": [None if p < 0 else ids[p] for p in parent],
            "service_name": [f"svc{i % 7}" for i in range(n)],
            "name": [f"op{i % 13}" for i in range(n)],
            "start_time": pl.Series(start + base).cast(pl.Datetime("ns", "UTC")),
            "end_time": pl.Series(end + base).cast(pl.Datetime("ns", "UTC")),
        }
    )


def test_ten_thousand_spans() -> None:
    spans = generated_trace(10_000)
    tree = build_tree(spans)
    assert sorted(tree.rows) == list(range(10_000))
    assert tree.roots == (0,)
    path = find_critical_path(tree, spans)
    segments = path.segments
    assert segments[0].start_ns == int(T0.timestamp()) * 1_000_000_000
    assert segments[-1].end_ns - segments[0].start_ns == 10_000 * MS
    assert all(a.end_ns == b.start_ns for a, b in pairwise(segments))
    self_ns = self_times(tree, spans)
    assert (self_ns >= 0).all()
    share = float(breakdown(spans, "operation", self_time=self_ns)["share"].sum())
    assert abs(share - 1.0) < 1e-9


def test_ten_thousand_deep_chain() -> None:
    n = 10_000
    spans = frame(*(span(f"s{i}", f"s{i - 1}" if i else None, i, 2 * n - i) for i in range(n)))
    tree = build_tree(spans)
    assert tree.nodes[-1].depth == n - 1
    assert len(critical_path(tree, spans)) == n
    assert self_times(tree, spans).to_list() == [2 * MS] * (n - 1) + [2 * MS]


def test_intervals_of_many_traces_at_once_equal_one_trace_at_a_time() -> None:
    """:func:`trace_intervals` (one select over every trace) against :func:`span_intervals`
    per trace, on random traces with missing starts and ends (a span with neither sits at
    its own trace's earliest start, not another trace's); the trees and critical paths
    built from either are the same."""
    rng = np.random.default_rng(11)
    traces = []
    for t in range(40):
        spans = generated_trace(int(rng.integers(1, 60)), seed=t)
        shift = pl.duration(milliseconds=int(rng.integers(0, 10**6)))
        spans = spans.with_columns(
            pl.lit(f"trace{t:02d}").alias("trace_id"),
            pl.col("start_time", "end_time") + shift,
        )
        n = spans.height
        drop_start = pl.Series(rng.random(n) < 0.2)
        drop_end = pl.Series(rng.random(n) < 0.2)
        traces.append(
            spans.with_columns(
                pl.when(drop_start).then(None).otherwise(pl.col("start_time")).alias("start_time"),
                pl.when(drop_end).then(None).otherwise(pl.col("end_time")).alias("end_time"),
            )
        )
    every = pl.concat(traces).sample(fraction=1.0, shuffle=True, seed=3).with_row_index("row")
    start, end = trace_intervals(every)
    assert (start <= end).all()
    for (_,), trace in every.group_by("trace_id"):
        rows = trace.get_column("row").to_numpy()
        want_start, want_end = span_intervals(trace)
        np.testing.assert_array_equal(start[rows], want_start)
        np.testing.assert_array_equal(end[rows], want_end)
        intervals = start[rows], end[rows]
        tree = build_tree(trace, intervals)
        assert tree == build_tree(trace)
        assert find_critical_path(tree, trace, intervals) == find_critical_path(tree, trace)
