"""Figures as the report shows them: dollars, durations, shares, counts and changes.

The report's own copy of the few formats it needs (``render.units`` sits above this
layer); the JSON embedded beside every chart keeps the raw numbers. Shares are
:func:`analysis.figures.share`, the formatter rca's evidence sentences use too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyflare_cli.analysis.figures import share as share
from pyflare_cli.report.model import Tone


def usd(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:,.4f}"


def ms(ns: float | None) -> str:
    """A duration given in nanoseconds."""
    if ns is None or ns != ns:
        return "-"
    millis = ns / 1e6
    if millis >= 10_000:
        return f"{millis / 1000:,.1f} s"
    return f"{millis:,.0f} ms" if millis >= 10 else f"{millis:.1f} ms"


def count(value: float | None) -> str:
    if value is None:
        return "-"
    value = float(value)
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if abs(value) >= size:
            return f"{value / size:,.1f}{suffix}"
    return f"{value:,.0f}"


def change(value: float | None, points: bool = False) -> str:
    """A relative change (``+12%``), or a difference of rates in points (``+1.2 pt``)."""
    if value is None or value != value:
        return "new" if value is None and not points else ""
    if points:
        return f"{value * 100:+.1f} pt"
    return f"{value:+.0%}"


def tone(value: float | None, higher_is_better: bool | None, points: bool = False) -> Tone:
    """Good or bad by the change's sign; neutral when it shows as zero (under 0.5% or
    0.05 points) or when neither direction is better."""
    small = 0.0005 if points else 0.005
    if value is None or value != value or higher_is_better is None or abs(value) < small:
        return "neutral"
    return "good" if (value > 0) == higher_is_better else "bad"


def jsonable(value: Any) -> Any:
    """A cell of a Polars row as JSON: datetimes as ISO text, NaN as null."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def rows_of(frame: Any, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """The rows of a Polars frame as JSON-able dicts (only ``columns`` when given)."""
    chosen = frame.select(columns) if columns else frame
    return [{k: jsonable(v) for k, v in row.items()} for row in chosen.iter_rows(named=True)]
