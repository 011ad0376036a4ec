"""``pyflare stats`` from the store: the window and the one before it, the unit rows of
each, and every frame the report needs, collected together.

The TUI or an alert can ask the same question with the same :class:`StatsRequest`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.stats.figures import (
    stats_table,
    truncated,
    weekday_hour,
    with_change,
)
from pyflare_cli.analysis.stats.units import reads_within, unit_rows
from pyflare_cli.errors import UsageError
from pyflare_cli.query.spans import SpanQuery, load_spans
from pyflare_cli.query.windows import Window, current_window
from pyflare_cli.store.category import AttributeReads

UNIT_NAMES = {
    "llm": "LLM and embedding calls",
    "span": "spans",
    "trace": "traces",
    "call": "calls",
}


@dataclass(frozen=True)
class StatsRequest:
    """What ``pyflare stats`` was asked (``every``: hour, day, week, weekday-hour or None)."""

    by: tuple[str, ...]
    unit: str
    since: str
    until: str | None = None
    where: str | None = None
    every: str | None = None
    tz: str = "UTC"
    series: bool = False
    """Also the per-period figures of every group over the window, for sparklines."""


@dataclass(frozen=True)
class StatsResult:
    request: StatsRequest
    window: Window
    table: pl.DataFrame
    """Per group over the whole window, with ``previous_*`` and ``*_change``."""
    periods: pl.DataFrame | None
    """Per period and group (``--every hour|day|week``) or per weekday and hour."""
    series: pl.DataFrame | None
    step: str

    @property
    def unpriced(self) -> int:
        return int(self.table.get_column("unpriced").sum() or 0)


def sparkline_step(window: Window) -> str:
    """Hours for a window of up to two days, else days."""
    return "hour" if window.length <= timedelta(days=2) else "day"


def _rows(
    root: Path, request: StatsRequest, query: SpanQuery, now: datetime, rules: tuple[PriceRule, ...]
) -> pl.LazyFrame:
    """The unit rows of one window. The ancestry walk (tool and agent) and the trace-wide
    user and session read the window unpriced and unfiltered: pricing puts every span in
    exactly one band (no row added, lost or moved) and ``--where`` keeps whole traces in
    order, so each kept trace's spans are the same, and neither pays for the price join."""
    by = list(request.by)
    # the attributes read are the attr.<key> groups: the store's small map may serve them
    reads = AttributeReads(frozenset(name[5:] for name in by if name.startswith("attr.")))
    spans = load_spans(root, query, now, rules, reads=reads)
    if not reads_within(request.unit, by):
        return unit_rows(spans, request.unit, by)
    within = load_spans(root, SpanQuery(query.since, query.until), now, prices=False, reads=reads)
    # Without --where the two frames hold the same rows in the same order.
    aligned = not (query.where and query.where.strip())
    return unit_rows(spans, request.unit, by, within, aligned)


def load_stats(
    root: Path, request: StatsRequest, now: datetime, rules: tuple[PriceRule, ...] = ()
) -> StatsResult:
    """Every frame of the report in one ``collect_all``; exit 2 on an empty window."""
    window = current_window(request.since, request.until, now)
    by = list(request.by)
    rows, previous = (
        _rows(root, request, SpanQuery(*bounds, request.where), now, rules)
        for bounds in (window.query_bounds, window.previous().query_bounds)
    )
    if request.every is not None or request.series:
        # Several frames group the same rows: collect them once (a few small columns per
        # request), else each frame would read, price and walk the store again.
        # One window after the other: the peak memory is one window's, not both.
        rows, previous = (frame.collect(engine="streaming").lazy() for frame in (rows, previous))
    table = with_change(stats_table(rows, by), stats_table(previous, by), by)
    frames = [table]
    if request.every == "weekday-hour":
        frames.append(weekday_hour(rows, by, request.tz))
    elif request.every is not None:
        frames.append(stats_table(rows, by, truncated(request.every)))
    step = sparkline_step(window)
    if request.series:
        frames.append(stats_table(rows, by, truncated(step)))
    collected = pl.collect_all(frames, engine="streaming")
    result = collected[0].filter(pl.col("requests") > 0)
    if result.is_empty():
        where = f" matching --where {request.where!r}" if request.where else ""
        raise UsageError(
            f"no {UNIT_NAMES[request.unit]}{where} in {window.label()} "
            f"(--unit {request.unit}): nothing to report"
        )
    periods = collected[1] if request.every is not None else None
    series = collected[-1] if request.series else None
    return StatsResult(request, window, result, periods, series, step)
