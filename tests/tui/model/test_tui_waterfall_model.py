"""The waterfall's state and drawing, without a terminal: folding, search, zoom, rows."""

from __future__ import annotations

import polars as pl
import pytest
from rich.cells import cell_len
from tui_support import NOW, synthetic_trace

from pyflare_cli.analysis.traces.tree import breakdown, build_tree, find_critical_path
from pyflare_cli.errors import QuerySyntaxError
from pyflare_cli.tui.model.diff import compare_traces
from pyflare_cli.tui.model.waterfall import WaterfallModel
from pyflare_cli.tui.widgets.waterfall_rows import HEADER_LINES, RowPainter, layout, ticks


@pytest.fixture(scope="module")
def spans() -> pl.DataFrame:
    return synthetic_trace(400)


@pytest.fixture
def model(spans: pl.DataFrame) -> WaterfallModel:
    return WaterfallModel(spans)


def test_model_uses_the_analysis_tree_and_path(model: WaterfallModel, spans: pl.DataFrame) -> None:
    tree = build_tree(spans)
    assert model.rows == tree.rows
    assert model.path.span_ids == find_critical_path(tree, spans).span_ids
    assert model.visible == list(range(len(spans)))
    service = model.breakdown("service")
    assert service.equals(breakdown(spans, "service"))


def test_fold_one_node_a_level_and_all(model: WaterfallModel) -> None:
    root_children = model.tree.nodes[0].children
    first = root_children[0]
    hidden = model.subtree_end[first] - first - 1
    assert model.collapse(first)
    assert len(model.visible) == len(model) - hidden
    assert model.hidden_below(first) == hidden
    assert not model.collapse(first)
    model.toggle(first)
    assert len(model.visible) == len(model)

    model.set_level(1, folded=True)
    assert model.visible == [0, *root_children]
    model.set_level(1, folded=False)
    model.set_all(folded=True)
    assert model.visible == [0]
    model.set_all(folded=False)
    assert len(model.visible) == len(model)


def test_critical_only_and_reveal(model: WaterfallModel) -> None:
    model.set_critical_only(True)
    assert model.visible == model.path_nodes
    off_path = next(ni for ni in range(len(model)) if model.rows[ni] not in model.on_path)
    model.reveal(off_path)
    assert not model.critical_only and model.position(off_path) is not None
    leaf = len(model) - 1
    model.set_all(folded=True)
    model.reveal(leaf)
    assert model.position(leaf) is not None


def test_search_uses_the_query_language(model: WaterfallModel) -> None:
    found = model.search("service:postgres", NOW)
    assert found == len(model.matches) > 0
    assert all(model.service[model.rows[ni]] == "postgres" for ni in model.matches)
    first, last = model.matches[0], model.matches[-1]
    assert model.next_match(first, 1) == model.matches[1]
    assert model.next_match(last, 1) == first  # wraps
    assert model.next_match(first, -1) == last
    with pytest.raises(QuerySyntaxError):
        model.search("servce:x", NOW)
    model.search("", NOW)
    assert model.matches == [] and model.query == ""


def test_zoom_and_pan_stay_inside_the_trace(model: WaterfallModel) -> None:
    full = model.window
    model.zoom(0.25)
    assert model.zoom_level == pytest.approx(4, rel=1e-3)
    model.pan(-10)
    assert model.window[0] == model.t0
    model.pan(10)
    assert model.window[1] == model.t1
    model.zoom_to(5)
    r = model.rows[5]
    assert model.window[0] <= model.start[r] and model.end[r] <= model.window[1]
    model.reset_zoom()
    assert model.window == full


def test_rows_are_exactly_as_wide_as_asked(model: WaterfallModel) -> None:
    painter = RowPainter(model)
    for width in (80, 120, 200):
        for ni in (0, 1, len(model) - 1):
            assert sum(cell_len(s.text) for s in painter.row(ni, width)) == width
        assert [sum(cell_len(s.text) for s in line) for line in painter.ruler(width)] == [
            width,
            width,
        ]
    assert layout(80).bar >= 8 and layout(200).label == 60


def test_rows_mark_errors_path_events_and_llm(model: WaterfallModel) -> None:
    painter = RowPainter(model)

    def text(ni: int) -> str:
        return "".join(s.text for s in painter.row(ni, 160))

    error = next(ni for ni in range(len(model)) if model.error[model.rows[ni]])
    assert text(error).startswith("✖")
    assert text(0)[1] == "◆"  # the root is on the critical path
    llm = next(ni for ni in range(len(model)) if model.model[model.rows[ni]])
    assert model.model[model.rows[llm]] in text(llm) and "→" in text(llm)
    with_event = next(ni for ni in range(len(model)) if model.events[model.rows[ni]])
    assert "•" in text(with_event)
    model.collapse(0)
    assert f"+{len(model) - 1}" in text(0)


def test_spans_outside_the_window_show_an_arrow(model: WaterfallModel) -> None:
    painter = RowPainter(model)
    late = max(range(len(model)), key=lambda ni: model.start[model.rows[ni]])
    width = layout(120).bar

    def bar(ni: int) -> str:
        return "".join(s.text for s in painter.row(ni, 120))[-width:]

    model.zoom(0.001, center=model.t0)
    assert bar(late).strip() == "▸"
    model.pan(1000)
    early = min(range(len(model)), key=lambda ni: model.end[model.rows[ni]])
    assert bar(early).strip() == "◂"


def test_ticks_are_round_and_fit() -> None:
    labels = [label for _, label in ticks(0, 10_000_000_000, 60)]
    assert labels[:3] == ["0s", "2s", "4s"]
    cells = [cell for cell, _ in ticks(1_000_000, 3_000_000, 40)]
    assert cells == sorted(cells) and all(0 <= c < 40 for c in cells)
    assert HEADER_LINES == 2


def test_compare_marks_missing_slower_and_changed() -> None:
    a = synthetic_trace(60, seed=1, trace_id="a" * 32)
    b = synthetic_trace(60, seed=1, trace_id="b" * 32)
    b = b.with_columns(
        pl.when(pl.col("span_id") == "0000000000000002")
        .then(pl.col("end_time") + pl.duration(seconds=5))
        .otherwise(pl.col("end_time"))
        .alias("end_time"),
        pl.when(pl.col("span_id") == "0000000000000003")
        .then(pl.lit("error"))
        .otherwise(pl.col("status_code"))
        .alias("status_code"),
    ).filter(pl.col("span_id") != f"{60:016x}")
    diff = compare_traces(a, b)
    assert diff.count("only_a") == 1 and diff.count("only_b") == 0
    slower = [row for row in diff.rows if row.kind == "slower_b"]
    assert slower and slower[0].a is not None and slower[0].a.span_id == "0000000000000002"
    changed = [row for row in diff.rows if row.changes]
    assert any(key == "status_code" for row in changed for key, _, _ in row.changes)
