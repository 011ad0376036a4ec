"""Data is never markup in the TUI: every screen shows ``[/INST]``, ``[bold]`` and
``[link=...]`` verbatim, from the data (traces recorded by the OpenTelemetry SDK, see
:mod:`hostile_traces`) and from what the user types (queries, trace ids, saved queries).

A string read as markup either crashes the app (``MarkupError``: ``run_test`` re-raises it)
or loses its bracketed part, so every test checks both: the app survives, and the text is
on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_traces import (
    BOLD,
    CLOSE,
    ERROR_MESSAGE,
    LINK,
    MODEL,
    PROMPT,
    ROOT_NAME,
    SERVICE,
    hostile_store,
)
from textual.pilot import Pilot
from textual.widgets import TabbedContent
from tui_support import NOW, drive, press, screen_text, settle

from pyflare_cli.config.file import Config
from pyflare_cli.tui import PyflareApp, create_app
from pyflare_cli.tui.messages import CompareTraces, OpenTrace
from pyflare_cli.tui.screens.compare import CompareScreen
from pyflare_cli.tui.screens.detail import DetailScreen
from pyflare_cli.tui.screens.picker import QueryPicker
from pyflare_cli.tui.screens.stats import StatsScreen
from pyflare_cli.tui.screens.trace_list import TraceListScreen
from pyflare_cli.tui.screens.waterfall import WaterfallScreen

SAVED = {f"llama {CLOSE}": f'text:"{CLOSE}"'}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile_store(tmp_path_factory.mktemp("hostile-tui") / ".pyflare")


@pytest.fixture
def app(store: Path) -> Callable[..., PyflareApp]:
    def make(**options: Any) -> PyflareApp:
        return create_app(store, now=NOW, config=Config(saved_queries=SAVED), **options)

    return make


def squashed(pilot: Pilot[Any]) -> str:
    """The screen without spaces and line ends, for strings that wrap."""
    return "".join(screen_text(pilot).split())


def listing(pilot: Pilot[Any]) -> TraceListScreen:
    screen = pilot.app.screen
    assert isinstance(screen, TraceListScreen)
    return screen


def test_list_facets_and_queries(app: Callable[..., PyflareApp]) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        text = screen_text(pilot)
        assert f"{SERVICE}: {ROOT_NAME}" in text  # the root column
        assert MODEL in text  # models column and model facet
        screen = listing(pilot)
        for query, expect in (
            (f'text:"{CLOSE}"', ROOT_NAME),
            ('text:"[/nothing]"', "No traces match"),
            ("model:[gpt]", "model:[gpt]"),
            (f'name:"{LINK}"', "No traces match"),
        ):
            await press(pilot, "slash")
            screen.bar.set_value(query)
            await press(pilot, "enter")
            assert expect in screen_text(pilot), query
        assert "[/nothing]" in squashed(pilot) or LINK in squashed(pilot)

    drive(app(), scenario, size=(200, 40))


def test_saved_query_names_and_texts(app: Callable[..., PyflareApp]) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "h")
        assert isinstance(pilot.app.screen, QueryPicker)
        text = screen_text(pilot)
        assert f"llama {CLOSE}" in text and f'text:"{CLOSE}"' in text

    drive(app(), scenario)


def test_waterfall_detail_stats(app: Callable[..., PyflareApp]) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "enter")
        assert isinstance(pilot.app.screen, WaterfallScreen)
        text = squashed(pilot)
        for part in (SERVICE, ROOT_NAME, f"tool{BOLD}", "chat[link=https://evil.example]llama"):
            assert "".join(part.split()) in text, part
        await press(pilot, "G")  # the failing tool span: its message in the status line
        assert "".join(ERROR_MESSAGE.split()) in squashed(pilot)
        await press(pilot, "enter")
        assert isinstance(pilot.app.screen, DetailScreen)
        assert "".join(ERROR_MESSAGE.split()) in squashed(pilot)
        for tab in ("2", "3"):
            await press(pilot, tab)
        await press(pilot, "escape", "k", "enter")  # the LLM span
        detail = pilot.app.screen
        assert isinstance(detail, DetailScreen)
        expected = {
            "overview": [MODEL],
            "attributes": [f"attr{LINK}", f"[/]{CLOSE}", f"{BOLD}"],
            "events": [f"retry{CLOSE}", f"at{BOLD}=x{LINK}"],
            "links": [f"why{BOLD}=because{CLOSE}"],
            "text": ["".join(PROMPT.split())],
        }
        for number, (tab, parts) in enumerate(expected.items(), start=1):
            await press(pilot, str(number))
            assert detail.query_one(TabbedContent).active == tab
            text = squashed(pilot)
            for part in parts:
                assert "".join(part.split()) in text, (tab, part)
        await press(pilot, "escape", "t")
        assert isinstance(pilot.app.screen, StatsScreen)
        assert SERVICE in screen_text(pilot)

    drive(app(), scenario, size=(160, 45))


def test_find_in_trace_and_unknown_ids(app: Callable[..., PyflareApp]) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen)
        assert f"no trace id starts with '{CLOSE}'" in screen_text(pilot)

    drive(app(trace_id=CLOSE), scenario)

    async def find(pilot: Pilot[Any]) -> None:
        ids = [str(k.value) for k in listing(pilot).table.rows]
        pilot.app.post_message(OpenTrace(ids[0]))
        await settle(pilot)
        pilot.app.post_message(OpenTrace(ids[0], f"span{BOLD}"))
        await settle(pilot)
        # The warning is a toast; a toast with markup would lose "[bold]" or raise.
        (note,) = list(pilot.app._notifications)
        assert f"span{BOLD}" in note.message and not note.markup
        await press(pilot, "slash")
        pilot.app.screen.query_one("#find-input").value = f'name:"{CLOSE}" OR name:"[x'  # type: ignore[attr-defined]
        await press(pilot, "enter")
        pilot.app.screen.query_one("#find-input").value = f'name:"tool {BOLD}"'  # type: ignore[attr-defined]
        await press(pilot, "enter")
        assert "1 match" in screen_text(pilot)
        pilot.app.post_message(CompareTraces(ids[0], f"[/{CLOSE}"))
        await settle(pilot)
        assert isinstance(pilot.app.screen, CompareScreen)
        assert f"[/{CLOSE}" in screen_text(pilot)
        await press(pilot, "escape")
        pilot.app.post_message(CompareTraces(ids[0], ids[1]))
        await settle(pilot)
        text = screen_text(pilot)
        assert SERVICE in text and f"tool {BOLD}" in text

    drive(app(), find, size=(160, 45))
