"""Screens reach what they share through PyflareHost, never by importing the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from tui_support import NOW, drive, plain

from pyflare_cli.tui import PyflareApp
from pyflare_cli.tui.colours import ServiceColours
from pyflare_cli.tui.model.data import TraceSource
from pyflare_cli.tui.model.history import QueryHistory
from pyflare_cli.tui.screens.base import PyflareHost, PyflareScreen
from pyflare_cli.tui.screens.help import key_groups

MakeApp = Callable[..., PyflareApp]


class WhereScreen(PyflareScreen[None]):
    """Shows the host's starting query and clock, read through the base class."""

    def compose(self) -> ComposeResult:
        yield Static(f"{self.pyflare.where} at {self.pyflare.now():%H:%M}", id="where")


class FakeHost(App[None]):
    """Not the pyflare app: just the surface screens use."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.source = TraceSource(root, lambda: NOW)
        self.where = "service:api"
        self.follow = False
        self.refresh_seconds = 1.0
        self.export_dir = root
        self.history = QueryHistory()
        self.colours = ServiceColours()
        self.went_back = False

    def now(self) -> datetime:
        return NOW

    def prime_colours(self) -> None:
        pass

    def back(self) -> None:
        self.went_back = True

    def on_mount(self) -> None:
        self.push_screen(WhereScreen())


def test_the_pyflare_app_hosts_its_screens(make_app: MakeApp) -> None:
    async def scenario(pilot: Any) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, PyflareScreen)
        assert isinstance(pilot.app, PyflareHost)
        assert screen.pyflare is pilot.app

    drive(make_app(), scenario)


def test_any_app_offering_the_host_surface_can_run_a_screen(tmp_path: Path) -> None:
    app = FakeHost(tmp_path)

    async def scenario(pilot: Any) -> None:
        assert plain(pilot.app.screen.query_one("#where", Static)).strip() == "service:api at 12:00"

    drive(app, scenario)


def test_a_screen_outside_a_host_says_so() -> None:
    class Bare(App[None]):
        def on_mount(self) -> None:
            self.push_screen(PyflareScreen())

    async def main() -> None:
        async with Bare().run_test() as pilot:
            with pytest.raises(TypeError, match="only inside the pyflare app"):
                _ = pilot.app.screen.pyflare  # type: ignore[attr-defined]

    asyncio.run(main())


def test_help_lists_the_keys_of_the_running_app() -> None:
    groups = dict(key_groups([Binding("x", "explode", "Explode")]))
    assert groups["everywhere"][0] == ("x", "Explode")
    assert {"trace list", "waterfall", "span detail", "statistics", "compare"} <= set(groups)
