"""Human formatting of durations, counts, money and cells, shared by every renderer."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def format_duration(ns: int) -> str:
    """A short duration with three significant digits: ``850ns 12.3µs 250ms 1.23s 2m05s``."""
    if ns < 1_000:
        return f"{ns}ns"
    for unit, scale, limit in (("µs", 1e3, 999.5), ("ms", 1e6, 999.5), ("s", 1e9, 59.95)):
        value = ns / scale
        if value < limit:
            return f"{value:.3g}{unit}" if value < 100 else f"{value:.0f}{unit}"
    minutes, seconds = divmod(round(ns / 1e9), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def format_tokens(n: int | None) -> str:
    """Token counts as ``340``, ``1.2k``, ``56k``, ``3.4M``; ``?`` when unknown."""
    if n is None:
        return "?"
    for suffix, scale in (("M", 1_000_000), ("k", 1_000)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f}{suffix}" if value < 9.95 else f"{value:.0f}{suffix}"
    return str(n)


def duration(ns: int | float | None) -> str:
    """:func:`format_duration`, empty for a missing value."""
    return "" if ns is None else format_duration(int(ns))


def count(value: int | float | None) -> str:
    """``950``, ``1.2k``, ``3.4M``."""
    if value is None:
        return ""
    number = float(value)
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(number) >= scale:
            return f"{number / scale:.3g}{unit}"
    return f"{number:.0f}" if number == int(number) else f"{number:.3g}"


def money(value: float | None) -> str:
    if value is None or value != value:
        return ""
    if value == 0:
        return "$0"
    if abs(value) < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def size(num_bytes: int | float | None) -> str:
    if num_bytes is None:
        return ""
    number = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(number) < 1024 or unit == "GiB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return f"{number:.1f} TiB"


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ", ".join(format_cell(v) for v in value)
    return str(value)
