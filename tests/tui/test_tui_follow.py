"""``--follow`` keeps its place: it reloads only when the store changed, keeps the loaded
rows and the cursor's trace, marks new traces, and never loses a query typed meanwhile.

The store grows under a real second process (``python -m pyflare_cli ingest``) while the
app follows it, as it does when ``pyflare receive`` or a cron ingest writes beside a user.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from hostile_traces import record
from textual.pilot import Pilot
from tui_support import NOW_ISO, ROOT, drive, settle, synthetic_trace, write_spans

from pyflare_cli.tui import PyflareApp
from pyflare_cli.tui.screens.trace_list import PAGE_SIZE, TraceListScreen

MakeApp = Callable[..., PyflareApp]


def many_traces(root: Path, count: int) -> None:
    """``count`` small traces one minute apart, committed as one source."""
    frames = []
    for i in range(count):
        frame = synthetic_trace(3, seed=i, trace_id=f"{i + 1:032x}")
        frames.append(
            frame.with_columns(
                pl.col("start_time") - timedelta(minutes=i + 1),
                pl.col("end_time") - timedelta(minutes=i + 1),
            )
        )
    write_spans(root, pl.concat(frames), "many")


def ingest_elsewhere(root: Path) -> subprocess.Popen[bytes]:
    """Start ``pyflare ingest`` of one new trace (recorded by the OpenTelemetry SDK, newer
    than every other) in another process."""
    dump = root.parent / "new.pb"
    dump.write_bytes(record(1))
    command = [sys.executable, "-m", "pyflare_cli", "ingest", str(dump), "--store", str(root)]
    return subprocess.Popen(command, env={"PYFLARE_NOW": NOW_ISO, "PATH": ""}, cwd=ROOT)


def listing(pilot: Pilot[Any]) -> TraceListScreen:
    screen = pilot.app.screen
    assert isinstance(screen, TraceListScreen)
    return screen


def test_follow_keeps_rows_and_cursor_while_another_process_ingests(
    make_app: MakeApp, tmp_path: Path
) -> None:
    store = tmp_path / ".pyflare"
    many_traces(store, PAGE_SIZE + 50)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = listing(pilot)
        table = screen.table
        table.move_cursor(row=PAGE_SIZE - 5)  # past the first page: the second one loads
        await settle(pilot)
        assert table.row_count == PAGE_SIZE + 50
        table.move_cursor(row=PAGE_SIZE + 10)
        await settle(pilot)
        kept, row, top = table.trace_id, table.cursor_row, table.scroll_y
        loads = screen.reloads

        for _ in range(3):  # nothing changed: no reload at all
            screen._tick()
            await settle(pilot)
        assert screen.reloads == loads and table.cursor_row == row

        process = ingest_elsewhere(store)
        for _ in range(600):  # follow while the other process works, until its trace is in
            screen._tick()
            await settle(pilot)
            if table.fresh and process.poll() is not None:
                break
        assert process.wait(timeout=120) == 0
        assert len(table.fresh) == 1, "the new trace was not listed"
        assert table.loaded_ids()[0] in table.fresh  # the newest, on top, marked +
        assert screen.total == PAGE_SIZE + 51
        assert table.row_count == PAGE_SIZE + 51  # the loaded rows are kept, plus the new one
        # The cursor stays on its trace, at the same place on screen.
        assert table.trace_id == kept and table.cursor_row == row + 1
        assert table.scroll_y == top + 1
        assert "+1 new" in str(screen.query_one("#list-status").render())
        points = screen.scatter.points  # the scatter follows too: the new trace is a dot
        assert points is not None and points.height == PAGE_SIZE + 51
        assert set(table.fresh) <= set(points["trace_id"])
        loads = screen.reloads
        screen._tick()
        await settle(pilot)
        assert screen.reloads == loads

    drive(make_app(store=store, follow=True, refresh_seconds=3600), scenario, size=(120, 30))


def test_a_query_typed_during_a_follow_reload_is_kept(make_app: MakeApp, tmp_path: Path) -> None:
    store = tmp_path / ".pyflare"
    many_traces(store, 30)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = listing(pilot)
        await pilot.press("slash")
        write_spans(store, synthetic_trace(3, trace_id="f" * 32), "more")
        screen._tick()  # a reload starts while the user types
        await pilot.press(*"trace:0000000000000000000000000000000f")
        await pilot.press("enter")
        await settle(pilot)
        screen._tick()
        await settle(pilot)
        assert screen.bar.value == "trace:0000000000000000000000000000000f"
        assert screen.query_text == screen.bar.value
        assert screen.total == 1 and screen.table.trace_id == f"{15:032x}"

    drive(make_app(store=store, follow=True, refresh_seconds=3600), scenario)


def test_open_waterfall_follows_its_trace_while_another_process_ingests(
    make_app: MakeApp, tmp_path: Path
) -> None:
    """The first 40 spans of a trace are stored; the other 20 arrive from another process
    (``pyflare ingest`` of an OTLP/JSON file) while its waterfall is open and followed."""
    from pyflare_cli.tui.model.export import export_trace
    from pyflare_cli.tui.screens.waterfall import WaterfallScreen

    store = tmp_path / ".pyflare"
    trace = synthetic_trace(60)
    write_spans(store, trace.head(40), "first")
    later = tmp_path / "later.otlp.json"
    export_trace(trace.slice(40), later)
    trace_id = "ab" * 16

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen) and screen.model is not None
        assert len(screen.model) == 40
        view = screen.view
        m = screen.model
        parent = next(ni for ni in range(len(m)) if m.depth[ni] == 1 and m.has_children(ni))
        view.select_node(parent)
        await pilot.press("space", "j")  # fold a span, move on
        await settle(pilot)
        kept = screen.model.tree.nodes[view.node or 0].span_id
        folded = {screen.model.tree.nodes[ni].span_id for ni in screen.model.collapsed}
        assert folded
        for _ in range(3):  # an idle store: nothing reloads
            screen.follow_now()
            await settle(pilot)
        assert len(screen.model) == 40 and screen.new_spans == 0

        command = [sys.executable, "-m", "pyflare_cli", "ingest", str(later), "--store", str(store)]
        process = subprocess.Popen(command, env={"PYFLARE_NOW": NOW_ISO, "PATH": ""}, cwd=ROOT)
        for _ in range(600):
            screen.follow_now()
            await settle(pilot)
            if len(screen.model) == 60 and process.poll() is not None:
                break
        assert process.wait(timeout=120) == 0
        model = screen.model
        assert len(model) == 60 and screen.new_spans == 20
        assert model.tree.nodes[view.node or 0].span_id == kept  # the cursor kept its span
        assert {model.tree.nodes[ni].span_id for ni in model.collapsed} == folded
        status = str(screen.query_one("#wf-status").render())
        assert "● live +20 new" in status
        assert "60 spans" in str(screen.query_one("#wf-title").render())

    app = make_app(store=store, trace_id=trace_id, follow=True, refresh_seconds=3600)
    drive(app, scenario, size=(120, 30))
