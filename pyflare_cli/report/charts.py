"""Vega-Lite specs of the report's charts, as plain dicts (rendered by :mod:`render.report`).

The specs are written as Vega-Lite JSON rather than built with Altair: Altair only builds
this same JSON, and importing it (with jsonschema) and validating each chart cost about
0.3-1 s and 0.1 s per chart of the 5 s a report may take on a million spans. vl-convert
renders the specs; a test renders every kind and checks that each draws its marks.
"""

from __future__ import annotations

from typing import Any

WIDTH = 640
"""Charts are drawn at this width and scale down with the page (the SVG has a viewBox)."""


def _x_time(field: str) -> dict[str, Any]:
    return {"field": field, "type": "temporal", "title": None}


def _colour(field: str, title: str | None = None) -> dict[str, Any]:
    legend = {
        "orient": "bottom",
        "columns": 3,
        "labelLimit": 190,
        "gridAlign": "all",
        "columnPadding": 14,
    }
    return {"field": field, "type": "nominal", "title": title, "legend": legend}


def stacked_bars(x: str, y: str, colour: str, y_title: str, step: str) -> dict[str, Any]:
    """A quantity per period stacked by a group (spend by model), one bar per hour or day."""
    unit = "yearmonthdatehours" if step == "hour" else "yearmonthdate"
    return {
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": x, "type": "temporal", "timeUnit": unit, "title": None},
            "y": {"field": y, "type": "quantitative", "title": y_title, "stack": "zero"},
            "color": _colour(colour),
        },
        "width": WIDTH,
        "height": 200,
    }


def lines(x: str, y: str, colour: str, y_title: str, fmt: str | None = None) -> dict[str, Any]:
    """One line per group over time (latency percentiles by model); ``fmt``: the y axis's
    d3 format, e.g. ``.0%``."""
    axis = {"format": fmt} if fmt else {}
    return {
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": _x_time(x),
            "y": {"field": y, "type": "quantitative", "title": y_title, "axis": axis},
            "color": _colour(colour),
        },
        "width": WIDTH,
        "height": 200,
    }


def bars(category: str, value: str, value_title: str, fmt: str = ",.2f") -> dict[str, Any]:
    """Horizontal bars, largest first, each labelled with its value."""
    y = {"field": category, "type": "nominal", "title": None, "sort": "-x"}
    x = {"field": value, "type": "quantitative", "title": value_title, "axis": {"format": fmt}}
    return {
        "layer": [
            {"mark": "bar", "encoding": {"y": y, "x": x}},
            {
                "mark": {"type": "text", "align": "left", "dx": 3, "color": "currentColor"},
                "encoding": {"y": y, "x": x, "text": {"field": value, "format": fmt}},
            },
        ],
        "width": WIDTH - 140,
    }


def overlaid_histograms(facet: str, order: list[str]) -> dict[str, Any]:
    """Reference vs current distributions, one small panel per feature (``facet``), the
    panels in ``order``."""
    return {
        "facet": {"field": facet, "type": "nominal", "title": None, "sort": order},
        "columns": 3,
        "spec": {
            "mark": {"type": "bar", "opacity": 0.55},
            "encoding": {
                "x": {"field": "bin", "type": "ordinal", "title": None, "axis": {"labels": False}},
                "y": {"field": "share", "type": "quantitative", "title": None, "stack": None},
                "color": {
                    "field": "sample",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": ["reference", "current"]},
                    "legend": {"orient": "bottom"},
                },
            },
            "width": 170,
            "height": 80,
        },
        "resolve": {"scale": {"y": "independent"}},
    }


def sparkline(x: str, y: str) -> dict[str, Any]:
    """A trend without axes, for a headline figure."""
    return {
        "mark": {"type": "area", "line": True, "opacity": 0.3, "interpolate": "monotone"},
        "encoding": {
            "x": {"field": x, "type": "temporal", "axis": None},
            "y": {"field": y, "type": "quantitative", "axis": None, "scale": {"zero": False}},
        },
        "width": 120,
        "height": 28,
        "padding": 0,
    }


def waterfall(rows: int) -> dict[str, Any]:
    """A trace's spans as bars from start to end, in tree order (``order``), coloured by status."""
    # Left-aligned labels, so that the tree's indentation shows.
    axis = {"labelLimit": 250, "labelAlign": "left", "labelPadding": 254}
    y: dict[str, Any] = {"field": "label", "type": "nominal", "title": None, "axis": axis}
    y["sort"] = {"field": "order"}
    return {
        "layer": [
            {
                "mark": {"type": "bar", "height": {"band": 0.7}},
                "encoding": {
                    "y": y,
                    "x": {"field": "start_ms", "type": "quantitative", "title": "ms"},
                    "x2": {"field": "end_ms"},
                    "color": {
                        "field": "status",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": ["ok", "error"], "range": ["#4c78a8", "#e45756"]},
                        "legend": {"orient": "bottom"},
                    },
                },
            },
        ],
        "width": WIDTH - 260,
        "height": max(40, 16 * rows),
    }
