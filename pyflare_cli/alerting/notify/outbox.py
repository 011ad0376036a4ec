"""The notifier's files: group records, the outbox, and the lock that keeps runs apart.

What Alertmanager keeps in memory lives here between ``pyflare alert check`` runs:
``notify_state.json`` holds, per target and group, what the receiver was told and when;
``outbox.json`` holds the exact bodies of notifications that still failed after their
retries, to be tried again first on the next run. Both are replaced atomically; one that
cannot be read is moved aside (``*.corrupt``) and reported, never silently dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyflare_cli.alerting.notify.grouping import time_of
from pyflare_cli.errors import StoreWriteError, UsageError
from pyflare_cli.store.lock import file_lock

STATE_FILE = "notify_state.json"
OUTBOX_FILE = "outbox.json"
LOCK_FILE = "notify.lock"
Problem = tuple[str, str]
"""An unreadable file's name, and what was done about it."""


@dataclass
class Books:
    """The persisted state of one call: group records per target, and the outbox."""

    groups: dict[str, dict[str, dict[str, Any]]]
    outbox: list[dict[str, Any]]


def check_state(data: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """The group records of a ``notify_state.json`` document (an error when it is not one)."""
    groups = data["groups"]
    for records in groups.values():
        for record in records.values():
            time_of(record["first_seen"])
            time_of(record["last_sent"])
            mappings = (record["labels"], record["firing"], record["resolved"])
            if not all(isinstance(m, dict) for m in mappings):
                raise ValueError("bad group record")
            if not isinstance(record["last_content"], list):
                raise ValueError("bad group record")
    return dict(groups)


def check_outbox(data: Any) -> list[dict[str, Any]]:
    """The entries of an ``outbox.json`` document (an error when it is not one)."""
    entries = data["entries"]
    for entry in entries:
        time_of(entry["queued_at"])
        texts = (entry["target"], entry["group_key"], entry["kind"])
        if not all(isinstance(t, str) for t in texts) or not isinstance(entry["attempts"], int):
            raise ValueError("bad outbox entry")
        if not isinstance(entry["requests"], list) or not entry["requests"]:
            raise ValueError("bad outbox entry")
    return list(entries)


class NotifierFiles:
    """The notifier's files in ``folder`` (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def locked(self) -> AbstractContextManager[None]:
        """One notifier per folder at a time (an overlapping cron run waits)."""
        return file_lock(self.folder / LOCK_FILE)

    def _read(self, name: str, check: Callable[[Any], Any], problems: list[Problem]) -> Any:
        """A checked file, or None; an unreadable one is moved aside and reported, not lost."""
        path = self.folder / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read ({exc})") from None
        try:
            return check(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            aside = path.with_name(f"{name}.corrupt")
            os.replace(path, aside)
            detail = f"{path} was unreadable ({exc!r}); moved to {aside.name}, started afresh"
            problems.append((name, detail))
            return None

    def load(self) -> tuple[Books, list[Problem]]:
        """The books, and the files that were unreadable (moved aside) with what happened."""
        problems: list[Problem] = []
        groups = self._read(STATE_FILE, check_state, problems)
        outbox = self._read(OUTBOX_FILE, check_outbox, problems)
        return Books(groups or {}, outbox or []), problems

    def _write(self, name: str, data: Any) -> None:
        path = self.folder / name
        temp = path.with_name(f".{name}.{os.getpid()}.tmp")
        try:
            with temp.open("w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except OSError as exc:
            raise StoreWriteError(f"{path}: cannot write notification state ({exc})") from None

    def save(self, books: Books) -> None:
        """Write both files, each atomically."""
        self._write(STATE_FILE, {"version": 1, "groups": books.groups})
        self._write(OUTBOX_FILE, {"version": 1, "entries": books.outbox})
