"""The one clock: every command and the TUI ask :func:`now`, and pass it down to the analyses.

Analyses never read the clock themselves (DESIGN.md), so one environment variable,
``$PYFLARE_NOW``, fixes "now" for a whole run: documented examples and tests give the same
answer on any day.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

from pyflare_cli.errors import UsageError

NOW_ENV = "PYFLARE_NOW"


def now() -> datetime:
    """The current time, or ``$PYFLARE_NOW`` (ISO) for reproducible examples and tests."""
    fixed = os.environ.get(NOW_ENV)
    if not fixed:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(fixed)
    except ValueError:
        raise UsageError(f"${NOW_ENV}={fixed!r} is not an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_instant(value: Any) -> datetime | None:
    """An absolute time from a YAML file, in UTC, or None when ``value`` is none.

    PyYAML turns unquoted timestamps into ``datetime`` (or ``date``) itself; a text is read
    as ISO, and a naive time is taken as UTC.
    """
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value.strip()))
        except ValueError:
            return None
    return None
