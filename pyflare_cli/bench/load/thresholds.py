"""Pass/fail gates on a load run: ``p99<50ms``, ``errors<1%``, ``spans_per_s>=20k``.

A load test in CI is only useful as a gate, so a run carries its thresholds and its result
says which held. Expressions are parsed before the run (a typo must not cost a 10-minute
run) and evaluated on a flat mapping of metrics, so this module knows nothing of how the
result is computed. A metric the run could not measure (no acknowledged request, so no
latency) fails its threshold: a gate never passes by default.

Metrics: ``p50 p90 p95 p99 max mean`` ack latency (``us``, ``ms`` default, ``s``); ``errors``
(requests not acknowledged: rejected by status or transport error), ``rejected``,
``transport``, ``partial`` (spans refused in a partial success) and ``behind`` (rate-mode
sends that never started before the end), each as a count or, with ``%``, a percentage of
sent requests (``partial``: of sent spans; ``behind``: of sends due); ``spans_per_s``
(alias ``throughput``; suffix ``k`` or ``m``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_LATENCY = ("p50", "p90", "p95", "p99", "max", "mean")
_COUNTS = ("errors", "rejected", "transport", "partial", "behind")
_TIME_UNITS = {"": 1.0, "ms": 1.0, "us": 1e-3, "µs": 1e-3, "s": 1e3}
_RATE_UNITS = {"": 1.0, "k": 1e3, "m": 1e6}
_ALIASES = {"throughput": "spans_per_s", "spans/s": "spans_per_s"}
_PATTERN = re.compile(
    r"^\s*(?P<metric>[a-z0-9_/]+)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<value>[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(?P<unit>[a-zµ%]*)\s*$"
)


class ThresholdError(ValueError):
    """A threshold expression that does not parse."""


@dataclass(frozen=True)
class Threshold:
    """``key`` (a metric of :meth:`LoadResult.metrics`) compared with ``limit`` (in ``unit``)."""

    expression: str
    key: str
    op: str
    limit: float
    unit: str

    def holds(self, actual: float | None) -> bool:
        return actual is not None and not math.isnan(actual) and _OPS[self.op](actual, self.limit)


@dataclass(frozen=True)
class Verdict:
    """One evaluated threshold: the measured value (None if unmeasured) and whether it held."""

    expression: str
    key: str
    actual: float | None
    limit: float
    unit: str
    passed: bool


def parse_threshold(expression: str) -> Threshold:
    """Parse ``<metric><op><value>[unit]``; raise :class:`ThresholdError` naming the problem."""
    match = _PATTERN.match(expression.lower())
    if not match:
        raise ThresholdError(
            f"threshold {expression!r}: expected <metric><op><value>[unit], e.g. p99<50ms"
        )
    metric = _ALIASES.get(match["metric"], match["metric"])
    op, value, unit = match["op"], float(match["value"]), match["unit"]
    if metric in _LATENCY:
        if unit not in _TIME_UNITS:
            raise ThresholdError(f"threshold {expression!r}: latency unit must be us, ms or s")
        return Threshold(expression, f"{metric}_ms", op, value * _TIME_UNITS[unit], "ms")
    if metric in _COUNTS:
        if unit == "%":
            return Threshold(expression, f"{metric}_pct", op, value, "%")
        if unit:
            raise ThresholdError(f"threshold {expression!r}: {metric} takes a count or a %")
        return Threshold(expression, metric, op, value, "count")
    if metric == "spans_per_s":
        if unit not in _RATE_UNITS:
            raise ThresholdError(f"threshold {expression!r}: spans_per_s takes k or m")
        return Threshold(expression, metric, op, value * _RATE_UNITS[unit], "spans/s")
    known = ", ".join((*_LATENCY, *_COUNTS, "spans_per_s"))
    raise ThresholdError(f"threshold {expression!r}: unknown metric {metric!r} (known: {known})")


def evaluate(
    thresholds: tuple[Threshold, ...], metrics: Mapping[str, float | None]
) -> list[Verdict]:
    """Each threshold against ``metrics`` (a missing or None metric fails)."""
    verdicts = []
    for threshold in thresholds:
        actual = metrics.get(threshold.key)
        verdicts.append(
            Verdict(
                threshold.expression,
                threshold.key,
                actual,
                threshold.limit,
                threshold.unit,
                threshold.holds(actual),
            )
        )
    return verdicts
