"""Where and when in a rule test file: error context, times, offsets and durations.

A test file writes times as offsets from its ``start`` (``90s``, ``16m``, ``-1h``, or plain
seconds) or as absolute ISO times, and durations as ``300ms``, ``1.5s``, ``5m``...; an
error names the file, the line and what was being read.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from pyflare_cli.alerting.rules.yaml_lines import line_of
from pyflare_cli.analysis.search.time_bounds import parse_duration_ns
from pyflare_cli.clock import parse_instant
from pyflare_cli.errors import UsageError


class Where:
    """Error context: the file, the line, and what is being read."""

    def __init__(self, path: str, line: int, what: str) -> None:
        self.path, self.line, self.what = path, line, what

    def at(self, value: Any, what: str) -> Where:
        return Where(self.path, line_of(value, self.line), what)

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def error(self, reason: str) -> UsageError:
        return UsageError(f"{self.source}: {self.what}: {reason}")


def instant(value: Any, where: Where, key: str) -> datetime:
    """An absolute time: a YAML timestamp or an ISO text (naive means UTC)."""
    moment = parse_instant(value)
    if moment is not None:
        return moment
    raise where.error(f"{key} {value!r} is not a time such as 2026-01-01T00:00:00Z")


def duration_ns(value: Any, where: Where, key: str, signed: bool = False) -> int:
    """Nanoseconds of ``90s``, ``1m30s``, ``300ms`` or plain seconds (``-1h`` if signed)."""
    ns: int | None = None
    if isinstance(value, bool):
        ns = None
    elif isinstance(value, int | float):
        ns = round(value * 1e9) if math.isfinite(value) else None
    elif isinstance(value, str):
        text = value.strip()
        negative = signed and text.startswith("-")
        ns = parse_duration_ns(text[1:] if negative else text)
        if ns is not None and negative:
            ns = -ns
    if ns is None or (ns < 0 and not signed):
        raise where.error(f"{key} {value!r} is not a duration such as 300ms, 30s, 5m, 1h")
    return ns


def offset_ns(value: Any, start: datetime, where: Where, key: str) -> int:
    """A time as nanoseconds after ``start``: an offset (``16m``, ``-1h``) or an ISO time."""
    if isinstance(value, datetime | date) or (
        isinstance(value, str) and value.strip()[:1].isdigit() and "-" in value.strip()[1:]
    ):
        return ns_of(instant(value, where, key) - start)
    return duration_ns(value, where, key, signed=True)


def ns_of(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def text_of(ns: int) -> str:
    """``16m``, ``1h30m``, ``-90s``, ``250ms``: an offset as a test file writes it."""
    if ns == 0:
        return "0s"
    sign, ns = ("-" if ns < 0 else ""), abs(ns)
    parts = []
    for unit, size in (("d", 86_400 * 10**9), ("h", 3600 * 10**9), ("m", 60 * 10**9)):
        if ns >= size:
            parts.append(f"{ns // size}{unit}")
            ns %= size
    if ns:
        parts.append(f"{ns / 1e9:g}s" if ns % 1_000_000 == 0 else f"{ns}ns")
    return sign + "".join(parts)
