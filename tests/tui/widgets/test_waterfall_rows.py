"""The TUI's waterfall lines: exact widths, marks, arrows outside the window, clean labels,
and the same marks and bars as the printed waterfall."""

from __future__ import annotations

import polars as pl
import pytest
from rich.cells import cell_len
from tui_support import synthetic_trace

from pyflare_cli.render.waterfall import LABEL_SHARE, Waterfall
from pyflare_cli.render.waterfall_geometry import layout as shared_layout
from pyflare_cli.tui.model.waterfall import WaterfallModel
from pyflare_cli.tui.widgets.waterfall_rows import HEADER_LINES, RowPainter, layout


@pytest.fixture(scope="module")
def spans() -> pl.DataFrame:
    return synthetic_trace(400)


@pytest.fixture
def model(spans: pl.DataFrame) -> WaterfallModel:
    return WaterfallModel(spans)


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


def test_names_with_control_characters_stay_on_their_cells(model: WaterfallModel) -> None:
    """A tab or an escape code in a name would shift or recolour the terminal line."""
    named = model.spans.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("multi\nline\x1b[31m\tname"))
        .otherwise(pl.col("name"))
        .alias("name")
    )
    painter = RowPainter(WaterfallModel(named))
    node = painter.model.tree.node_of_row[1]
    line = "".join(s.text for s in painter.row(node, 120))
    assert "multi line [31m name" in line
    assert line.isprintable() and cell_len(line) == 120


def test_unzoomed_bars_and_marks_match_the_printed_waterfall(
    model: WaterfallModel, spans: pl.DataFrame
) -> None:
    """At equal bar widths, the TUI's marks and bars are those of ``pyflare trace show``."""
    printed = Waterfall(spans)
    width = 120
    bar = shared_layout(width, LABEL_SHARE).bar
    tui_width = next(w for w in range(width, 3 * width) if layout(w).bar == bar)
    painter = RowPainter(model)
    for ni in range(0, len(model), 7):
        tui = "".join(s.text for s in painter.row(ni, tui_width))
        line = printed.row(ni, width).plain
        assert (tui[:2], tui[-bar:]) == (line[:2], line[-bar:])
    assert HEADER_LINES == 2
