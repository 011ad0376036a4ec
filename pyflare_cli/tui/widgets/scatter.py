"""The duration-over-time scatter above the trace list (as on Jaeger's search page).

Draws the headless geometry of :mod:`pyflare_cli.tui.model.scatter` in braille: a header
line, the plot with a log duration axis on the left, and a time axis below. A cell where
at least half the traces failed is red (any error would redden most of a dense plot: 350
of 439 cells on a million spans); the others are brighter the more traces they hold.

A region is selected with the mouse (press, drag, release) or the keys (``D`` focuses the
plot, arrows move, ``space`` anchors a corner, ``enter`` applies). The widget does not
filter anything itself: it posts :class:`TraceScatter.Selected` with the query terms of the
region (shown in its header while selecting), and the list adds them to the search bar.
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl
from rich.console import Group
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from pyflare_cli.render.units import format_duration
from pyflare_cli.render.waterfall_colours import ERROR
from pyflare_cli.tui.model.scatter import (
    DOTS_X,
    DOTS_Y,
    Axes,
    Selection,
    axes_for,
    bin_points,
    braille,
    selected,
    selection_terms,
    time_label,
)

AXIS_WIDTH = 8
"""Cells left of the plot: a duration label and the axis line."""
PLOT_ROWS = 6
HEIGHT = PLOT_ROWS + 2
"""Header, plot, time axis."""


class TraceScatter(Widget, can_focus=True):
    """Each listed trace as a dot: start across, duration (log) up; select to filter."""

    DEFAULT_CSS = f"""
    TraceScatter {{
        height: {HEIGHT};
        padding: 0 1 0 0;
    }}
    TraceScatter:focus {{
        background: $boost;
    }}
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", "←", show=False),
        Binding("right", "move(1, 0)", "→", show=False),
        Binding("up", "move(0, -1)", "↑", show=False),
        Binding("down", "move(0, 1)", "↓", show=False),
        Binding("shift+left", "move(-8, 0)", "←8", show=False),
        Binding("shift+right", "move(8, 0)", "→8", show=False),
        Binding("space", "corner", "Set a corner"),
        Binding("enter", "apply", "Filter to the region"),
        Binding("u", "clear", "Undo filter"),
        Binding("escape", "leave", "Back to list"),
    ]

    class Selected(Message):
        """The user selected a region: ``terms`` keep the traces drawn in it."""

        def __init__(self, terms: list[str]) -> None:
            super().__init__()
            self.terms = terms

    class Cleared(Message):
        """The user asked to drop the terms of the last selection."""

    class Left(Message):
        """Focus goes back to the list."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: pl.DataFrame | None = None
        self.axes: Axes | None = None
        self._cells: pl.DataFrame | None = None
        self.cursor = (0, PLOT_ROWS - 1)
        self.corner: tuple[int, int] | None = None
        self._dragging = False

    # -- data ---------------------------------------------------------------------------

    def set_points(self, points: pl.DataFrame | None) -> None:
        """Draw ``points`` (``start_time``, ``duration_ns``, ``errors`` per trace)."""
        self.points = points
        self.corner = None
        self._layout()
        self.refresh()

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        columns = self.size.width - AXIS_WIDTH - 1
        self.axes = axes_for(self.points, columns, PLOT_ROWS) if self.points is not None else None
        self._cells = (
            bin_points(self.points, self.axes) if self.axes and self.points is not None else None
        )
        if self.axes is not None:
            self.cursor = (min(self.cursor[0], self.axes.columns - 1), self.cursor[1])

    @property
    def selection(self) -> Selection:
        """The anchored rectangle, or the cursor's cell."""
        return Selection.spanning(self.corner or self.cursor, self.cursor)

    def terms(self) -> list[str]:
        return selection_terms(self.axes, self.selection) if self.axes else []

    # -- drawing ------------------------------------------------------------------------

    def render(self) -> Group:
        lines = [self._header()]
        axes, cells = self.axes, self._cells
        if axes is not None and cells is not None:
            lines.extend(self._plot(axes, cells))
            lines.append(self._time_axis(axes))
        for line in lines:
            line.no_wrap, line.overflow = True, "ellipsis"
        return Group(*lines)

    def _plot(self, axes: Axes, cells: pl.DataFrame) -> list[Text]:
        grid: dict[tuple[int, int], tuple[int, int, int]] = {
            (c, r): (b, n, e) for c, r, b, n, e in cells.iter_rows()
        }
        busiest = max((n for _, n, _ in grid.values()), default=1)
        selecting = self.has_focus or self._dragging
        chosen = self.selection
        lines = []
        for row in range(PLOT_ROWS):
            line = Text(self._duration_label(row), style="dim")
            for column in range(axes.columns):
                bits, traces, errors = grid.get((column, row), (0, 0, 0))
                style = _style(traces, errors, busiest)
                if selecting and (column, row) in chosen:
                    style += " on grey35" if (column, row) != self.cursor else " reverse"
                line.append(braille(bits) if bits else " ", style=style.strip() or None)
            lines.append(line)
        return lines

    def _header(self) -> Text:
        if self.points is None:
            return Text("loading the traces…", style="dim")
        if (self.has_focus or self._dragging) and self.axes is not None:
            header = Text("selected ", style="dim")
            header.append(self.describe(), style="bold")
            header.append("  ⏎ filters · esc", style="dim")
            return header
        if self.points.height == 0:
            return Text("no traces to plot", style="dim")
        header = Text(f"{self.points.height:,} traces: duration (log) by start", style="bold")
        header.append("  · D or drag selects · d hides", style="dim")
        return header

    def describe(self) -> str:
        """The selection in words: its times, its durations and how many traces it holds
        (the exact terms go to the search bar, where they can be read and edited)."""
        axes, region = self.axes, self.selection
        assert axes is not None and self.points is not None
        span = axes.t1 - axes.t0
        start = time_label(axes.time_at(region.column0 * DOTS_X), span)
        end = time_label(axes.time_at((region.column1 + 1) * DOTS_X, up=True), span)
        low = axes.duration_at((PLOT_ROWS - 1 - region.row1) * DOTS_Y)
        high = axes.duration_at((PLOT_ROWS - region.row0) * DOTS_Y)
        count = selected(self.points, axes, region).height
        return (
            f"{start} → {end} · {format_duration(int(low))} to {format_duration(int(high))}"
            f" · {count:,} traces"
        )

    def _duration_label(self, row: int) -> str:
        axes = self.axes
        assert axes is not None
        if row in (0, PLOT_ROWS // 2, PLOT_ROWS - 1):
            dot = (PLOT_ROWS - row) * 4 if row == 0 else (PLOT_ROWS - 1 - row) * 4
            label = format_duration(int(axes.duration_at(dot)))
            return f"{label:>{AXIS_WIDTH - 1}}┤"
        return " " * (AXIS_WIDTH - 1) + "│"

    def _time_axis(self, axes: Axes) -> Text:
        span = axes.t1 - axes.t0
        first = time_label(axes.t0, span)
        last = time_label(axes.t1, span)
        middle = time_label(axes.t0 + span // 2, span)
        width = axes.columns
        line = [" "] * width
        for at, label in (
            (0, first),
            ((width - len(middle)) // 2, middle),
            (width - len(last), last),
        ):
            if at >= 0 and at + len(label) <= width:
                line[at : at + len(label)] = list(label)
        return Text(" " * (AXIS_WIDTH - 1) + "└" + "".join(line), style="dim")

    # -- keys and mouse -----------------------------------------------------------------

    def action_move(self, columns: int, rows: int) -> None:
        if self.axes is None:
            return
        column = max(0, min(self.axes.columns - 1, self.cursor[0] + columns))
        row = max(0, min(PLOT_ROWS - 1, self.cursor[1] + rows))
        self.cursor = (column, row)
        self.refresh()

    def action_corner(self) -> None:
        self.corner = None if self.corner == self.cursor else self.cursor
        self.refresh()

    def action_apply(self) -> None:
        if self.axes is not None:
            self.post_message(self.Selected(self.terms()))
        self.corner = None

    def action_clear(self) -> None:
        self.corner = None
        self.post_message(self.Cleared())

    def action_leave(self) -> None:
        if self.corner is not None:
            self.corner = None
            self.refresh()
            return
        self.post_message(self.Left())

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def _cell_at(self, event: events.MouseEvent) -> tuple[int, int] | None:
        if self.axes is None:
            return None
        column, row = event.x - AXIS_WIDTH, event.y - 1
        if not (0 <= row < PLOT_ROWS):
            return None
        return max(0, min(self.axes.columns - 1, column)), row

    def on_mouse_down(self, event: events.MouseDown) -> None:
        cell = self._cell_at(event)
        if cell is None:
            return
        self.cursor = self.corner = cell
        self._dragging = True
        self.capture_mouse()
        self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._drag_to(event)

    def _drag_to(self, event: events.MouseEvent) -> None:
        if not self._dragging or self.axes is None:
            return
        column = max(0, min(self.axes.columns - 1, event.x - AXIS_WIDTH))
        row = max(0, min(PLOT_ROWS - 1, event.y - 1))
        self.cursor = (column, row)
        self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if not self._dragging:
            return
        self._drag_to(event)
        self._dragging = False
        self.release_mouse()
        self.action_apply()


def _style(traces: int, errors: int, busiest: int) -> str:
    if not traces:
        return ""
    if errors * 2 >= traces:  # at least half failed (a lone failed trace is red)
        return ERROR
    share = traces / busiest
    return "bold bright_cyan" if share > 0.5 else "cyan" if share > 0.1 else "dark_cyan"
