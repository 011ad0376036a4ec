"""The one clock: every command and the TUI ask :func:`now`, and pass it down to the analyses.

Analyses never read the clock themselves (DESIGN.md), so one environment variable,
``$PYFLARE_NOW``, fixes "now" for a whole run: documented examples and tests give the same
answer on any day.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

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
