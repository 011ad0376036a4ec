"""Vega-Lite chart specs to SVG, offline, with vl-convert (Vega's own renderer in an
embedded JavaScript engine: no browser, no network).

Text, axes and legends are drawn in ``currentColor`` on a transparent background, so a
chart follows the page's light or dark colours; the SVG keeps its ``viewBox`` and loses
its fixed size, so it scales with the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pyflare_cli.report.model import Chart

INK = "currentColor"
THEME: dict[str, Any] = {
    "background": None,
    "font": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
    "view": {"stroke": None},
    "axis": {
        "labelColor": INK,
        "titleColor": INK,
        "domainColor": INK,
        "tickColor": INK,
        "gridColor": INK,
        "gridOpacity": 0.15,
        "domainOpacity": 0.5,
        "labelFontSize": 11,
    },
    "legend": {"labelColor": INK, "titleColor": INK, "labelFontSize": 11, "labelLimit": 220},
    "header": {"labelColor": INK, "titleColor": INK, "labelFontSize": 11},
    "title": {"color": INK},
    "range": {
        "category": [
            "#4c78a8",
            "#f58518",
            "#54a24b",
            "#e45756",
            "#72b7b2",
            "#eeca3b",
            "#b279a2",
            "#ff9da6",
            "#9d755d",
            "#bab0ac",
        ]
    },
}
_SIZE = re.compile(r'^<svg([^>]*?) width="[\d.]+" height="[\d.]+"')


class ChartPool:
    """Charts rendered in one background thread while the next sections are built.

    vl-convert (1.9) holds the GIL while it converts (measured: a Python thread ticking
    every 5 ms stops for the whole call), so a chart is drawn beside the main thread only
    while that thread waits in Polars (which releases it); Python work of the main thread
    waits for the chart. The engine takes about 0.4 CPU s to start, then 10-200 ms a
    chart, most of it laying out label text (docs/benchmarks.md). Keys are unique within one
    report; a chart never submitted is rendered when asked for.

    ``start=False``: charts submitted are kept until :meth:`start` (or the first
    :meth:`svg`), so that the engine's memory (about 120 MB once it has drawn a report)
    is not held while the heavy sections run.
    """

    def __init__(self, *, start: bool = True) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="vl-convert")
        self._futures: dict[str, Future[str]] = {}
        self._waiting: list[Chart] = []
        self._started = False
        if start:
            self.start()

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        """Start the engine and render the charts submitted so far; again is a no-op."""
        if self._started:
            return
        self._started = True
        self._pool.submit(_start_engine)
        waiting, self._waiting = self._waiting, []
        self.submit(waiting)

    def submit(self, charts: Iterable[Chart]) -> None:
        for chart in charts:
            if not self._started:
                self._waiting.append(chart)
            elif chart.key not in self._futures:
                self._futures[chart.key] = self._pool.submit(to_svg, chart)

    def svg(self, chart: Chart) -> str:
        self.start()
        future = self._futures.get(chart.key)
        return future.result() if future is not None else to_svg(chart)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _start_engine() -> None:
    import vl_convert

    vl_convert.vegalite_to_svg({"mark": "point", "data": {"values": [{}]}})


def full_spec(chart: Chart) -> dict[str, Any]:
    """The chart's spec with its data and the report's theme."""
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        **chart.spec,
        "data": {"values": chart.rows},
    }
    spec["config"] = THEME
    return spec


def to_svg(chart: Chart) -> str:
    """The chart as an SVG element that scales to its container."""
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(full_spec(chart))
    svg = svg.removeprefix('<?xml version="1.0" encoding="UTF-8"?>').strip()
    # A sparkline stretches to its card; a chart keeps its proportions.
    aspect = "none" if chart.sparkline else "xMinYMin meet"
    return _SIZE.sub(rf'<svg\1 role="img" preserveAspectRatio="{aspect}"', svg, count=1)


def data_json(chart: Chart) -> str:
    """The chart's data as JSON safe inside ``<script type="application/json">``: ``<``,
    ``>`` and ``&`` are escaped so no data string can close the element."""
    text = json.dumps({"title": chart.title, "values": chart.rows}, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
