"""Spend budgets: how much of each budget the current period has used, and where it is heading.

``pyflare cost budget`` shows this table and ``pyflare cost check --budget`` fails the gate on
it, so both read the same frame from :func:`evaluate_budgets`. Money stays in integer
micro-dollars (``cost_micros``) from the spans to the comparison with the limit: a budget is
exceeded by one micro-dollar or not at all, whatever the order the spans were summed in.
Unpriced spans (null ``cost_micros``) are counted, never taken as $0, so the user knows the
spend shown is a lower bound.

A budget's period is a calendar day, ISO week (from Monday) or month in its own time zone:
"today" in Paris starts at local midnight, and a local day lasts 23 or 25 hours across a DST
change. The bounds are computed with :mod:`zoneinfo` once per budget; the spans are then
compared with plain UTC instants, so the relational part stays lazy Polars with no Python
per row and pushes the time filter down to the Parquet scan.

Pure (DESIGN.md): frames in, a frame out, no I/O, no clock: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import polars as pl

from pyflare_cli.analysis.cost.pricing import PICO_PER_MICRO
from pyflare_cli.analysis.search.compile import compile_query

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = get_args(Period)
Status = Literal["ok", "warn", "projected", "exceeded"]

MICROS_PER_USD = 1_000_000
RATE_WINDOW = timedelta(days=7)
"""The projection extrapolates the spend rate of this trailing window (see evaluate_budgets)."""

_PERIOD_WORDS: dict[str, str] = {"day": "today", "week": "this week", "month": "this month"}

STATUS_SCHEMA: dict[str, pl.DataType] = {
    "name": pl.String(),
    "scope": pl.String(),
    "period": pl.String(),
    "timezone": pl.String(),
    "period_start": pl.Datetime("us", "UTC"),
    "period_end": pl.Datetime("us", "UTC"),
    "spent_micros": pl.Int64(),
    "spent_usd": pl.Float64(),
    "limit_micros": pl.Int64(),
    "limit_usd": pl.Float64(),
    "warn_at": pl.Float64(),
    "share": pl.Float64(),
    "projected_micros": pl.Int64(),
    "projected_usd": pl.Float64(),
    "unpriced_spans": pl.Int64(),
    "status": pl.String(),
}
"""The columns of :func:`evaluate_budgets`, one row per budget, in configuration order."""


@dataclass(frozen=True)
class Budget:
    """A spending limit over a calendar period, for the spans matching ``where``.

    ``limit_micros`` is the limit in micro-dollars (an integer, like ``cost_micros``);
    ``where`` is a search query (None: every span); ``timezone`` an IANA key that decides
    where days, weeks and months begin.
    """

    name: str
    period: Period
    limit_micros: int
    warn_at: float = 0.8
    where: str | None = None
    timezone: str = "UTC"

    @property
    def limit_usd(self) -> float:
        return self.limit_micros / MICROS_PER_USD


def _aware(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    # fold=0: an ambiguous midnight is its first occurrence, a skipped one the instant the
    # clocks jump, so consecutive periods always meet without gap or overlap.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def period_bounds(
    period: Period, now: datetime, tz: str | tzinfo = UTC
) -> tuple[datetime, datetime]:
    """The period containing ``now`` as ``[start, end)``, aware UTC datetimes.

    Days start at local midnight in ``tz``, weeks on Monday, months on the 1st. A naive
    ``now`` is taken as UTC.

    >>> start, end = period_bounds("day", datetime(2025, 3, 30, 12, tzinfo=UTC), "Europe/Paris")
    >>> start.isoformat(), end - start
    ('2025-03-29T23:00:00+00:00', datetime.timedelta(seconds=82800))
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    today = _aware(now).astimezone(zone).date()
    match period:
        case "day":
            first, following = today, today + timedelta(days=1)
        case "week":
            first = today - timedelta(days=today.weekday())
            following = first + timedelta(days=7)
        case "month":
            first = today.replace(day=1)
            following = (first + timedelta(days=31)).replace(day=1)
        case _:
            raise ValueError(f"unknown period {period!r}; use {', '.join(PERIODS)}")
    return _local_midnight(first, zone), _local_midnight(following, zone)


def _uses_tokens() -> pl.Expr:
    """Spans that report tokens: the only ones a missing price leaves uncounted."""
    names = ("input_tokens", "output_tokens")
    return pl.any_horizontal(pl.col(n).is_not_null() for n in names)


