"""Controls that say what they do: facet counts that predict the list, completion of the
store's values, a placeholder that is not a filter, Tab to the facets, the waterfall's
legend and a picker that keeps a saved query's name apart from its text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList, Static
from tui_support import FIXTURE_TRACE, drive, plain, press, screen_text

from pyflare_cli.tui import PyflareApp
from pyflare_cli.tui.screens.help import HelpScreen
from pyflare_cli.tui.screens.picker import QueryPicker
from pyflare_cli.tui.screens.trace_list import SEARCH_PLACEHOLDER, TraceListScreen
from pyflare_cli.tui.screens.waterfall import WaterfallScreen
from pyflare_cli.tui.widgets.facets import FacetList
from pyflare_cli.tui.widgets.query_bar import QueryBar, QuerySuggester

MakeApp = Callable[..., PyflareApp]


def list_screen(pilot: Pilot[Any]) -> TraceListScreen:
    screen = pilot.app.screen
    assert isinstance(screen, TraceListScreen)
    return screen


def test_picking_a_facet_lists_as_many_traces_as_it_said(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        facets = screen.query_one(FacetList)
        checked = 0
        for index in range(facets.option_count):
            option = facets.get_option_at_index(index)
            if option.disabled or not option.id:
                continue
            said = int(str(option.prompt).split()[-1].replace(",", ""))
            await press(pilot, "tab")
            assert facets.has_focus
            facets.highlighted = index
            await press(pilot, "enter")
            assert screen.total == said, (option.id, screen.query_text)
            ids = [facets.get_option_at_index(i).id for i in range(facets.option_count)]
            facets.highlighted = ids.index(option.id)
            await press(pilot, "enter")  # again: the term goes, the list is back
            assert screen.query_text == "status:error"
            await press(pilot, "tab")
            assert screen.table.has_focus
            checked += 1
            if checked == 4:
                break
        assert checked == 4

    drive(make_app(where="status:error"), scenario, size=(140, 40))


def test_values_of_the_store_complete_in_the_search_bar(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        bar = list_screen(pilot).query_one(QueryBar)
        suggester = bar.input.suggester
        assert isinstance(suggester, QuerySuggester) and "chat-api" in suggester.values["service"]
        await press(pilot, "slash", *"service:chat-a")
        await pilot.pause(0.2)
        await press(pilot, "right")
        assert bar.value == "service:chat-api"
        await press(pilot, "enter")
        assert list_screen(pilot).total == 1

    drive(make_app(), scenario)


def test_placeholder_is_not_a_filter_and_tab_is_shown(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        text = screen_text(pilot)
        assert "all traces · / to search" in text
        assert SEARCH_PLACEHOLDER.startswith("all traces")
        assert "tab Facets / Search" in " ".join(text.split())  # the footer
        await press(pilot, "question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = " ".join(screen_text(pilot).split())
        assert "tab Facets" in shown and "f Show/hide facets" in shown

    drive(make_app(), scenario, size=(140, 40))


def test_tab_brings_hidden_facets(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        assert screen.has_class("-no-facets")
        await press(pilot, "tab")
        assert not screen.has_class("-no-facets") and screen.query_one(FacetList).has_focus

    drive(make_app(), scenario, size=(90, 30))


def test_waterfall_legend_names_the_marks_it_uses(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        assert isinstance(pilot.app.screen, WaterfallScreen)
        legend = plain(pilot.app.screen.query_one("#wf-legend", Static))
        for words in ("✖ error", "◆ critical path", "• event", "◂ ▸ outside the zoom", "+N"):
            assert words in legend
        await press(pilot, "question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = plain(pilot.app.screen.query_one("#help Static", Static), width=100)
        assert "waterfall marks" in shown and "before / after the zoomed window" in shown

    drive(make_app(trace_id=FIXTURE_TRACE), scenario, size=(120, 60))


def test_picker_shows_names_apart_from_queries(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "slash")
        list_screen(pilot).bar.set_value("service:rag-api")
        await press(pilot, "enter", "h")
        picker = pilot.app.screen
        assert isinstance(picker, QueryPicker)
        options = picker.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts[0] == "saved queries"
        assert "slow errors\n  status:error duration:>1s" in prompts
        assert "recent" in prompts and "service:rag-api" in prompts
        await press(pilot, "end", "enter")
        assert list_screen(pilot).query_text == "service:rag-api"

    drive(make_app(), scenario)
