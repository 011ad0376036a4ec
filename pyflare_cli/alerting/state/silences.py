"""Silences persisted in ``silences.json`` in the alerts folder, safe between processes.

``pyflare alert silence add`` and ``expire`` change the file while ``check`` and ``watch``
read it: every change is a locked read-change-write and an atomic replace, so two
commands never lose each other's silence. What a silence mutes is :mod:`muting.silences`.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pyflare_cli.alerting.muting.matchers import Matcher
from pyflare_cli.alerting.muting.silences import Silence
from pyflare_cli.clock import utc
from pyflare_cli.errors import StoreWriteError, UsageError
from pyflare_cli.store.lock import file_lock

SILENCES_FILE = "silences.json"
_FORMAT_VERSION = 1


def _silence_to_json(silence: Silence) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": [{"name": m.name, "op": m.op, "value": m.value} for m in silence.matchers],
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by,
        "comment": silence.comment,
        "created_at": silence.created_at.isoformat(),
    }


def _silence_from_json(item: Any) -> Silence:
    """A stored silence; ValueError/TypeError/KeyError when it is not one."""
    if not isinstance(item, dict):
        raise ValueError(f"a silence must be an object, not {item!r}")
    matchers = []
    for m in item["matchers"]:
        if not isinstance(m, dict) or not all(isinstance(m.get(k), str) for k in m):
            raise ValueError(f"a matcher must be an object of texts, not {m!r}")
        matchers.append(Matcher(m["name"], m["op"], m["value"]))
    texts = {k: item[k] for k in ("id", "created_by", "comment")}
    for key, value in texts.items():
        if not isinstance(value, str):
            raise ValueError(f"{key} must be a text, not {value!r}")
    return Silence(
        id=texts["id"],
        matchers=tuple(matchers),
        starts_at=datetime.fromisoformat(item["starts_at"]),
        ends_at=datetime.fromisoformat(item["ends_at"]),
        created_by=texts["created_by"],
        comment=texts["comment"],
        created_at=datetime.fromisoformat(item["created_at"]),
    )


class SilenceStore:
    """Silences persisted in ``folder/silences.json``.

    Writes are atomic (a temporary file, then :func:`os.replace`) and the read-change-write
    of :meth:`add` and :meth:`expire` holds an exclusive lock on ``silences.json.lock``, so
    two commands never lose each other's silence. A missing file means no silences; a file
    that cannot be read as silences raises :class:`UsageError` naming it. Expired silences
    are kept (``list(..., include_expired=True)`` shows them).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / SILENCES_FILE

    def _load(self) -> list[Silence]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise UsageError(f"{self.path}: cannot read the silences: {exc.strerror}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != _FORMAT_VERSION:
                raise ValueError(f"not a version {_FORMAT_VERSION} silences file")
            if not isinstance(data.get("silences"), list):
                raise ValueError("'silences' is not a list")
            return [_silence_from_json(item) for item in data["silences"]]
        except (ValueError, TypeError, KeyError) as exc:
            reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise UsageError(
                f"{self.path}: not a valid silences file ({reason}); fix or remove it"
            ) from None

    def _save(self, silences: list[Silence]) -> None:
        data = {"version": _FORMAT_VERSION, "silences": [_silence_to_json(s) for s in silences]}
        temp = self.path.with_name(f".{SILENCES_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            os.replace(temp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise StoreWriteError(
                f"{self.path}: cannot write the silences: {exc.strerror}"
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        held = contextlib.ExitStack()
        try:
            held.enter_context(file_lock(self.path.with_name(SILENCES_FILE + ".lock")))
        except OSError as exc:
            raise StoreWriteError(
                f"{self.path}: cannot write the silences: {exc.strerror}"
            ) from None
        with held:
            yield

    def list(self, now: datetime, include_expired: bool = False) -> list[Silence]:
        """Pending and active silences (and expired ones if asked), by start, then id."""
        found = [s for s in self._load() if include_expired or s.state(now) != "expired"]
        return sorted(found, key=lambda s: (s.starts_at, s.id))

    def add(
        self,
        matchers: tuple[Matcher, ...],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
        now: datetime,
    ) -> Silence:
        """Store a new silence with a fresh 8-hex-digit id and return it.

        :class:`ValueError` when there are no matchers, ``ends_at`` is not after
        ``starts_at``, or ``ends_at`` is not after ``now`` (a silence that never mutes).
        """
        if not matchers:
            raise ValueError("a silence needs at least one matcher")
        starts_at, ends_at, now = utc(starts_at), utc(ends_at), utc(now)
        if ends_at <= starts_at:
            raise ValueError(
                f"a silence must end after it starts ({ends_at.isoformat()} is not after "
                f"{starts_at.isoformat()})"
            )
        if ends_at <= now:
            raise ValueError(f"a silence ending at {ends_at.isoformat()} would already be over")
        with self._locked():
            silences = self._load()
            taken = {s.id for s in silences}
            new_id = secrets.token_hex(4)
            while new_id in taken:  # pragma: no cover - 1 in 4 billion
                new_id = secrets.token_hex(4)
            silence = Silence(
                id=new_id,
                matchers=tuple(matchers),
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=created_by,
                comment=comment,
                created_at=now,
            )
            self._save([*silences, silence])
        return silence

    @staticmethod
    def _find(silences: builtins.list[Silence], silence_id: str) -> Silence:
        wanted = silence_id.strip().lower()
        if not wanted:
            raise KeyError("no silence id given")
        found = [s for s in silences if s.id.startswith(wanted)]
        if not found:
            raise KeyError(f"no silence with id {silence_id!r}")
        if len(found) > 1:
            ids = ", ".join(sorted(s.id for s in found))
            raise KeyError(f"silence id {silence_id!r} is ambiguous: it starts {ids}")
        return found[0]

    def get(self, silence_id: str) -> Silence:
        """The silence with this id or unique id prefix (KeyError with a message if none)."""
        return self._find(self._load(), silence_id)

    def expire(self, silence_id: str, now: datetime) -> Silence:
        """End the silence (id or unique prefix) at ``now`` and return it.

        A pending silence gets ``starts_at = ends_at = now``. An already expired silence is
        returned unchanged, so expiring twice is harmless. KeyError (with a message) when
        the id is unknown or the prefix ambiguous.
        """
        now = utc(now)
        with self._locked():
            silences = self._load()
            silence = self._find(silences, silence_id)
            if silence.state(now) == "expired":
                return silence
            starts_at = min(silence.starts_at, now)
            ended = replace(silence, starts_at=starts_at, ends_at=now)
            self._save([ended if s.id == silence.id else s for s in silences])
        return ended
