"""The scatter above the trace list, driven as a user would: it shows on tall terminals,
``d`` toggles it, and a region selected with the keys or a mouse drag becomes query terms
in the search bar that list exactly the traces drawn in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from tui_support import drive, press, screen_text, settle

from pyflare_cli.tui import PyflareApp
from pyflare_cli.tui.model.scatter import selected
from pyflare_cli.tui.screens.trace_list import TraceListScreen
from pyflare_cli.tui.widgets.scatter import AXIS_WIDTH, TraceScatter

MakeApp = Callable[..., PyflareApp]
WHERE = "since:3d"
"""The demo's two days (the fixture trace of the store is older and alone far left)."""


def list_screen(pilot: Pilot[Any]) -> TraceListScreen:
    screen = pilot.app.screen
    assert isinstance(screen, TraceListScreen)
    return screen


def test_shown_on_tall_terminals_and_toggled(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        assert not screen.scatter.display  # 80x24: the list needs the rows
        await press(pilot, "d")
        assert screen.scatter.display
        assert "traces: duration (log) by start" in screen_text(pilot)
        await press(pilot, "d")
        assert not screen.scatter.display
        screen._scatter_shown = None  # back to automatic: follows the terminal's height
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert screen.scatter.display
        await pilot.resize_terminal(100, 24)
        await settle(pilot)
        assert not screen.scatter.display

    drive(make_app(where=WHERE), scenario, size=(80, 24))


def test_keys_select_a_region_into_the_query(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        scatter = screen.scatter
        assert scatter.display and scatter.points is not None and scatter.axes is not None
        total = screen.total
        assert scatter.points.height == total
        await press(pilot, "D")
        assert scatter.has_focus
        await press(pilot, *["right"] * 5, "up", "space", *["right"] * 30, "up", "up")
        axes, region, points = scatter.axes, scatter.selection, scatter.points
        assert (region.column0, region.column1, region.row0, region.row1) == (5, 35, 2, 4)
        terms = scatter.terms()
        expected = set(selected(points, axes, region)["trace_id"])
        assert f"{len(expected)} traces  ⏎ filters" in screen_text(pilot)  # what enter keeps
        await press(pilot, "enter")
        assert screen.query_text == " ".join([WHERE, *terms])
        assert screen.bar.input.value == screen.query_text
        assert screen.table.has_focus
        assert 0 < screen.total < total
        assert set(screen.table.loaded_ids()) == expected
        # u on the plot takes the selection back out of the query
        await press(pilot, "D", "u")
        assert screen.query_text == WHERE and screen.total == total

    drive(make_app(where=WHERE), scenario, size=(120, 36))


def test_a_mouse_drag_selects(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        scatter = screen.scatter
        await pilot.mouse_down(TraceScatter, offset=(AXIS_WIDTH + 40, 2))
        await pilot.hover(TraceScatter, offset=(AXIS_WIDTH + 60, 5))
        region = scatter.selection
        assert (region.column0, region.column1, region.row0, region.row1) == (40, 60, 1, 4)
        assert scatter.axes is not None and scatter.points is not None
        expected = set(selected(scatter.points, scatter.axes, region)["trace_id"])
        terms = scatter.terms()
        await pilot.mouse_up(TraceScatter, offset=(AXIS_WIDTH + 60, 5))
        await settle(pilot)
        assert screen.query_text == " ".join([WHERE, *terms])
        assert set(screen.table.loaded_ids()) == expected
        # a second drag replaces the first selection's terms rather than adding to them
        await pilot.mouse_down(TraceScatter, offset=(AXIS_WIDTH, 1))
        await pilot.mouse_up(TraceScatter, offset=(scatter.region.width - 1, 6))
        await settle(pilot)
        assert screen.query_text == WHERE

    drive(make_app(where=WHERE), scenario, size=(120, 36))
