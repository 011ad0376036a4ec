"""Counters of a running receiver, shared by the HTTP and gRPC handlers and the operator view."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

FLUSH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf"))
"""Bounds of the flush-latency histogram, in seconds."""


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    spans_accepted: int = 0
    spans_rejected: int = 0
    """Spans rejected inside accepted requests (OTLP partial success)."""
    spans_refused: int = 0
    """Spans of requests refused whole after their body was decoded: every span bad, or
    the spool full or unwritable by then."""
    refused: Counter[str] = field(default_factory=Counter)
    """Requests answered with an error, by reason (``429``, ``413``, ``UNAUTHENTICATED``...)."""
    flushes: int = 0
    spans_flushed: int = 0
    last_flush: float | None = None
    last_flush_error: str | None = None
    flush_retries: int = 0
    """Segments kept after an error (an OS error, a locked or unreadable catalog), in total."""
    flush_failures: int = 0
    """Flushes failed in a row; reset by a good one. Sets the retry backoff."""
    flush_errors: int = 0
    """Flushes that ended in an error, in total."""
    spans_dead_lettered: int = 0
    answers: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Export requests by (transport, outcome): ``accepted``, ``partial`` (some spans
    rejected) or the reason of a refusal (``busy``, ``invalid``...)."""
    flush_buckets: list[int] = field(default_factory=lambda: [0] * len(FLUSH_BUCKETS))
    """Flushes that took at most each bound of :data:`FLUSH_BUCKETS` (not cumulative)."""
    flush_seconds_sum: float = 0.0
    _window: list[tuple[float, int]] = field(default_factory=list)

    def accepted(self, spans: int, rejected: int) -> None:
        self.requests += 1
        self.spans_accepted += spans
        self.spans_rejected += rejected
        now = time.monotonic()
        self._window.append((now, spans))
        while self._window and now - self._window[0][0] > 10:
            self._window.pop(0)

    def refuse(self, reason: str, transport: str = "") -> None:
        self.requests += 1
        self.refused[reason] += 1
        if transport:
            self.answers[transport, reason] += 1

    def served(self, transport: str, rejected: int) -> None:
        """An export request of ``transport`` answered with success (partial or not)."""
        self.answers[transport, "partial" if rejected else "accepted"] += 1

    def flush_took(self, seconds: float, dead_lettered: int, error: bool) -> None:
        """One flush of a segment, for the latency histogram and the error count."""
        index = next(i for i, bound in enumerate(FLUSH_BUCKETS) if seconds <= bound)
        self.flush_buckets[index] += 1
        self.flush_seconds_sum += seconds
        self.spans_dead_lettered += dead_lettered
        self.flush_errors += error

    def spans_per_second(self) -> float:
        """Accepted spans per second over the last 10 s."""
        now = time.monotonic()
        recent = [(t, n) for t, n in self._window if now - t <= 10]
        if not recent:
            return 0.0
        span = max(now - recent[0][0], 1.0)
        return sum(n for _, n in recent) / span

    def flusher(self, alive: bool, pending_segments: int) -> dict[str, object]:
        """The flusher's state, for /healthz and the operator: never silently stuck."""
        state = "stopped" if not alive else ("failing" if self.flush_failures else "ok")
        return {
            "state": state,
            "segments_pending": pending_segments,
            "retries": self.flush_retries,
            "failures_in_a_row": self.flush_failures,
            "last_error": self.last_flush_error,
        }

    def snapshot(self, spool_bytes: int, pending_segments: int) -> dict[str, object]:
        return {
            "uptime_s": round(time.monotonic() - self.started, 1),
            "requests": self.requests,
            "spans_accepted": self.spans_accepted,
            "spans_rejected": self.spans_rejected,
            "spans_refused": self.spans_refused,
            "requests_refused": dict(self.refused),
            "spans_per_s": round(self.spans_per_second(), 1),
            "spool_bytes": spool_bytes,
            "segments_pending": pending_segments,
            "flushes": self.flushes,
            "spans_flushed": self.spans_flushed,
            "last_flush_s_ago": (
                None if self.last_flush is None else round(time.monotonic() - self.last_flush, 1)
            ),
            "last_flush_error": self.last_flush_error,
        }
