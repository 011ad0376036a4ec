"""SVG snapshots of the main screens at fixed sizes, on the deterministic fixture stores.

Update them after an intended change with ``pytest tests/tui --snapshot-update`` and look
at the SVGs (docs/tui.md shows them) before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_support import FIXTURE_TRACE, press, settle

from pyflare_cli.tui import PyflareApp
from pyflare_cli.tui.messages import CompareTraces
from pyflare_cli.tui.screens.trace_list import TraceListScreen

MakeApp = Callable[..., PyflareApp]
Compare = Callable[..., bool]


def keys(*names: str) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await press(pilot, *names)

    return run


def test_list(snap_compare: Compare, make_app: MakeApp) -> None:
    """The trace list with facets, newest first."""
    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=keys())


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 45)])
def test_list_fits_the_terminal(snap_compare: Compare, make_app: MakeApp, size: Any) -> None:
    """The columns by priority: the trace id always shows, roots and models end in an
    ellipsis; facets beside the list from 110 columns on."""
    assert snap_compare(make_app(), terminal_size=size, run_before=keys())


def test_scatter_selecting(snap_compare: Compare, make_app: MakeApp) -> None:
    """The scatter above the list, a region being selected with the keys: the header says
    its times, durations and traces; enter writes its terms into the search bar."""
    run = keys("D", *["right"] * 12, "up", "space", *["right"] * 25, "up", "up")
    app = make_app(where="since:3d")
    assert snap_compare(app, terminal_size=(120, 36), run_before=run)


def test_scatter_applied_at_100x30(snap_compare: Compare, make_app: MakeApp) -> None:
    """After enter: the selection's terms in the search bar, the list and the plot follow."""
    run = keys("D", *["right"] * 20, "up", "space", *["right"] * 40, "up", "up", "enter")
    assert snap_compare(make_app(where="since:3d"), terminal_size=(100, 30), run_before=run)


def test_scatter_on_demand_at_80x24(snap_compare: Compare, make_app: MakeApp) -> None:
    """Hidden on a small terminal; d shows it."""
    assert snap_compare(make_app(where="since:3d"), terminal_size=(80, 24), run_before=keys("d"))


def test_compare_at_80x24(snap_compare: Compare, make_app: MakeApp) -> None:
    """Compare on a small screen keeps the difference column."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, TraceListScreen)
        first, second = (str(key.value) for key in list(screen.table.rows)[:2])
        pilot.app.post_message(CompareTraces(first, second))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run)


def test_waterfall_and_text_at_80x24(snap_compare: Compare, make_app: MakeApp) -> None:
    """The fixture trace at 80 columns: tree guides aligned."""
    assert snap_compare(make_app(trace_id=FIXTURE_TRACE), terminal_size=(80, 24), run_before=keys())


def test_list_small_sorted_by_duration(snap_compare: Compare, make_app: MakeApp) -> None:
    """At 80x24 the facets hide and the root column gives way; sorted by duration."""
    run = keys("s", "s")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run)


def test_search_error(snap_compare: Compare, make_app: MakeApp) -> None:
    """A bad query: the reason, its position, the hint and the offending token."""
    app = make_app(where="service:rag-api duration:>fast")
    assert snap_compare(app, terminal_size=(100, 24), run_before=keys())


def test_waterfall(snap_compare: Compare, make_app: MakeApp) -> None:
    """The newest demo trace: tree, bars by service, critical path, an LLM row selected."""
    run = keys("enter", "j", "j", "j", "j")
    assert snap_compare(make_app(), terminal_size=(120, 32), run_before=run)


def test_waterfall_find_errors(snap_compare: Compare, make_app: MakeApp) -> None:
    """The fixture trace searched for errors: the rest is dimmed, the match selected."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await press(pilot, "slash")
        pilot.app.screen.query_one("#find-input").value = "status:error"  # type: ignore[attr-defined]
        await press(pilot, "enter")

    app = make_app(trace_id=FIXTURE_TRACE)
    assert snap_compare(app, terminal_size=(100, 20), run_before=run)


def test_waterfall_big_folded_and_zoomed(
    snap_compare: Compare, make_app: MakeApp, big_store: Path
) -> None:
    """2,000 spans at 200x60: level 2 folded (hidden counts, errors kept), zoomed in twice."""
    run = keys("j", "j", "left_square_bracket", "plus", "plus")
    app = make_app(store=big_store, trace_id="abab")
    assert snap_compare(app, terminal_size=(200, 60), run_before=run)


def test_detail_of_an_error_span(snap_compare: Compare, make_app: MakeApp) -> None:
    """Span detail: the error first, then the span and its GenAI fields."""
    run = keys("j", "j", "enter")
    assert snap_compare(make_app(trace_id=FIXTURE_TRACE), terminal_size=(100, 30), run_before=run)


def test_detail_text_pretty_json(snap_compare: Compare, make_app: MakeApp) -> None:
    """The prompt and completion of an LLM span, pretty-printed JSON."""
    run = keys("j", "enter", "5")
    assert snap_compare(make_app(trace_id=FIXTURE_TRACE), terminal_size=(100, 30), run_before=run)


def test_statistics(snap_compare: Compare, make_app: MakeApp) -> None:
    """Per operation: count, total, avg, min, max, self time, share, errors."""
    run = keys("enter", "t")
    assert snap_compare(make_app(), terminal_size=(120, 32), run_before=run)


def test_statistics_by_attribute_at_80x24(snap_compare: Compare, make_app: MakeApp) -> None:
    """The newest demo trace grouped by gen_ai.operation.name, sorted by count."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await press(pilot, "enter", "t", "a")
        pilot.app.screen.query_one("#stats-attr").value = "gen_ai.operation.name"  # type: ignore[attr-defined]
        await press(pilot, "enter", "s", "s", "s", "s")  # self -> share, errors, key, count

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run)


def test_flame_graph(snap_compare: Compare, make_app: MakeApp) -> None:
    """The newest demo trace as a flame graph of self time, an LLM frame selected."""
    run = keys("enter", "j", "j", "j", "j", "f")
    assert snap_compare(make_app(), terminal_size=(120, 32), run_before=run)


def test_flame_graph_big(snap_compare: Compare, make_app: MakeApp, big_store: Path) -> None:
    """2,000 spans: like-named siblings merged (xN), the heaviest path followed down."""
    run = keys("f", "down", "down", "down")
    app = make_app(store=big_store, trace_id="abab")
    assert snap_compare(app, terminal_size=(160, 30), run_before=run)


def test_waterfall_with_detail_pane(snap_compare: Compare, make_app: MakeApp) -> None:
    """The split view: the pane on the right shows the LLM span under the cursor."""
    run = keys("j", "v")
    assert snap_compare(make_app(trace_id=FIXTURE_TRACE), terminal_size=(140, 32), run_before=run)


def test_compare(snap_compare: Compare, make_app: MakeApp) -> None:
    """The two newest demo traces side by side, the root's changed attributes below."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, TraceListScreen)
        first, second = (str(key.value) for key in list(screen.table.rows)[:2])
        pilot.app.post_message(CompareTraces(first, second))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=run)


def test_help(snap_compare: Compare, make_app: MakeApp) -> None:
    """The ? screen lists every key."""
    assert snap_compare(make_app(), terminal_size=(100, 40), run_before=keys("question_mark"))