def _between(start: datetime, end: datetime) -> pl.Expr:
    return pl.col("start_time").is_between(pl.lit(start), pl.lit(end), closed="left")


def first_needed(budgets: Sequence[Budget], now: datetime) -> datetime:
    """The earliest span start :func:`evaluate_budgets` reads: periods and the 7-day rate."""
    now = _aware(now).astimezone(UTC)
    starts = [period_bounds(b.period, now, b.timezone)[0] for b in budgets]
    return min([now - RATE_WINDOW, *starts])


def evaluate_budgets(
    spans: pl.LazyFrame,
    budgets: Sequence[Budget],
    now: datetime,
    *,
    history_start: datetime | None = None,
) -> pl.DataFrame:
    """Each budget's spend in its current period, projection and status (:data:`STATUS_SCHEMA`).

    ``spans`` needs ``start_time`` and ``cost_micros`` (Int64, null when unpriced), plus the
    columns the budgets' ``where`` queries use. A query on ``cost`` reads ``cost_usd``, which
    is derived from ``cost_micros`` when absent. Spans of the period that start after ``now``
    (clock skew between hosts) count: a budget never under-counts. Trace-level terms in a
    ``where`` (``trace.cost``, ...) see the spans of the evaluated time range only.

    **Projection.** ``projected = spent + rate * (period_end - now)``, where ``rate`` is the
    scope's spend over the trailing 7 days, ``[now - 7d, now)``, per unit of time, whatever the
    period. Not the elapsed part of the period: at 00:10 on the 1st that is ten minutes, and
    one expensive call would project a breach of a monthly budget; 7 days always hold a whole
    weekly cycle (quiet weekends, busy weekdays), so day, week and month projections are not
    skewed by the weekday or hour they are made at. What the period has already spent is in
    ``spent`` exactly, so a spike today still shows; the rate only assumes the rest of the
    period will look like the last week. When the store holds less than 7 days of spans,
    pass its first instant as ``history_start`` so the rate is taken over that shorter
    history instead of being diluted. Integer arithmetic, rounded down to a micro-dollar.

    **Status**, most severe first: ``exceeded`` (spent > limit), ``projected`` (projected >
    limit), ``warn`` (spent >= warn_at x limit), else ``ok``.
    """
    now = _aware(now).astimezone(UTC)
    if not budgets:
        return pl.DataFrame(schema=STATUS_SCHEMA)
    bounds = [period_bounds(b.period, now, b.timezone) for b in budgets]
    rate_start = now - RATE_WINDOW
    if history_start is not None:
        rate_start = max(rate_start, _aware(history_start).astimezone(UTC))
    rate_start = min(rate_start, now)

    # One scan over the union of the windows; each budget is a few filtered sums on it.
    low = min(rate_start, *(start for start, _ in bounds))
    high = max(end for _, end in bounds)
    frame = spans.filter(_between(low, high))
    if any(b.where for b in budgets) and "cost_usd" not in spans.collect_schema().names():
        frame = frame.with_columns((pl.col("cost_micros") / MICROS_PER_USD).alias("cost_usd"))
    wheres = dict.fromkeys(b.where for b in budgets)  # each distinct scope compiled once
    scopes = {where: f"_scope_{i}" for i, where in enumerate(wheres)}
    frame = frame.with_columns(
        (compile_query(where, now) if where else pl.lit(True)).alias(column)
        for where, column in scopes.items()
    )
    cost = pl.col("cost_micros")
    names = set(frame.collect_schema().names())
    # Pico-dollar costs summed exactly and rounded once, as `pyflare cost` totals them
    # (summing per-span rounded micro-dollars drifts by up to half a micro-dollar a span).
    exact = "cost_pico" if "cost_pico" in names else None
    uses_tokens = _uses_tokens() if {"input_tokens", "output_tokens"} <= names else pl.lit(True)
    aggregates: list[pl.Expr] = []
    for i, (budget, (start, end)) in enumerate(zip(budgets, bounds, strict=True)):
        in_scope = pl.col(scopes[budget.where])
        in_period = in_scope & _between(start, end)
        aggregates += [
            _exact_sum(exact, in_period).alias(f"spent_{i}"),
            (in_period & cost.is_null() & uses_tokens).sum().cast(pl.Int64).alias(f"unpriced_{i}"),
            _exact_sum(exact, in_scope & _between(rate_start, now)).alias(f"recent_{i}"),
        ]
    sums = frame.select(aggregates).collect().row(0, named=True)

    rate_us = (now - rate_start) // timedelta(microseconds=1)
    rows = []
    for i, (budget, (start, end)) in enumerate(zip(budgets, bounds, strict=True)):
        spent, recent = sums[f"spent_{i}"], sums[f"recent_{i}"]
        remaining_us = (end - now) // timedelta(microseconds=1)
        projected = spent + (recent * remaining_us // rate_us if rate_us > 0 else 0)
        rows.append(
            {
                "name": budget.name,
                "scope": budget.where or "all",
                "period": budget.period,
                "timezone": budget.timezone,
                "period_start": start,
                "period_end": end,
                "spent_micros": spent,
                "spent_usd": spent / MICROS_PER_USD,
                "limit_micros": budget.limit_micros,
                "limit_usd": budget.limit_usd,
                "warn_at": budget.warn_at,
                "share": spent / budget.limit_micros,
                "projected_micros": projected,
                "projected_usd": projected / MICROS_PER_USD,
                "unpriced_spans": sums[f"unpriced_{i}"],
                "status": _status(spent, projected, budget),
            }
        )
    return pl.DataFrame(rows, schema=STATUS_SCHEMA, orient="row")


def _exact_sum(pico: str | None, keep: pl.Expr) -> pl.Expr:
    """Micro-dollars of the kept spans: the pico sum rounded once, else the micro sum."""
    if pico is None:
        return pl.col("cost_micros").filter(keep).sum().cast(pl.Int64)
    total = pl.col(pico).filter(keep).cast(pl.Int128).sum()
    return ((total + PICO_PER_MICRO // 2) // PICO_PER_MICRO).cast(pl.Int64)


def _status(spent: int, projected: int, budget: Budget) -> Status:
    if spent > budget.limit_micros:
        return "exceeded"
    if projected > budget.limit_micros:
        return "projected"
    # Decimal, not float: exactly 80% of the limit is at warn_at 0.8.
    if spent >= Decimal(str(budget.warn_at)) * budget.limit_micros:
        return "warn"
    return "ok"


def _usd(micros: int) -> str:
    cents = (Decimal(micros) / MICROS_PER_USD).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"${cents:,}"


def _percent(micros: int, limit: int) -> str:
    return f"{(Decimal(100 * micros) / limit).quantize(Decimal(1), ROUND_HALF_UP)}%"


def _line(row: dict[str, Any]) -> str:
    limit: int = row["limit_micros"]
    when = _PERIOD_WORDS.get(row["period"], f"this {row['period']}")
    match row["status"]:
        case "exceeded" | "projected":
            verb, amount = (
                ("spent", row["spent_micros"])
                if row["status"] == "exceeded"
                else ("on track to spend", row["projected_micros"])
            )
            over = f"+{_usd(amount - limit)}, {_percent(amount, limit)}"
            text = f"{row['name']}: {verb} {_usd(amount)} of {_usd(limit)} ({over}) {when}"
        case _:
            spent: int = row["spent_micros"]
            share = _percent(spent, limit)
            text = f"{row['name']}: spent {_usd(spent)} of {_usd(limit)} ({share}) {when}"
    unpriced: int = row["unpriced_spans"]
    if unpriced:
        text += f"; {unpriced:,} unpriced span{'s' if unpriced != 1 else ''} not counted"
    return text


def breaches(status_frame: pl.DataFrame, statuses: Collection[str] = ("exceeded",)) -> list[str]:
    """One human line per budget whose status is in ``statuses``, in the frame's order.

    The gate fails on ``exceeded``; pass ``("exceeded", "projected")`` to fail early too.

    >>> print(breaches(pl.DataFrame({
    ...     "name": ["gpt-4o-daily"], "period": ["day"], "spent_micros": [23_100_000],
    ...     "limit_micros": [20_000_000], "projected_micros": [25_000_000],
    ...     "unpriced_spans": [0], "status": ["exceeded"]}))[0])
    gpt-4o-daily: spent $23.10 of $20.00 (+$3.10, 116%) today
    """
    return [_line(row) for row in status_frame.iter_rows(named=True) if row["status"] in statuses]
