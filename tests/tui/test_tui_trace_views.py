"""The views of one trace besides the waterfall: the flame graph (f), the detail pane that
follows the cursor (v), statistics grouped and sorted (t), copy ids (y, Y) and the OTLP
export (e), driven with Pilot."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from tui_support import FIXTURE_TRACE, drive, plain, press, screen_text

from pyflare_cli.tui import PyflareApp
from pyflare_cli.tui.screens.detail import DetailScreen
from pyflare_cli.tui.screens.stats import StatsScreen
from pyflare_cli.tui.screens.waterfall import WaterfallScreen
from pyflare_cli.tui.widgets.flame_view import FlameView
from pyflare_cli.tui.widgets.query_bar import QueryBar

MakeApp = Callable[..., PyflareApp]


def waterfall(pilot: Pilot[Any]) -> WaterfallScreen:
    screen = pilot.app.screen
    assert isinstance(screen, WaterfallScreen) and screen.model is not None
    return screen


def test_flame_graph_toggles_and_keeps_the_span(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = waterfall(pilot)
        await press(pilot, "j")  # the LLM call
        await press(pilot, "f")
        flame = screen.query_one(FlameView)
        assert flame.display and flame.has_focus and not screen.view.display
        assert screen.flame is not None
        frame = screen.flame.frames[flame.cursor]
        assert frame.name == "chat gpt-4o"
        status = plain(screen.query_one("#wf-status", Static))
        assert "chat-api: chat gpt-4o" in status and "1 span" in status and "self 1.1s" in status
        text = screen_text(pilot)
        assert "◆POST /chat" in text and "◆execute_tool get_" in text
        assert "width: self time" in text  # the legend says what a box means
        await press(pilot, "right")
        assert screen.flame.frames[flame.cursor].name == "execute_tool get_order"
        await press(pilot, "up")
        assert screen.flame.frames[flame.cursor].name == "POST /chat"
        await press(pilot, "down")  # the heaviest child
        assert screen.flame.frames[flame.cursor].name == "chat gpt-4o"
        await press(pilot, "right", "enter")
        assert isinstance(pilot.app.screen, DetailScreen)
        assert pilot.app.screen.row["name"] == "execute_tool get_order"
        await press(pilot, "escape", "f")
        assert screen.view.display and screen.view.has_focus
        assert screen.model is not None and screen.view.node is not None
        assert screen.model.name[screen.model.rows[screen.view.node]] == "execute_tool get_order"

    drive(make_app(trace_id=FIXTURE_TRACE), scenario, size=(120, 30))


def test_detail_pane_follows_the_cursor(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = waterfall(pilot)
        pane = screen.query_one("#wf-pane")
        assert not pane.display
        await press(pilot, "v")
        assert pane.display and screen.view.has_focus
        shown = plain(screen.query_one("#wf-pane-text", Static), width=60)
        assert "POST /chat" in shown and "http.route" in shown
        await press(pilot, "j")
        shown = plain(screen.query_one("#wf-pane-text", Static), width=60)
        assert "gpt-4o-2024-08-06" in shown and "gen_ai.request.model" in shown
        await press(pilot, "j")
        shown = plain(screen.query_one("#wf-pane-text", Static), width=60)
        assert "✖ error" in shown and "GET /orders/42 timed out" in shown
        await press(pilot, "f", "left")  # the pane follows the flame graph's cursor too
        shown = plain(screen.query_one("#wf-pane-text", Static), width=60)
        assert "chat gpt-4o" in shown
        await press(pilot, "v")
        assert not pane.display

    drive(make_app(trace_id=FIXTURE_TRACE), scenario, size=(140, 30))


def test_copy_ids_and_export(make_app: MakeApp, tmp_path: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        waterfall(pilot)
        await press(pilot, "j", "y")
        assert pilot.app.clipboard == "eee19b7ec3c1b175"
        assert "copied span id eee19b7ec3c1b175" in notes(pilot)
        await press(pilot, "Y")
        assert pilot.app.clipboard == FIXTURE_TRACE
        await press(pilot, "e")
        path = tmp_path / f"trace-{FIXTURE_TRACE}.otlp.json"
        document = json.loads(path.read_text())
        scopes = [ss for rs in document["resourceSpans"] for ss in rs["scopeSpans"]]
        spans = [s for ss in scopes for s in ss["spans"]]
        assert len(spans) == 4 and {s["traceId"] for s in spans} == {FIXTURE_TRACE}
        assert f"exported 4 spans as OTLP/JSON to {path}" in notes(pilot)

    drive(make_app(trace_id=FIXTURE_TRACE, export_dir=tmp_path), scenario, size=(140, 30))


def test_export_to_a_directory_that_is_not_there_says_so(make_app: MakeApp, tmp_path: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "e")
        assert "could not export" in notes(pilot)

    missing = tmp_path / "missing"
    drive(make_app(trace_id=FIXTURE_TRACE, export_dir=missing), scenario, size=(140, 30))


def notes(pilot: Pilot[Any]) -> str:
    """The messages of the notifications on show."""
    return " | ".join(n.message for n in pilot.app._notifications)


def _column(table: DataTable[Any], key: str) -> list[str]:
    return [str(v) for v in table.get_column(key)]


def test_find_in_the_flame_graph(make_app: MakeApp) -> None:
    """/ in the flame graph searches the trace's spans (the waterfall's search): matching
    frames stand out, the others dim, n/N go from match to match, esc clears."""

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = waterfall(pilot)
        await press(pilot, "f")
        assert screen.query_one(FlameView).display
        await press(pilot, "slash")
        assert screen.query_one(FlameView).display
        finder = screen.query_one("#find", QueryBar)
        finder.set_value("execute_tool OR chat")
        await press(pilot, "enter")
        flame = screen.query_one(FlameView)
        graph = screen.flame
        assert graph is not None and flame.display and flame.has_focus
        found = graph.matching()
        names = sorted(str(graph.frames[i].name) for i in found)
        assert names == ["POST /chat", "chat gpt-4o", "execute_tool get_order"]
        assert flame.cursor == found[0]
        assert "match" in plain(screen.query_one("#find-count", Static))
        await press(pilot, "n")
        assert flame.cursor == found[1]
        await press(pilot, "N", "N")
        assert flame.cursor == found[-1]  # wraps around
        drawn = {
            s.text.strip(): s.style
            for depth in range(graph.depth)
            for s in flame.render_line(depth)
            if s.style is not None and s.text.strip()
        }
        lit = {t for t, st in drawn.items() if st.color is None or st.color.name != "grey50"}
        assert sorted(lit) == ["◆POST /chat", "◆chat gpt-4o", "◆execute_tool get_…"]
        assert any(st.color is not None and st.color.name == "grey50" for st in drawn.values())
        await press(pilot, "escape")  # the search goes; the flame graph stays
        assert screen.model is not None and not screen.model.query
        assert flame.display and flame._found is None

    drive(make_app(trace_id=FIXTURE_TRACE), scenario, size=(120, 30))


def test_statistics_group_and_sort(make_app: MakeApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "t")
        stats = pilot.app.screen
        assert isinstance(stats, StatsScreen)
        table = stats.query_one("#stats", DataTable)
        assert stats.view.group == "operation" and table.row_count == 4
        assert _column(table, "operation")[0] == "chat gpt-4o"  # the most self time
        await press(pilot, "g")
        assert stats.view.group == "service" and table.row_count == 1
        assert _column(table, "count") == ["4"] and _column(table, "max_ns") == ["1.5s"]
        await press(pilot, "g", "s")  # operations; self time -> share
        assert stats.view.sort == "share" and stats.view.descending
        await press(pilot, "s", "s")  # errors, then around to the first column
        assert stats.view.sort == "service" and not stats.view.descending
        await press(pilot, "s", "s", "S")  # count, smallest first
        assert stats.view.sort == "count" and not stats.view.descending
        counts = [int(c) for c in _column(table, "count")]
        assert counts == sorted(counts)
        await press(pilot, "a")
        stats.query_one("#stats-attr").value = "gen_ai.operation.name"  # type: ignore[attr-defined]
        await press(pilot, "enter")
        assert stats.view.group == "attr:gen_ai.operation.name"
        groups = sorted(_column(table, "gen_ai.operation.name"))
        assert groups == ["(none)", "chat", "execute_tool"]
        title = plain(stats.query_one("#stats-title", Static))
        assert "by attribute gen_ai.operation.name" in title

    drive(make_app(trace_id=FIXTURE_TRACE), scenario, size=(140, 30))


def test_statistics_fit_80_columns(make_app: MakeApp) -> None:
    """At 80 columns the table does not scroll sideways: the statistics that do not fit
    leave (the title names them), operations end in an ellipsis; wider, all come back."""

    async def scenario(pilot: Pilot[Any]) -> None:
        await press(pilot, "t")
        stats = pilot.app.screen
        assert isinstance(stats, StatsScreen)
        table = stats.query_one("#stats", DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        shown = [str(c.value) for c in table.columns]
        assert shown[:4] == ["service", "operation", "count", "total_ns"]
        assert {"self_ns", "share", "errors"} <= set(shown) and stats.hidden
        title = plain(stats.query_one("#stats-title", Static))
        assert "hidden (narrow)" in title
        await pilot.resize_terminal(200, 30)
        await press(pilot, "g", "g")
        assert stats.hidden == [] and len(table.columns) == 10
        assert table.virtual_size.width <= table.scrollable_content_region.width

    drive(make_app(trace_id=FIXTURE_TRACE), scenario, size=(80, 24))


def test_detail_shows_the_span_s_evaluation_results(make_app: MakeApp, tui_store: Path) -> None:
    from tui_support import NOW

    from pyflare_cli.query.evaluations import load_scores
    from pyflare_cli.query.spans import SpanQuery

    every, _ = load_scores(tui_store, SpanQuery(), NOW)
    first = every.sort("trace_id", "span_id").collect().row(0, named=True)
    trace_id, span_id = first["trace_id"], first["span_id"]
    expected = every.collect().filter(trace_id=trace_id, span_id=span_id)
    assert expected.height >= 1

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = waterfall(pilot)
        assert screen.focus_span(span_id)
        await press(pilot, "enter", "6")
        detail = pilot.app.screen
        assert isinstance(detail, DetailScreen)
        shown = plain(detail.query_one("#scores-text", Static), width=160)
        for row in expected.iter_rows(named=True):
            assert str(row["evaluator"]) in shown and f"{row['score']:.3g}" in shown
            assert str(row["label"]) in shown

    drive(make_app(trace_id=trace_id), scenario, size=(160, 40))
