"""Time windows: the current one, the one before it and a reference, decided in one place.

``pyflare cost`` (against the previous period), ``pyflare rca`` (against its baseline),
``pyflare drift`` and alert drift checks (against a reference) each compare a window with
an earlier one. They all take both windows from here, so they agree on what "the previous
window" is. The rules:

- A time is what ``--since``/``--until`` accept (:func:`time_bound`): a relative value
  counts back from now, an ISO date is the first instant of that day (UTC). A date-only
  ``--until`` (or ``--baseline-until``) therefore ends the window where that day begins:
  ``--until`` keeps the spans that started before it, as in every command and as
  ``until:`` in queries.
- ``A..B`` names a span of time; a date-only ``B`` runs through that whole day, so
  ``2026-11-01..2026-11-07`` is the week ``--since 2026-11-01 --until 2026-11-08``.
- A window is ``[start, end)``; an empty or inverted window is a usage error (exit 2).
- The previous window has the current one's length and ends where the current one starts;
  a reference of N days ends there too. An explicit drift reference must not overlap the
  current window (an rca baseline may: see :func:`baseline_window`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyflare_cli.analysis.search.time_bounds import time_bound
from pyflare_cli.errors import UsageError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in aware UTC datetimes."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}..{self.end:%Y-%m-%d %H:%M} UTC"

    @property
    def query_bounds(self) -> tuple[str, str]:
        """``--since``/``--until`` values that select exactly this window."""
        return self.start.isoformat(), self.end.isoformat()

    def previous(self) -> Window:
        """The window of the same length that ends where this one starts."""
        return self.before(self.length)

    def before(self, length: timedelta) -> Window:
        """The ``length`` that ends where this window starts."""
        return Window(self.start - length, self.start)

    def overlaps(self, other: Window) -> bool:
        return self.start < other.end and other.start < self.end


def current_window(since: str, until: str | None, now: datetime) -> Window:
    """``--since`` to ``--until`` (default: now); exit 2 when that is empty or inverted."""
    start = time_bound(since, now)
    end = time_bound(until, now) if until else now
    if end <= start:
        bound = f"--until {until}" if until else f"now ({now:%Y-%m-%d %H:%M} UTC)"
        raise UsageError(f"--since {since} starts after {bound}: the window is empty")
    return Window(start, end)


def trailing_window(length: timedelta, now: datetime) -> Window:
    """The last ``length`` up to ``now``: an alert rule's ``window``."""
    return Window(now - length, now)


def parse_range(text: str, now: datetime, option: str) -> Window:
    """``A..B`` with ISO dates or relative times; a date-only end includes that whole day."""
    start_text, sep, end_text = text.partition("..")
    if not sep or not start_text.strip() or not end_text.strip():
        raise UsageError(f"{option} {text!r}: use START..END, e.g. 2026-11-01..2026-11-07")
    start = time_bound(start_text, now)
    end = time_bound(end_text, now)
    if _DATE.fullmatch(end_text.strip()):
        end += timedelta(days=1)
    if end <= start:
        raise UsageError(f"{option} {text!r}: the end must be after the start")
    return Window(start, end)


def reference_window(reference: str | None, days: int, current: Window, now: datetime) -> Window:
    """``--reference A..B``, else the ``days`` days that end where ``current`` starts."""
    if reference:
        window = parse_range(reference, now, "--reference")
        if window.overlaps(current):
            raise UsageError(
                f"--reference {reference} overlaps the current window {current.label()}"
            )
        return window
    return current.before(timedelta(days=days))


def baseline_window(since: str | None, until: str | None, current: Window, now: datetime) -> Window:
    """``--baseline-since``/``--baseline-until``, each defaulting to the previous window's.

    Unlike a drift reference, an explicit baseline may overlap the target: rca against the
    target itself is the null comparison (nothing can be significant).
    """
    default = current.previous()
    start = time_bound(since, now) if since else default.start
    end = time_bound(until, now) if until else default.end
    if end <= start:
        raise UsageError("--baseline-since/--baseline-until: the baseline window is empty")
    return Window(start, end)
