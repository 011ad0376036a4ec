"""The waterfall's geometry, shared by ``pyflare trace show`` and the TUI: columns, guides,
layout, ruler ticks and bar cells."""

from __future__ import annotations

from fractions import Fraction

import pytest
from test_waterfall import chat_trace, frame, span

from pyflare_cli.render.waterfall_geometry import (
    AFTER,
    BEFORE,
    TraceColumns,
    bar,
    clean,
    layout,
    ticks,
)

MS = 1_000_000


def test_columns_follow_the_tree_and_the_critical_path() -> None:
    columns = TraceColumns(chat_trace())
    names = [columns.name[r] for r in columns.rows]
    assert names == ["POST /chat", "search", "embed", "chat", "web_search", "insert", "background"]
    assert columns.t1 - columns.t0 == 1000 * MS
    assert [columns.depth[ni] for ni in range(len(columns))] == [0, 1, 2, 1, 2, 1, 0]
    chat = columns.rows[3]
    assert columns.error[chat] and columns.model[chat] == "gpt-4o"
    assert chat in columns.on_path and columns.segments[chat]
    assert columns.events[columns.rows[1]] == [columns.t0 + 100 * MS]


def test_an_empty_trace_still_has_a_time_range() -> None:
    columns = TraceColumns(frame(span("x", None, 0, 1)).clear())
    assert (len(columns), columns.t0, columns.t1) == (0, 0, 1)


def test_guides_keep_the_innermost_levels() -> None:
    columns = TraceColumns(
        frame(*(span(f"s{i}", f"s{i - 1}" if i else None, i, 99) for i in range(6)))
    )
    assert [columns.guide(ni, 10) for ni in range(3)] == ["", "└─", "  └─"]
    assert columns.guide(5, 10) == "        └─"
    assert columns.guide(5, 2) == "… └─"


def test_layout_splits_the_free_width() -> None:
    half, fifths = layout(113, Fraction(1, 2)), layout(113, Fraction(2, 5))
    assert (half.label, half.bar) == (50, 50) and (fifths.label, fifths.bar) == (40, 60)
    assert layout(400, Fraction(1, 2)).label == 60
    narrow = layout(20, Fraction(1, 2))
    assert narrow.bar == 8 and narrow.bar_start == 12


def test_ticks_are_round_and_fit() -> None:
    labels = [label for _, label in ticks(0, 10_000_000_000, 60, 10)]
    assert labels[:3] == ["0s", "2s", "4s"]
    cells = [cell for cell, _ in ticks(1_000_000, 3_000_000, 40, 10)]
    assert cells == sorted(cells) and all(0 <= c < 40 for c in cells)
    assert [label for _, label in ticks(0, 1000 * MS, 53, 12)] == ["0ms", "250ms", "500ms", "750ms"]


@pytest.mark.parametrize("total", [1, 7, 999, 12_345, 2 * MS, 999 * MS, 61_000 * MS])
@pytest.mark.parametrize("width", [8, 9, 33, 65, 140])
def test_a_whole_trace_ruler_starts_with_a_zero_tick(total: int, width: int) -> None:
    found = ticks(0, total, width, 12)
    assert found[0][0] == 0 and found[0][1].startswith("0")
    ends = [cell + len(label) for cell, label in found]
    assert all(end <= width for end in ends)
    assert all(a < b for a, b in zip(ends, (cell for cell, _ in found[1:]), strict=False))


def test_bars_show_the_span_its_critical_time_and_events() -> None:
    runs = bar(20, 60, (0, 100), 10, [(40, 60)], [30, 500])
    assert runs == [("  ━", False), ("•██", True), ("    ", False)]


def test_bars_outside_the_window_are_arrows() -> None:
    assert bar(0, 10, (50, 100), 5, [], []) == [(BEFORE, True), ("    ", False)]
    assert bar(200, 210, (50, 100), 5, [], []) == [("    ", False), (AFTER, True)]


def test_clean_keeps_a_line_one_line() -> None:
    assert clean("a\nb\tc\x1b[0m") == "a b c [0m"
    assert clean(None) == "" and clean(3) == "3"
