"""Counters of a running receiver, shared by the HTTP and gRPC handlers and the operator view."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    spans_accepted: int = 0
    spans_rejected: int = 0
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
    _window: list[tuple[float, int]] = field(default_factory=list)

    def accepted(self, spans: int, rejected: int) -> None:
        self.requests += 1
        self.spans_accepted += spans
        self.spans_rejected += rejected
        now = time.monotonic()
        self._window.append((now, spans))
        while self._window and now - self._window[0][0] > 10:
            self._window.pop(0)

    def refuse(self, reason: str) -> None:
        self.requests += 1
        self.refused[reason] += 1

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
