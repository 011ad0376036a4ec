"""The list fits the terminal it is in, also after a resize: facets hide below 110
columns and return above (unless ``f`` chose), and the columns refit with the cursor kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from tui_support import drive, press, settle

from pyflare_cli.tui import PyflareApp
from pyflare_cli.tui.screens.trace_list import TraceListScreen
from pyflare_cli.tui.widgets.facets import FacetList

MakeApp = Callable[..., PyflareApp]


def test_facets_and_columns_follow_resizes(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, TraceListScreen)
        facets, table = screen.query_one(FacetList), screen.table
        assert facets.display and set(table.widths) >= {"cost", "trace", "models"}
        table.move_cursor(row=7)
        await settle(pilot)
        kept = table.trace_id
        await pilot.resize_terminal(90, 30)
        await settle(pilot)
        assert not facets.display
        assert "trace" in table.widths and "models" not in table.widths
        assert table.trace_id == kept
        await pilot.resize_terminal(160, 45)
        await settle(pilot)
        assert facets.display and "models" in table.widths and table.trace_id == kept
        await press(pilot, "f")  # the user's choice wins over the width
        assert not facets.display
        await pilot.resize_terminal(170, 45)
        await settle(pilot)
        assert not facets.display

    drive(make_app(), scenario, size=(160, 45))
