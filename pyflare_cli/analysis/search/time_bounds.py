"""Durations, counts and time bounds as the query language and ``--since/--until`` write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pyflare_cli.errors import UsageError

_DURATION_HINT = "use e.g. 250ms, 1.5s, 2m"
_TIME_HINT = "use e.g. 30m, 24h, 7d, 2w or an ISO date like 2024-05-01 or 2024-05-01T12:00:00Z"
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION_PART = re.compile(rf"({_NUMBER})(ns|us|µs|ms|s|m|h|d|w)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
_SUFFIXED = re.compile(rf"({_NUMBER})([kKM]?)")
_SUFFIX = {"": 1, "k": 1_000, "K": 1_000, "M": 1_000_000}
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_REGEX_META = frozenset("\\.+*?()|[]{}^$#&-~")


def parse_duration_ns(text: str) -> int | None:
    """Nanoseconds in ``250ms``, ``1.5s``, ``1h30m`` (units ns us ms s m h d w), else None.

    >>> parse_duration_ns("1.5s")
    1500000000
    >>> parse_duration_ns("1.5") is None
    True
    """
    total, pos = Decimal(0), 0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            return None
        total += Decimal(m[1]) * _UNIT_NS[m[2]]
        pos = m.end()
    return int(total.to_integral_value()) if text else None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_bound(text: str) -> timedelta | datetime | None:
    if text == "now":
        return timedelta(0)
    ns = parse_duration_ns(text)
    if ns is not None:
        return timedelta(microseconds=ns // 1_000)
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def resolve_bound(bound: timedelta | datetime, now: datetime) -> datetime:
    """The instant of a parsed since/until value: ``now - bound`` or the absolute UTC time."""
    return _utc(now) - bound if isinstance(bound, timedelta) else bound


def time_bound(text: str, now: datetime) -> datetime:
    """Parse ``--since``/``--until``/``since:`` values into an aware UTC datetime.

    Relative values (``30m``, ``24h``, ``7d``, ``2w``, ``1h30m``, ``now``) count back from
    ``now``; ISO dates and datetimes are absolute, a naive one is taken as UTC.

    >>> now = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    >>> time_bound("24h", now).isoformat()
    '2024-05-09T12:00:00+00:00'
    >>> time_bound("2024-05-01", now).isoformat()
    '2024-05-01T00:00:00+00:00'

    Raises :class:`UsageError` naming the value when it is neither.
    """
    bound = _parse_bound(text.strip())
    if bound is None:
        raise UsageError(f"bad time '{text}'; {_TIME_HINT}")
    return resolve_bound(bound, now)
