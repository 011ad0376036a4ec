"""Benchmark the TUI headless: first paint of the trace list, and a 10,000-span waterfall.

    python benchmarks/bench_tui.py [--store /tmp/pyflare-bench-rca-1000000] [--repeats 5]

List: from starting the app to the first page of traces on screen, on a big store (make
one with ``pyflare demo --spans 1000000 --store DIR``); each run is a new app, so nothing
is cached between runs except by the operating system. Waterfall: a synthetic trace of
``--spans`` spans (tests/tui/tui_support.py) is timed in three ways: building the model
(tree and critical path, the analysis calls), drawing one 200x60 screen of rows, and
opening it in the app from a store until it is painted. Figures are medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tui"))

from textual.pilot import Pilot  # noqa: E402
from tui_support import synthetic_trace, write_spans  # noqa: E402

from pyflare_cli.config.file import Config  # noqa: E402
from pyflare_cli.store.scan import scan_spans  # noqa: E402
from pyflare_cli.tui import PyflareApp, create_app  # noqa: E402
from pyflare_cli.tui.model.waterfall import WaterfallModel  # noqa: E402
from pyflare_cli.tui.screens.trace_list import TraceListScreen  # noqa: E402
from pyflare_cli.tui.screens.waterfall import WaterfallScreen  # noqa: E402
from pyflare_cli.tui.widgets.waterfall_rows import RowPainter  # noqa: E402
from pyflare_cli.tui.widgets.waterfall_view import WaterfallView  # noqa: E402

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


async def until(pilot: Pilot[Any], done: Callable[[], bool], limit: float = 120.0) -> None:
    deadline = time.perf_counter() + limit
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await pilot.pause(0.005)
    await pilot.pause()  # one more refresh: the rows are painted


def list_table_rows(app: PyflareApp) -> int:
    screen = app.screen
    return screen.table.row_count if isinstance(screen, TraceListScreen) else 0


async def time_list(store: Path, size: tuple[int, int]) -> tuple[float, float]:
    """(first frame, first page of traces painted) in seconds from starting the app."""
    start = time.perf_counter()
    app = create_app(store, now=NOW, config=Config())
    async with app.run_test(size=size) as pilot:
        frame = time.perf_counter() - start
        await until(pilot, lambda: list_table_rows(app) > 0)
        rows = time.perf_counter() - start
        await app.workers.wait_for_complete()
    return frame, rows


def waterfall_view(app: PyflareApp) -> WaterfallView | None:
    screen = app.screen
    if isinstance(screen, WaterfallScreen) and screen.model is not None:
        return screen.query_one(WaterfallView)
    return None


async def time_open(store: Path, trace_id: str) -> tuple[float, float]:
    """(waterfall painted, one page down redrawn) in seconds.

    The page-down figure is the widget's own work (move, then every line of the screen
    drawn with its row cache cold), without the test pilot's frame waits.
    """
    start = time.perf_counter()
    app = create_app(store, trace_id=trace_id, now=NOW, config=Config())
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: waterfall_view(app) is not None)
        opened = time.perf_counter() - start
        view = waterfall_view(app)
        assert view is not None
        pages = []
        for _ in range(5):
            begin = time.perf_counter()
            view.action_page(1)
            for y in range(view.size.height):
                view.render_line(y)
            pages.append(time.perf_counter() - begin)
        await app.workers.wait_for_complete()
    return opened, statistics.median(pages)


def draw_screen(model: WaterfallModel, width: int, height: int) -> None:
    painter = RowPainter(model)
    painter.ruler(width)
    for ni in model.visible[:height]:
        painter.row(ni, width)


def median_ms(values: list[float]) -> str:
    ms = statistics.median(values) * 1000
    return f"{ms:,.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/pyflare-bench-rca-1000000"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--spans", type=int, default=10_000)
    args = parser.parse_args()

    if args.store.exists():
        spans = scan_spans(args.store).select("trace_id").collect().height
        print(f"list: store {args.store} with {spans:,} spans, app at 120x40")
        runs = [asyncio.run(time_list(args.store, (120, 40))) for _ in range(args.repeats)]
        print(f"  first frame (loading)       {median_ms([r[0] for r in runs])}")
        print(f"  first page of traces shown  {median_ms([r[1] for r in runs])}")
        print(f"  (runs: {', '.join(f'{r[1] * 1000:.0f}' for r in runs)} ms)")
    else:
        print(f"list: skipped, no store at {args.store}")

    frame = synthetic_trace(args.spans)
    print(f"waterfall: synthetic trace of {frame.height:,} spans")
    builds, draws = [], []
    for _ in range(args.repeats):
        begin = time.perf_counter()
        model = WaterfallModel(frame)
        builds.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        draw_screen(model, 200, 58)
        draws.append(time.perf_counter() - begin)
    print(f"  model (tree, critical path) {median_ms(builds)}")
    print(f"  draw one 200x60 screen      {median_ms(draws)}")
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / ".pyflare"
        write_spans(store, frame, "bench")
        trace_id = str(frame["trace_id"][0])
        runs = [asyncio.run(time_open(store, trace_id)) for _ in range(args.repeats)]
    print(f"  open in the app, painted    {median_ms([r[0] for r in runs])}  (store to screen)")
    print(f"  page down, redrawn          {median_ms([r[1] for r in runs])}")


if __name__ == "__main__":
    main()
