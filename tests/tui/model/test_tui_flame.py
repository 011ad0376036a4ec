"""The flame graph of a trace: frames nest, widths are subtree self time, siblings with the
same service and name merge, and every span is in exactly one frame."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from tui_support import NOW, synthetic_trace

from pyflare_cli.schema import COLUMNS, POLARS_SCHEMA
from pyflare_cli.tui.model.flame import FlameGraph, line_cells
from pyflare_cli.tui.model.waterfall import WaterfallModel


def span(
    sid: str, parent: str | None, name: str, start_ms: int, end_ms: int, **kw: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row.update(
        trace_id="t" * 32,
        span_id=sid,
        parent_span_id=parent,
        name=name,
        service_name=kw.get("service", "api"),
        start_time=NOW + timedelta(milliseconds=start_ms),
        end_time=NOW + timedelta(milliseconds=end_ms),
        status_code=kw.get("status", "unset"),
        attributes={},
        resource_attributes={},
        events=[],
        links=[],
    )
    return row


def frame_of(graph: FlameGraph, name: str) -> int:
    return next(i for i, f in enumerate(graph.frames) if f.name == name)


def test_small_trace_by_hand() -> None:
    # root 0-100ms; two parallel "SELECT" children 10-60 and 20-70 (merge into one frame),
    # and "llm" 70-95 with an error.
    spans = pl.DataFrame(
        [
            span("a", None, "root", 0, 100),
            span("b", "a", "SELECT", 10, 60, service="db"),
            span("c", "a", "SELECT", 20, 70, service="db"),
            span("d", "a", "llm", 70, 95, status="error"),
        ],
        schema=POLARS_SCHEMA,
    )
    graph = FlameGraph(WaterfallModel(spans))
    ms = 1_000_000
    root, select, llm = (frame_of(graph, n) for n in ("root", "SELECT", "llm"))
    assert len(graph) == 3 and graph.depth == 2
    # root self: 100 - union(10..70, 70..95) = 15ms; selects 50 + 50; llm 25.
    assert graph.frames[root].self_ns == 15 * ms
    assert graph.frames[select].width == 100 * ms and len(graph.frames[select].nodes) == 2
    assert graph.frames[root].width == graph.total == 140 * ms
    assert graph.frames[select].x == 0 and graph.frames[llm].x == 100 * ms
    assert graph.frames[llm].errors == 1
    assert graph.heaviest_child(root) == select
    assert graph.neighbour(select, 1) == llm and graph.neighbour(llm, 1) == llm


@pytest.mark.parametrize("n", [1, 50, 2000])
def test_frames_nest_and_cover_every_span(n: int) -> None:
    model = WaterfallModel(synthetic_trace(n))
    graph = FlameGraph(model)
    assert graph.total == model.self_time().sum()
    assert sorted(ni for f in graph.frames for ni in f.nodes) == list(range(len(model.rows)))
    for index, frame in enumerate(graph.frames):
        assert all(graph.frame_of_node[ni] == index for ni in frame.nodes)
        kids = [graph.frames[c] for c in frame.children]
        assert sum(k.width for k in kids) + frame.self_ns == frame.width
        for kid in kids:
            assert frame.x <= kid.x and kid.x + kid.width <= frame.x + frame.width
            assert kid.depth == frame.depth + 1
        keys = [(k.service, k.name) for k in kids]
        assert len(keys) == len(set(keys))  # like-named siblings merged


def test_frames_narrower_than_a_cell_become_counted_other_marks() -> None:
    # root 0-1000ms with a 900ms child "big" and forty 1ms children with distinct names
    # (no merging), three of them failed: at 20 cells a 1ms frame is 1/50 of a cell.
    rows = [span("root", None, "root", 0, 1000), span("big", "root", "big", 0, 900)]
    rows += [
        span(
            f"s{i:02d}",
            "root",
            f"q{i}",
            900 + 2 * i,
            901 + 2 * i,
            status="error" if i < 3 else "unset",
        )
        for i in range(40)
    ]
    graph = FlameGraph(WaterfallModel(pl.DataFrame(rows, schema=POLARS_SCHEMA)))
    window = (0, graph.total)
    cells = line_cells(graph, 1, window, 20)
    boxes = [c for c in cells if c.frame is not None]
    others = [c for c in cells if c.frame is None]
    assert [graph.frames[c.frame].name for c in boxes if c.frame is not None] == ["big"]
    assert sum(c.hidden for c in others) == 40  # none lost
    assert sum(c.errors for c in others) == 3
    assert all(c.start >= boxes[0].end for c in others)  # beside the box, not under it
    # the cursor's frame always gets a cell, even when narrower than one
    tiny = frame_of(graph, "q7")
    with_cursor = line_cells(graph, 1, window, 20, cursor=tiny)
    assert any(c.frame == tiny and c.end - c.start == 1 for c in with_cursor)
    # zoomed onto the tiny frames they are boxes again
    x = min(graph.frames[frame_of(graph, f"q{i}")].x for i in range(40))
    zoomed = line_cells(graph, 1, (x, graph.total), 200)
    assert sum(1 for c in zoomed if c.frame is not None) == 40
