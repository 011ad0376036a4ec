"""``pyflare query``'s SQL over the store: attribute accessors, UTC times and ``now()``.

Polars SQL reads neither map columns nor time-zone-aware timestamps well: the store's
``attributes`` are ``Map(String, String)``, which no SQL function reads, and comparing a
``Datetime('ns', 'UTC')`` column with ``TIMESTAMP '...'`` or ``now()`` is a type error.
So the statement is read by a small lexer (strings, quoted names and comments are left
alone) that rewrites, outside literals:

- ``attr('key')``, ``attributes['key']``, ``map_get(attributes, 'key')`` and
  ``element_at(attributes, 'key')`` into a column ``"attr:key"`` holding that attribute
  (``resource_attr('key')`` and ``resource_attributes['key']`` into ``"resource:key"``);
  a table alias before the column (``s.attributes['key']``) is kept;
- ``now()`` and ``current_timestamp`` into the ``TIMESTAMP`` literal of pyflare's now
  (``$PYFLARE_NOW`` when set), in UTC;
- a string literal that is an ISO time with an offset (``'2026-11-19 02:00+02:00'``,
  ``'...Z'``) into that instant's UTC time (Polars would drop the offset).

The table's times are presented as UTC wall-clock values, so ``TIMESTAMP '2026-11-19
08:00'`` and ``'2026-11-19'`` mean UTC; the result's timestamps are UTC again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import polars as pl

TIMES = ("start_time", "end_time")
_KEY = r"'((?:[^']|'')*)'"
_QUALIFIER = r"((?:[A-Za-z_][A-Za-z0-9_]*\.)?)"
_MAPS = {"attributes": "attr", "resource_attributes": "resource"}
_MAP = r"(attributes|resource_attributes)"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"{_QUALIFIER}(attr|resource_attr)\s*\(\s*{_KEY}\s*\)", re.I), "call"),
    (re.compile(rf"{_QUALIFIER}{_MAP}\s*\[\s*{_KEY}\s*\]", re.I), "index"),
    (
        re.compile(
            rf"(?:map_get|element_at)\s*\(\s*{_QUALIFIER}{_MAP}"
            rf"\s*,\s*{_KEY}\s*\)",
            re.I,
        ),
        "index",
    ),
    (re.compile(r"(?:now\s*\(\s*\)|current_timestamp(?:\s*\(\s*\))?)", re.I), "now"),
]
_WORD = re.compile(r"[A-Za-z0-9_.]")
_OFFSET_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[Zz]|[+-]\d{2}:?\d{2})"
)


def rewrite(sql: str, now: datetime) -> tuple[str, dict[str, tuple[str, str]]]:
    """The statement with accessors and ``now()`` replaced, and the columns they name:
    ``{"attr:key": ("attributes", "key")}``."""
    out: list[str] = []
    columns: dict[str, tuple[str, str]] = {}
    stamp = f"TIMESTAMP '{now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' ')}'"
    i = 0
    while i < len(sql):
        char = sql[i]
        end = _opaque_end(sql, i)
        if end is not None:
            out.append(_utc_literal(sql[i:end]) if char == "'" else sql[i:end])
            i = end
            continue
        if i == 0 or not _WORD.match(sql[i - 1]):
            replaced = _replace_at(sql, i, stamp, columns)
            if replaced is not None:
                text, i = replaced
                out.append(text)
                continue
        out.append(char)
        i += 1
    return "".join(out), columns


def statements(sql: str) -> list[str]:
    """The statements of ``sql``: split at each ``;`` outside string literals, quoted names
    and comments, blank ones (a trailing ``;``) left out."""
    found, start, i = [], 0, 0
    while i < len(sql):
        end = _opaque_end(sql, i)
        if end is not None:
            i = end
            continue
        if sql[i] == ";":
            found.append(sql[start:i])
            start = i + 1
        i += 1
    found.append(sql[start:])
    return [text for text in found if _has_code(text)]


def _has_code(text: str) -> bool:
    """Whether ``text`` holds more than blanks and comments."""
    i = 0
    while i < len(text):
        end = _opaque_end(text, i)
        if end is not None and text[i] not in "'\"":
            i = end
            continue
        if not text[i].isspace():
            return True
        i += 1
    return False


def _opaque_end(sql: str, i: int) -> int | None:
    """The end of the string literal, quoted name or comment that opens at ``i``, if any:
    nothing inside one is SQL (an accessor, ``now()`` or a ``;`` there is text)."""
    if sql[i] in "'\"":
        return _closing(sql, i, sql[i])
    if sql.startswith("--", i):
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end
    if sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return len(sql) if end < 0 else end + 2
    return None


def _utc_literal(literal: str) -> str:
    """``'2026-11-19 02:00+02:00'`` -> ``'2026-11-19 00:00:00'``: a time with an offset as
    the UTC wall-clock time the table holds (Polars would drop the offset)."""
    text = literal[1:-1]
    if not _OFFSET_TIME.fullmatch(text):
        return literal
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return literal
    return f"'{moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' ')}'"


def _closing(sql: str, start: int, quote: str) -> int:
    """The index after the literal or quoted name that opens at ``start`` ('' escapes)."""
    i = start + 1
    while i < len(sql):
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _replace_at(
    sql: str, i: int, stamp: str, columns: dict[str, tuple[str, str]]
) -> tuple[str, int] | None:
    for pattern, kind in _PATTERNS:
        match = pattern.match(sql, i)
        if match is None:
            continue
        if kind == "now":
            return stamp, match.end()
        qualifier, name, key = match.group(1), match.group(2).lower(), match.group(3)
        key = key.replace("''", "'")
        source = name if name in _MAPS else {"attr": "attributes"}.get(name, "resource_attributes")
        column = f"{_MAPS[source]}:{key}"
        columns[column] = (source, key)
        quoted = column.replace('"', '""')
        return f'{qualifier}"{quoted}"', match.end()
    return None


def sql_frame(spans: pl.LazyFrame, columns: dict[str, tuple[str, str]]) -> pl.LazyFrame:
    """The ``spans`` table as SQL sees it: UTC wall-clock times and the accessor columns."""
    return spans.with_columns(
        *(pl.col(name).dt.replace_time_zone(None) for name in TIMES),
        *(pl.col(source).map.get(key).alias(name) for name, (source, key) in columns.items()),
    )


def as_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps without a zone in a result are UTC (every time of the store is)."""
    return frame.with_columns(
        pl.col(name).dt.replace_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is None
    )


def run_sql(spans: pl.LazyFrame, sql: str, now: datetime, limit: int = 0) -> pl.DataFrame:
    """Run one statement over ``spans``; Polars errors propagate to the caller."""
    statement, columns = rewrite(sql, now)
    context = pl.SQLContext({"spans": sql_frame(spans, columns)})
    result = context.execute(statement, eager=False)
    if limit:
        result = result.head(limit)
    return as_utc(result.collect())
