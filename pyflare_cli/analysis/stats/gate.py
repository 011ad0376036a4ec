"""``pyflare stats --fail-on``: conditions such as ``p95>2s`` or ``error_rate>2%`` checked
against every group of a stats table.

A condition is ``FIGURE OP VALUE``: a figure of :data:`figures.FIGURES` (``cost`` for
``cost_usd``, ``tokens`` for input + output) or its ``_change``; ``OP`` one of ``>``,
``>=``, ``<``, ``<=``; a latency takes a duration (``250ms``, ``2s``), a rate or a change
a percentage (``2%``) or a fraction (``0.02``), cost dollars (``$5`` or ``5``), counts a
number (``1.5k``). A missing figure (no latency, no previous window) cannot be checked
and is reported apart, never taken as a pass.

With ``--every``, a condition on a figure is checked in every bucket (period, or weekday
and hour) of every group: a p95 over the limit in one hour fails though the week's p95
holds. A ``_change`` has no value per bucket and is checked on the whole window.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyflare_cli.analysis.search.time_bounds import parse_duration_ns
from pyflare_cli.analysis.stats.figures import FIGURES, PERCENTILES, WEEKDAYS
from pyflare_cli.errors import UsageError

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
LATENCIES = (*PERCENTILES, "max")
RATES = ("error_rate",)
ALIASES = {"cost": "cost_usd", "latency": "p95"}
_CONDITION = re.compile(r"^\s*([A-Za-z_0-9]+)\s*(>=|<=|>|<)\s*(\S+)\s*$")
_COUNT = re.compile(r"^([0-9]*\.?[0-9]+)([kKM]?)$")
_SCALE = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6}


@dataclass(frozen=True)
class Condition:
    """One ``--fail-on``: ``figure op threshold`` (latencies in nanoseconds)."""

    text: str
    figure: str
    op: str
    threshold: float

    def breached(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.threshold)


@dataclass(frozen=True)
class Breach:
    group: str
    condition: Condition
    value: float | None
    """None: the figure is missing for this group, so the condition could not be checked."""
    bucket: str | None = None
    """The period (``2026-11-20 14:00``) or weekday and hour (``Mon 14:00``) that breached
    with ``--every``; None: the whole window."""


def _figure(name: str) -> str:
    base = name.removesuffix("_change")
    base = ALIASES.get(base, base)
    if base not in (*FIGURES, "tokens"):
        known = ", ".join((*FIGURES, "cost", "tokens"))
        raise UsageError(f"--fail-on: unknown figure {name!r}; use one of {known} (or NAME_change)")
    return base + ("_change" if name.endswith("_change") else "")


def _percent(value: str, text: str) -> float:
    if value.endswith("%"):
        return float(value[:-1]) / 100
    number = float(value)
    if abs(number) > 1:
        raise UsageError(f"--fail-on {text!r}: write a rate as a percentage, e.g. 2%")
    return number


def parse_condition(text: str) -> Condition:
    """``p95>2s`` -> Condition('p95', '>', 2e9); exit 2 with the reason when it is not one."""
    match = _CONDITION.match(text.strip())
    if match is None:
        hint = "write FIGURE>VALUE, e.g. 'p95>2s' or 'error_rate>2%'"
        raise UsageError(f"--fail-on {text!r}: {hint}")
    name, op, value = match.groups()
    figure = _figure(name.lower())
    try:
        if figure.endswith("_change") or figure in RATES:
            threshold = _percent(value, text)
        elif figure in LATENCIES:
            ns = parse_duration_ns(value)
            if ns is None:
                raise UsageError(f"--fail-on {text!r}: a latency needs a unit, e.g. 2s or 250ms")
            threshold = float(ns)
        elif figure == "cost_usd":
            threshold = float(value.removeprefix("$"))
        else:
            count = _COUNT.match(value)
            if count is None:
                raise ValueError(value)
            threshold = float(count[1]) * _SCALE[count[2]]
    except ValueError:
        raise UsageError(f"--fail-on {text!r}: {value!r} is not a number for {figure}") from None
    return Condition(text.strip(), figure, op, threshold)


def group_label(row: dict[str, Any], by: list[str]) -> str:
    """``model=gpt-4o service=api``; ``all`` without groups."""
    if not by:
        return "all"
    return " ".join(f"{name}={'(none)' if row[name] is None else row[name]}" for name in by)


def _value(row: dict[str, Any], figure: str) -> float | None:
    if figure == "tokens":
        return float((row.get("input_tokens") or 0) + (row.get("output_tokens") or 0))
    if figure == "tokens_change":
        before = (row.get("previous_input_tokens") or 0) + (row.get("previous_output_tokens") or 0)
        if before <= 0:
            return None
        return ((row.get("input_tokens") or 0) + (row.get("output_tokens") or 0)) / before - 1
    value = row.get(figure)
    return None if value is None else float(value)


def bucket_label(row: dict[str, Any], every: str) -> str:
    """``2026-11-20 14:00`` (hour), ``2026-11-20`` (day), ``week of 2026-11-16``, ``Mon 14:00``."""
    if every == "weekday-hour":
        return f"{WEEKDAYS[row['weekday'] - 1]} {row['hour']:02d}:00"
    period: datetime = row["period"]
    if every == "hour":
        return period.strftime("%Y-%m-%d %H:00")
    day = period.strftime("%Y-%m-%d")
    return f"week of {day}" if every == "week" else day


def _breaches(
    rows: list[dict[str, Any]], by: list[str], conditions: list[Condition], every: str | None
) -> list[Breach]:
    found = []
    for row in rows:
        bucket = None if every is None else bucket_label(row, every)
        for condition in conditions:
            value = _value(row, condition.figure)
            if value is None or value != value or condition.breached(value):
                found.append(Breach(group_label(row, by), condition, value, bucket))
    return found


def check(
    rows: list[dict[str, Any]],
    by: list[str],
    conditions: list[Condition],
    periods: list[dict[str, Any]] | None = None,
    every: str | None = None,
) -> list[Breach]:
    """Every (group, condition) that is breached or cannot be checked, in table order.

    With ``periods`` (the rows per bucket of ``--every``), conditions on a figure are
    checked per (bucket, group) in bucket order instead, ``_change`` conditions on ``rows``.
    """
    if periods is None or every is None:
        return _breaches(rows, by, conditions, None)
    changes = [c for c in conditions if c.figure.endswith("_change")]
    figures = [c for c in conditions if not c.figure.endswith("_change")]
    return _breaches(rows, by, changes, None) + _breaches(periods, by, figures, every)
