"""When each send of an open-model run is due: a constant rate, or k6-like stages.

A schedule is a piecewise-linear offered rate ``r(t)`` in spans/s over ``[0, total_s)``.
*Stages* are k6's ramping-arrival-rate: ``Stage(duration_s, target_rate)`` moves the rate
linearly from the previous stage's target (0 before the first stage) to ``target_rate``
over ``duration_s``; so ``10s:1k, 30s:1k, 5s:20k, 10s:0`` ramps up, holds, spikes and ramps
down. A constant ``--rate`` is the one-segment schedule ``rate -> rate``.

The pacing clock is the pool's span count: send ``k`` (which starts after
``spans_before(k)`` spans were sent) is due at the time ``t`` where the offered spans
``S(t) = integral of r from 0 to t`` reach ``spans_before(k)``. ``S`` is piecewise
quadratic, so :meth:`Schedule.time_of` inverts it exactly per segment (no stepping, no
accumulated error): on a segment starting at ``t0`` with rate ``r0``, slope ``a`` and
``S(t0) = S0``, the ``x = s - S0`` spans are reached after
``tau = 2x / (r0 + sqrt(r0^2 + 2 a x))``, the cancellation-free root of
``a tau^2 / 2 + r0 tau = x`` (``x / r0`` when ``a = 0``, ``sqrt(2x / a)`` when ``r0 = 0``).

A zero-rate stretch offers nothing: a send whose pacing point falls on it waits for the
rate to rise again (``time_of`` is the first ``t`` with ``S(t) > s``). A send is *due*
when ``spans_before(k) < total_spans``, the spans the whole schedule offers; the engine's
stop condition and its ``due_requests`` count use exactly this rule.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """Move the offered rate linearly to ``target_rate`` spans/s over ``duration_s``."""

    duration_s: float
    target_rate: float

    def describe(self) -> str:
        """``10s:1k``, the form ``--stage`` takes."""
        return f"{_short(self.duration_s)}s:{_short_rate(self.target_rate)}"


@dataclass(frozen=True)
class Segment:
    """``[start_s, start_s + duration_s)`` with the rate going from ``rate0`` to ``rate1``;
    ``spans0`` were offered before it, ``spans`` during it."""

    start_s: float
    duration_s: float
    rate0: float
    rate1: float
    spans0: float
    spans: float

    @property
    def slope(self) -> float:
        return (self.rate1 - self.rate0) / self.duration_s

    def spans_after(self, tau: float) -> float:
        """Spans offered in the first ``tau`` seconds of the segment (0 <= tau <= duration)."""
        return self.rate0 * tau + 0.5 * self.slope * tau * tau

    def time_for(self, x: float) -> float:
        """Seconds into the segment at which ``x`` of its spans were offered (exact root)."""
        if x <= 0.0:
            return 0.0
        if x >= self.spans:
            return self.duration_s
        a, r0 = self.slope, self.rate0
        if a == 0.0:
            tau = x / r0
        else:
            root = math.sqrt(max(r0 * r0 + 2.0 * a * x, 0.0))
            tau = 2.0 * x / (r0 + root)
        return min(max(tau, 0.0), self.duration_s)


class Schedule:
    """A piecewise-linear offered rate; its integral and the exact inverse of the integral."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        if not segments:
            raise ValueError("a schedule needs at least one segment")
        self.segments = tuple(segments)
        last = self.segments[-1]
        self.total_s = last.start_s + last.duration_s
        self.total_spans = last.spans0 + last.spans
        self.final_rate = last.rate1
        # S at the end of each segment: bisect finds the segment a span count falls in.
        self._ends = [segment.spans0 + segment.spans for segment in self.segments]
        self._starts = [segment.start_s for segment in self.segments]

    @classmethod
    def constant(cls, rate: float, duration_s: float) -> Schedule:
        """``rate`` spans/s for ``duration_s``: send ``k`` is due at ``spans_before(k)/rate``."""
        return cls([Segment(0.0, duration_s, rate, rate, 0.0, rate * duration_s)])

    @classmethod
    def of_stages(cls, stages: Sequence[Stage], start_rate: float = 0.0) -> Schedule:
        """k6's ramping arrival rate: each stage ramps linearly from the previous target."""
        segments = []
        start, spans, rate = 0.0, 0.0, start_rate
        for stage in stages:
            offered = 0.5 * (rate + stage.target_rate) * stage.duration_s
            segments.append(
                Segment(start, stage.duration_s, rate, stage.target_rate, spans, offered)
            )
            start += stage.duration_s
            spans += offered
            rate = stage.target_rate
        return cls(segments)

    def rate_at(self, t: float) -> float:
        """The offered rate at ``t`` seconds (0 outside the schedule)."""
        if t < 0 or t >= self.total_s:
            return 0.0
        segment = self.segments[bisect.bisect_right(self._starts, t) - 1]
        return segment.rate0 + segment.slope * (t - segment.start_s)

    def spans_at(self, t: float) -> float:
        """``S(t)``: spans offered from 0 to ``t`` (clamped to the schedule)."""
        if t <= 0:
            return 0.0
        if t >= self.total_s:
            return self.total_spans
        segment = self.segments[bisect.bisect_right(self._starts, t) - 1]
        return segment.spans0 + segment.spans_after(t - segment.start_s)

    def time_of(self, spans: float) -> float | None:
        """The first time ``S(t) > spans``: when a send starting after ``spans`` spans is due.
        None when the schedule never offers more than ``spans`` (the send is not due)."""
        if spans >= self.total_spans:
            return None
        if spans < 0:
            spans = 0.0
        # The first segment whose end exceeds ``spans``: it offers spans > 0, so the root
        # is unique; zero-rate segments before it are skipped.
        segment = self.segments[bisect.bisect_right(self._ends, spans)]
        return segment.start_s + segment.time_for(spans - segment.spans0)

    def window_end(self, spans: float) -> float:
        """When a send after ``spans`` spans would be due, continuing at the final rate past
        the end of the schedule (the end itself when the final rate is 0)."""
        due = self.time_of(spans)
        if due is not None:
            return due
        if self.final_rate > 0:
            return self.total_s + (spans - self.total_spans) / self.final_rate
        return self.total_s

    def per_second(self, seconds: int) -> list[float]:
        """Spans offered in each whole second ``[i, i+1)`` since the start."""
        edges = [self.spans_at(float(i)) for i in range(seconds + 1)]
        return [b - a for a, b in itertools.pairwise(edges)]

    @property
    def peak_rate(self) -> float:
        return max(max(s.rate0, s.rate1) for s in self.segments)


def _short(value: float) -> str:
    return f"{value:.12g}"


def _short_rate(rate: float) -> str:
    """``20k`` for 20,000, ``1.5m`` for 1,500,000; plain digits when a suffix would round."""
    for scale, suffix in ((1e6, "m"), (1e3, "k")):
        scaled = f"{rate / scale:.12g}"
        if rate >= scale and float(scaled) * scale == rate:
            return f"{scaled}{suffix}"
    return _short(rate)
