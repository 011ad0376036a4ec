"""Dated file names for scheduled reports, and keeping only the newest few.

A report run from cron or a scheduled CI job should not overwrite last week's file nor
fill the disk: ``--out 'report-{date}.html'`` names each file after the window it covers
(the window's, not the clock's, so a late or repeated run writes the same name), and
``--keep N`` deletes the older files of the same name pattern. Braces rather than
``date +%F`` in the shell, because ``%`` starts a new line in a crontab.

Fields: ``{date}`` is the window's last day (a window ending at midnight is the day
before it), ``{start}`` and ``{end}`` its bounds; each takes a ``strftime`` format after a
colon (``{end:%Y-%m-%dT%H%M}``), and is ``%Y-%m-%d`` without one. Only files whose every
field reads back as a date in its format are ever deleted, the newest by their fields
kept, and never the file just written.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    from pyflare_cli.query.windows import Window

FIELDS = ("date", "start", "end")
DEFAULT_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class _Field:
    name: str
    format: str


def _parts(name: str, option: str) -> list[str | _Field]:
    """The file name split into literal text and fields; exit 2 naming a bad field."""
    parts: list[str | _Field] = []
    try:
        parsed = list(string.Formatter().parse(name))
    except ValueError as exc:
        raise UsageError(f"{option} {name}: {exc} (write {{{{ and }}}} for braces)") from None
    for text, field, spec, conversion in parsed:
        if text:
            parts.append(text)
        if field is None:
            continue
        if field not in FIELDS or conversion:
            raise UsageError(
                f"{option} {name}: unknown field {{{field}}}; use {{date}}, {{start}} or {{end}}"
            )
        parts.append(_Field(field, spec or DEFAULT_FORMAT))
    return parts


def is_dated(target: Path, option: str = "--out") -> bool:
    """Whether ``target``'s file name has a field (its folder never does)."""
    return any(isinstance(p, _Field) for p in _parts(target.name, option))


def _values(window: Window) -> dict[str, datetime]:
    return {
        "date": window.end - timedelta(microseconds=1),
        "start": window.start,
        "end": window.end,
    }


def dated(target: Path, window: Window, option: str = "--out") -> Path:
    """``target`` with its name's fields filled in from ``window``."""
    values = _values(window)
    name = "".join(
        p if isinstance(p, str) else values[p.name].strftime(p.format)
        for p in _parts(target.name, option)
    )
    if not name or "/" in name or name in (".", ".."):
        raise UsageError(f"{option} {target}: the fields make a bad file name ({name!r})")
    return target.with_name(name)


def _pattern(parts: list[str | _Field]) -> re.Pattern[str]:
    return re.compile(
        "".join(re.escape(p) if isinstance(p, str) else "(.+?)" for p in parts) + r"\Z"
    )


def _key(name: str, parts: list[str | _Field]) -> tuple[datetime, ...] | None:
    """The dates a file name holds, in field order; None when it is not this template's."""
    found = _pattern(parts).match(name)
    if found is None:
        return None
    fields = [p for p in parts if isinstance(p, _Field)]
    key = []
    for field, text in zip(fields, found.groups(), strict=True):
        try:
            value = datetime.strptime(text, field.format)
        except ValueError:
            return None
        if value.strftime(field.format) != text:
            return None
        key.append(value)
    # sort on the window's end first, then its start, whatever the field order
    order = {"date": 0, "end": 0, "start": 1}
    ranked = sorted(zip(fields, key, strict=True), key=lambda pair: order[pair[0].name])
    return tuple(value for _, value in ranked)


def rotate(target: Path, written: Path, keep: int, option: str = "--out") -> list[Path]:
    """Delete the files of ``target``'s template in its folder beyond the ``keep`` newest
    (by the dates in their names), never ``written``: a backfilled older report is kept
    beside the N newest rather than pushing one of them out. The files deleted, oldest
    first."""
    parts = _parts(target.name, option)
    folder = written.parent
    found = []
    for path in folder.iterdir():
        key = _key(path.name, parts)
        if key is not None and path.is_file():
            found.append((key, path.name == written.name, path))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    older = [path for _, is_written, path in found[keep:] if not is_written]
    for path in older:
        path.unlink(missing_ok=True)
    return sorted(older, key=lambda p: _key(p.name, parts) or ())
