"""The duration-over-time scatter above the trace list, headless: axes, binning, selection.

One dot per listed trace: its start on the x axis, its duration on a log y axis (trace
durations of LLM workloads span milliseconds to minutes). The plot is drawn with braille
characters, two dots wide and four high per terminal cell, so :func:`bin_points` bins
traces to dots and dots to cells: per cell the braille bits, the number of traces and of
failed traces (a cell with an error is drawn red).

A rectangle of cells selected on the plot becomes query terms (:func:`selection_terms`):
``since:``/``until:`` for the time range and ``trace.duration:`` for the duration range, so
the selection is written in the search bar where it can be read and edited, and the list,
the facets and the scatter all follow from the query. ``since:``/``until:`` keep traces
with a span starting in the range (see docs/search.md): a trace that began just before the
range and ran into it is kept too. The bounds are rounded outwards (milliseconds; three
decimals of the duration's unit), so every trace of the rectangle is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

DOTS_X = 2
DOTS_Y = 4
_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""The braille bit of the dot at (row from the top, column) within a cell."""
BRAILLE = 0x2800
MIN_DURATION_NS = 1_000
"""Durations below a microsecond are drawn at a microsecond (the log axis needs > 0)."""
RANGE_FIELDS = ("since", "until", "trace.duration")
"""The fields of the terms a selection writes."""


