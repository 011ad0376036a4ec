"""The app driven with Pilot: list, search, sort, facets, open, fold, path, find, detail,
statistics, compare, follow, and errors shown in the app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TabbedContent
from tui_support import (
    FIXTURE_TRACE,
    drive,
    plain,
    press,
    screen_text,
    settle,
    synthetic_trace,
    write_spans,
)

from pyflare_cli.tui import PyflareApp
from pyflare_cli.tui.messages import OpenTrace
from pyflare_cli.tui.screens.compare import CompareScreen
from pyflare_cli.tui.screens.detail import DetailScreen
from pyflare_cli.tui.screens.help import HelpScreen
from pyflare_cli.tui.screens.picker import QueryPicker
from pyflare_cli.tui.screens.stats import StatsScreen
from pyflare_cli.tui.screens.trace_list import TraceListScreen
from pyflare_cli.tui.screens.waterfall import WaterfallScreen
from pyflare_cli.tui.widgets.facets import FacetList
from pyflare_cli.tui.widgets.trace_table import TraceTable
from pyflare_cli.tui.widgets.waterfall_view import WaterfallView

MakeApp = Callable[..., PyflareApp]


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return plain(pilot.app.screen.query_one(selector, Static))


def list_screen(pilot: Pilot[Any]) -> TraceListScreen:
    screen = pilot.app.screen
    assert isinstance(screen, TraceListScreen)
    return screen


async def type_query(pilot: Pilot[Any], query: str) -> None:
    await press(pilot, "slash")
    list_screen(pilot).bar.set_value(query)
    await press(pilot, "enter")


def test_list_loads_a_page_and_more_on_scroll(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        table = screen.query_one(TraceTable)
        assert table.row_count == 200 and screen.total > 200
        assert "200 of" in text_of(pilot, "#list-status")
        table.move_cursor(row=199)
        await settle(pilot)
        assert table.row_count == screen.total

    drive(make_app(), scenario)


def test_sort_by_key_and_by_header_click(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        table = screen.query_one(TraceTable)
        await press(pilot, "s")
        assert screen.sort.column == "root" and not screen.sort.descending
        await press(pilot, "S")
        assert screen.sort.descending
        columns = table.ordered_columns
        at = sum(c.get_render_width(table) for c in columns[: table.get_column_index("duration")])
        await pilot.click(TraceTable, offset=(at + 2, 0))  # the duration header
        await settle(pilot)
        assert screen.sort.column == "duration" and screen.sort.descending
        assert "sort duration ▼" in text_of(pilot, "#list-status")
        first = table.get_row_at(0)
        second = table.get_row_at(1)
        assert first[3].plain and second[3].plain

    drive(make_app(), scenario)


def test_search_filters_and_bad_query_is_shown_inline(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        await type_query(pilot, "status:error")
        assert 0 < screen.total < 100
        assert pilot.app.history.recent[0] == "status:error"
        before = screen.total
        await press(pilot, "slash")
        screen.bar.set_value("service:api modle:x")
        await press(pilot, "enter")
        assert screen.bar.has_class("-invalid")
        error = plain(screen.bar.query_one(".query-error", Static))
        assert "unknown field 'modle' at 1:13" in error and "did you mean 'model'" in error
        assert screen.total == before and screen.query_text == "status:error"

    drive(make_app(), scenario)


def test_bad_where_option_and_empty_store_are_shown_in_the_app(
    make_app: MakeApp, tmp_path: Path
) -> None:
    async def bad_where(pilot: Pilot[Any]) -> None:
        assert list_screen(pilot).bar.has_class("-invalid")
        assert "Fix the search query" in text_of(pilot, "#list-message")

    drive(make_app(where="duration:>fast"), bad_where)

    async def empty(pilot: Pilot[Any]) -> None:
        assert "No spans in the store" in text_of(pilot, "#list-message")
        assert "no traces to plot" in screen_text(pilot)  # the scatter, not "loading"
        await press(pilot, "enter", "s", "c")  # nothing to open, sort or mark: no crash
        await press(pilot, "D", "right", "space", "enter", "u", "escape")  # nor select

    (tmp_path / "empty").mkdir()  # a store that does not exist is exit 2 (read_store)
    drive(make_app(store=tmp_path / "empty"), empty)


def test_facets_toggle_a_query_term(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        facets = screen.query_one(FacetList)
        assert facets.display and facets.option_count > 5
        facets.focus()
        await press(pilot, "down", "enter")  # the first service
        assert screen.query_text.startswith("service:")
        assert "✓" in str(facets.get_option_at_index(1).prompt)
        await press(pilot, "enter")
        assert screen.query_text == ""

    drive(make_app(), scenario, size=(140, 40))


def test_saved_queries_picker(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "h")
        assert isinstance(pilot.app.screen, QueryPicker)
        await press(pilot, "enter")
        screen = list_screen(pilot)
        assert screen.query_text == "status:error duration:>1s"

    drive(make_app(), scenario)


def test_open_fold_path_only_and_find(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "enter")
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen) and screen.model is not None
        model, view = screen.model, screen.query_one(WaterfallView)
        n = len(model)
        assert view.has_focus and view.node == 0
        await press(pilot, "space")
        assert model.visible == [0]
        await press(pilot, "space", "j", "j", "left")
        assert 0 < len(model.visible) < n
        await press(pilot, "E")
        assert len(model.visible) == n
        await press(pilot, "p")
        assert model.critical_only and len(model.visible) == len(model.path.rows)
        assert "critical path only" in text_of(pilot, "#wf-status")
        await press(pilot, "p", "plus", "plus")
        assert model.zoom_level > 3.9
        await press(pilot, "0", "slash")
        screen.query_one("#find-input").value = "type:llm"  # type: ignore[attr-defined]
        await press(pilot, "enter")
        assert model.matches and "match" in text_of(pilot, "#find-count")
        assert view.node in model.match_set
        first = view.node
        await press(pilot, "n")
        assert view.node != first or len(model.matches) == 1
        await press(pilot, "N")
        assert view.node == first
        await press(pilot, "escape")
        assert model.query == ""
        await press(pilot, "escape")
        assert isinstance(pilot.app.screen, TraceListScreen)

    drive(make_app(), scenario)


def test_detail_tabs_and_a_link_to_a_missing_trace(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "j", "j", "enter")
        detail = pilot.app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.row["name"] == "execute_tool get_order"
        overview = plain(detail.query_one("#overview Static", Static))
        assert "TimeoutError" in overview and "order service timed out" in overview
        await press(pilot, "3")
        assert detail.query_one(TabbedContent).active == "events"
        await press(pilot, "4", "tab", "enter")
        waterfall = pilot.app.screen
        assert isinstance(waterfall, WaterfallScreen)
        assert waterfall.trace_id == "0af7651916cd43dd8448eb211c80319c"
        assert "no trace id starts with" in text_of(pilot, "#wf-message")

    drive(make_app(trace_id=FIXTURE_TRACE[:10]), scenario)


def test_link_into_the_same_trace_moves_the_cursor(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen) and screen.model is not None
        await press(pilot, "enter")
        pilot.app.screen.post_message(OpenTrace(FIXTURE_TRACE, "eee19b7ec3c1b176"))
        await settle(pilot)
        assert pilot.app.screen is screen
        view = screen.query_one(WaterfallView)
        assert view.node is not None and screen.model.tree.nodes[view.node].span_id.endswith("176")

    drive(make_app(trace_id=FIXTURE_TRACE), scenario)


def test_statistics_and_help(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "t")
        stats = pilot.app.screen
        assert isinstance(stats, StatsScreen)
        table = stats.query_one("#stats", DataTable)
        assert table.row_count == 4  # one per operation of the fixture trace
        assert "chat-api" in str(table.get_row_at(0)[0])
        await press(pilot, "question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        shown = plain(pilot.app.screen.query_one("#help Static", Static))
        for key in ("Path only", "Fold level", "Zoom in", "Next match", "Compare", "Facets"):
            assert key in shown
        await press(pilot, "escape", "escape")
        assert isinstance(pilot.app.screen, WaterfallScreen)

    drive(make_app(trace_id=FIXTURE_TRACE), scenario)


def test_compare_two_traces_from_the_list(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        table = list_screen(pilot).query_one(TraceTable)
        await press(pilot, "c")
        assert table.marked is not None
        await press(pilot, "j", "c")
        screen = pilot.app.screen
        assert isinstance(screen, CompareScreen) and screen.diff is not None
        assert table.marked is None
        kinds = {row.kind for row in screen.diff.rows}
        assert kinds & {"only_a", "only_b", "slower_a", "slower_b", "same"}
        assert "only in" in text_of(pilot, "#cmp-title") or "much slower" in text_of(
            pilot, "#cmp-title"
        )
        await press(pilot, "b")
        assert isinstance(pilot.app.screen, WaterfallScreen)
        assert pilot.app.screen.trace_id == screen.second

    drive(make_app(), scenario)


def test_follow_reloads_and_pauses(make_app: MakeApp, tmp_path: Path) -> None:
    store = tmp_path / ".pyflare"
    write_spans(store, synthetic_trace(5, trace_id="1" * 32), "first")

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = list_screen(pilot)
        assert screen.total == 1 and "● live" in text_of(pilot, "#list-status")
        write_spans(store, synthetic_trace(5, trace_id="2" * 32), "second")
        await press(pilot, "p")
        assert "paused" in text_of(pilot, "#list-status")
        screen._tick()
        await settle(pilot)
        assert screen.total == 1
        await press(pilot, "p")
        screen._tick()
        await settle(pilot)
        assert screen.total == 2

    drive(make_app(store=store, follow=True, refresh_seconds=3600), scenario)


def test_unknown_trace_and_big_trace_open_directly(make_app: MakeApp, big_store: Path) -> None:
    async def unknown(pilot: Pilot[Any]) -> None:
        assert "no trace id starts with 'deadbeef'" in text_of(pilot, "#wf-message")
        await press(pilot, "escape")
        assert isinstance(pilot.app.screen, TraceListScreen)

    drive(make_app(trace_id="deadbeef"), unknown)

    async def big(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen) and screen.model is not None
        view = screen.query_one(WaterfallView)
        drawn: list[int] = []
        painter = view.painter
        assert painter is not None
        original = painter.row

        def counting(ni: int, width: int) -> Any:
            drawn.append(ni)
            return original(ni, width)

        painter.row = counting  # type: ignore[method-assign]
        await press(pilot, "G")
        assert view.node == len(screen.model) - 1
        assert 0 < len(set(drawn)) <= 24  # only the rows on screen are drawn

    drive(make_app(store=big_store, trace_id="abab"), big, size=(80, 24))
