"""The checks every rule condition's keys share: durations, numbers, operators, queries, labels.

Each raises :class:`UsageError` naming the rule file, the line and the key, so that
:mod:`rules.parse` and :mod:`rules.parse_eval` word their errors the same way.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pyflare_cli.alerting.rules.model import DIMENSIONS, OPS
from pyflare_cli.analysis.search.compile import parse as parse_query
from pyflare_cli.analysis.search.time_bounds import parse_duration_ns
from pyflare_cli.errors import QuerySyntaxError, UsageError


class Where:
    """Error context: the file and the line of the mapping being read."""

    def __init__(self, path: Path, line: int, what: str) -> None:
        self.path, self.line, self.what = path, line, what

    def error(self, reason: str, line: int | None = None) -> UsageError:
        return UsageError(f"{self.path}:{line or self.line}: {self.what}: {reason}")


def regex_error(exc: Exception) -> str:
    """The regex engine's own reason ("unclosed group"), not the expression Polars ran."""
    lines = [line.strip() for line in str(exc).splitlines()]
    reasons = [line.removeprefix("error:").strip() for line in lines if line.startswith("error:")]
    return reasons[0] if reasons else lines[0].removeprefix("regex error:").strip()


def duration(value: Any, where: Where, key: str) -> timedelta:
    ns = parse_duration_ns(str(value)) if isinstance(value, str | int) else None
    if isinstance(value, int) and not isinstance(value, bool):
        ns = value * 1_000_000_000  # plain seconds
    if ns is None or ns < 0:
        raise where.error(f"{key} {value!r} is not a duration such as 30s, 5m, 1h")
    return timedelta(microseconds=ns // 1000)


def number(value: Any, where: Where, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(f"{key} must be a number, not {value!r}")
    return float(value)


def query(value: Any, where: Where, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise where.error(f"{key} must be a search query text")
    try:
        parse_query(value)
    except QuerySyntaxError as exc:
        raise where.error(f"{key}: {exc.message}") from None
    return value


def by(value: Any, where: Where) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value or []
    if not isinstance(names, list):
        raise where.error("by must be a label name or a list of them")
    for name in names:
        mapped = isinstance(name, str) and (
            (name.startswith("attr.") and len(name) > 5)
            or (name.startswith("resource.") and len(name) > 9)
        )
        if name not in DIMENSIONS and not mapped:
            raise where.error(
                f"by {name!r}: use {', '.join(DIMENSIONS)}, attr.<key> or resource.<key>"
            )
    return tuple(names)


def keys(section: dict[str, Any], allowed: set[str], where: Where, what: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise where.error(
            f"{what}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
        )


def op(value: Any, where: Where, what: str) -> str:
    if value not in OPS:
        raise where.error(f"{what}.op {value!r} is not one of {' '.join(OPS)}")
    return str(value)