@dataclass(frozen=True)
class Axes:
    """The plot's scales: time ``t0``..``t1`` (ns since the epoch, UTC) across ``columns``
    cells, log10 of the duration in ns ``lo``..``hi`` up ``rows`` cells."""

    t0: int
    t1: int
    lo: float
    hi: float
    columns: int
    rows: int

    @property
    def dots_x(self) -> int:
        return self.columns * DOTS_X

    @property
    def dots_y(self) -> int:
        return self.rows * DOTS_Y

    def time_at(self, dot: int, *, up: bool = False) -> int:
        """The time (ns) of the left edge of dot column ``dot`` (``dots_x``: the right end),
        rounded down or ``up`` to the nanosecond."""
        scaled = (self.t1 - self.t0) * dot
        return self.t0 + (-(-scaled // self.dots_x) if up else scaled // self.dots_x)

    def duration_at(self, dot: int) -> float:
        """The duration (ns) of the lower edge of dot row ``dot`` counted from the bottom."""
        return float(10 ** (self.lo + (self.hi - self.lo) * dot / self.dots_y))


def axes_for(points: pl.DataFrame, columns: int, rows: int) -> Axes | None:
    """Scales that hold every point (``start_time``, ``duration_ns``); None without any."""
    if points.height == 0 or columns < 1 or rows < 1:
        return None
    starts = points.get_column("start_time").dt.epoch("ns")
    durations = points.get_column("duration_ns").fill_null(0).clip(MIN_DURATION_NS)
    t0, t1 = int(starts.min()), int(starts.max())  # type: ignore[arg-type]
    if t1 <= t0:  # one instant: a second either side
        t0, t1 = t0 - 1_000_000_000, t1 + 1_000_000_000
    lo = math.log10(float(durations.min()))  # type: ignore[arg-type]
    hi = math.log10(float(durations.max()))  # type: ignore[arg-type]
    if hi - lo < 0.5:  # one duration (or nearly): half a decade around it
        middle = (lo + hi) / 2
        lo, hi = middle - 0.25, middle + 0.25
    # The last point lands inside the last dot, not on the edge past it.
    t1 += max(1, (t1 - t0) // (columns * DOTS_X * 1000))
    hi += (hi - lo) / (rows * DOTS_Y * 1000)
    return Axes(t0, t1, lo, hi, columns, rows)


def dots(points: pl.LazyFrame | pl.DataFrame, axes: Axes) -> pl.LazyFrame:
    """Each point's dot: ``x`` from the left, ``y`` from the bottom (and its columns)."""
    start = pl.col("start_time").dt.epoch("ns")
    duration = pl.col("duration_ns").fill_null(0).clip(MIN_DURATION_NS).cast(pl.Float64)
    x = ((start - axes.t0).cast(pl.Float64) * axes.dots_x / (axes.t1 - axes.t0)).floor()
    y = ((duration.log10() - axes.lo) * axes.dots_y / (axes.hi - axes.lo)).floor()
    return points.lazy().with_columns(
        x.clip(0, axes.dots_x - 1).cast(pl.Int32).alias("x"),
        y.clip(0, axes.dots_y - 1).cast(pl.Int32).alias("y"),
    )


def bin_points(points: pl.DataFrame, axes: Axes) -> pl.DataFrame:
    """Per cell with a point: ``column``, ``row`` (from the top), ``bits`` (braille),
    ``traces`` and ``errors`` (traces with an error span)."""
    top = axes.dots_y - 1 - pl.col("y")
    bit = pl.lit(0, pl.Int32)
    for r, pair in enumerate(_BITS):
        for c, value in enumerate(pair):
            at = (top % DOTS_Y == r) & (pl.col("x") % DOTS_X == c)
            bit = pl.when(at).then(pl.lit(value, pl.Int32)).otherwise(bit)
    failed = pl.col("errors").fill_null(0) > 0 if "errors" in points.columns else pl.lit(False)
    per_dot = (
        dots(points, axes)
        .with_columns(
            (pl.col("x") // DOTS_X).alias("column"),
            (top // DOTS_Y).alias("row"),
            bit.alias("bit"),
            failed.alias("failed"),
        )
        .group_by("column", "row", "bit")
        .agg(pl.len().alias("traces"), pl.col("failed").sum().alias("errors"))
    )
    return (
        per_dot.group_by("column", "row")
        .agg(
            pl.col("bit").sum().alias("bits"),
            pl.col("traces").sum().cast(pl.Int64),
            pl.col("errors").sum().cast(pl.Int64),
        )
        .sort("row", "column")
        .collect()
    )


def braille(bits: int) -> str:
    return chr(BRAILLE + bits)


@dataclass(frozen=True)
class Selection:
    """Cells ``column0..column1`` and ``row0..row1`` (rows from the top), both inclusive."""

    column0: int
    column1: int
    row0: int
    row1: int

    @classmethod
    def spanning(cls, a: tuple[int, int], b: tuple[int, int]) -> Selection:
        """The rectangle with corners ``a`` and ``b`` (each ``(column, row)``)."""
        return cls(min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1]))

    def __contains__(self, cell: tuple[int, int]) -> bool:
        return self.column0 <= cell[0] <= self.column1 and self.row0 <= cell[1] <= self.row1


def selected(points: pl.DataFrame, axes: Axes, selection: Selection) -> pl.DataFrame:
    """The points drawn inside ``selection``."""
    top = axes.dots_y - 1 - pl.col("y")
    column, row = pl.col("x") // DOTS_X, top // DOTS_Y
    inside = column.is_between(selection.column0, selection.column1) & row.is_between(
        selection.row0, selection.row1
    )
    return dots(points, axes).filter(inside).drop("x", "y").collect()


def selection_terms(axes: Axes, selection: Selection) -> list[str]:
    """The query terms that keep the traces drawn in ``selection`` (see the module doc).

    A selection as wide as the plot sets no time; as high as the plot, no duration.
    """
    terms: list[str] = []
    if selection.column0 > 0 or selection.column1 < axes.columns - 1:
        start = axes.time_at(selection.column0 * DOTS_X)
        end = axes.time_at((selection.column1 + 1) * DOTS_X, up=True)
        terms.append(f"since:{_instant(start, up=False)}")
        terms.append(f"until:{_instant(end, up=True)}")
    low_row = axes.rows - 1 - selection.row1  # rows from the bottom
    high_row = axes.rows - 1 - selection.row0
    bottom, top = low_row == 0, high_row == axes.rows - 1
    low = duration_text(axes.duration_at(low_row * DOTS_Y), up=False)
    high = duration_text(axes.duration_at((high_row + 1) * DOTS_Y), up=True)
    if not bottom and not top:
        terms.append(f"trace.duration:{low}..{high}")
    elif not bottom:
        terms.append(f"trace.duration:>={low}")
    elif not top:
        terms.append(f"trace.duration:<={high}")
    return terms


def with_range(query: str, previous: list[str], terms: list[str]) -> str:
    """``query`` without the words of the ``previous`` selection, with ``terms``."""
    words = [w for w in query.split() if w not in previous]
    return " ".join([*words, *terms])


_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us"))


def duration_text(ns: float, *, up: bool) -> str:
    """``ns`` as a duration the query language reads, in the largest unit that keeps it at
    or above 1, with three decimals at most, rounded up (``up``) or down."""
    for size, unit in _UNITS:
        if ns >= size or unit == "us":
            value = ns / size
            scaled = math.ceil(value * 1000 - 1e-6) if up else math.floor(value * 1000 + 1e-6)
            text = f"{scaled / 1000:.3f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    raise AssertionError("unreachable")


def _instant(ns: int, *, up: bool) -> str:
    """A UTC time to the millisecond, rounded up or down, as ``since:``/``until:`` read it."""
    millis = -(-ns // 1_000_000) if up else ns // 1_000_000
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def time_label(ns: int, span_ns: int) -> str:
    """A tick label for the time axis: the time of day, with the date when the plot spans
    more than a day (the year too beyond half a year), with seconds below ten minutes."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
    if span_ns > 182 * 86_400 * 10**9:
        return moment.strftime("%Y-%m-%d")
    if span_ns > 86_400 * 10**9:
        return moment.strftime("%m-%d %H:%M")
    if span_ns < 600 * 10**9:
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%H:%M")
