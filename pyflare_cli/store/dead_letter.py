"""Dead letters: records that could not be ingested, kept as JSON Lines with the reason.

Nothing is dropped silently: each bad record is written with its source, its position in
that source and why it was refused, under ``<store>/dead_letter/date=<today>/``.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import date
from pathlib import Path
from typing import IO

from pyflare_cli.sources.raw import DeadLetter
from pyflare_cli.store.layout import StoreLayout


def _line(letter: DeadLetter) -> str:
    """One dead letter as a JSON line; a record too deep to write keeps its reason and place."""
    try:
        return json.dumps(letter.to_json(), default=str)
    except (RecursionError, ValueError) as exc:
        fallback = {**letter.to_json(), "record": f"not kept: {type(exc).__name__}: {exc}"}
        return json.dumps(fallback, default=str)


class DeadLetterWriter:
    """Appends dead letters of one source to one JSONL file, created on first use."""

    def __init__(self, layout: StoreLayout, source: str, today: date) -> None:
        self._folder = layout.dead_letter_partition(today)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source).name)[:60] or "stdin"
        self.path = self._folder / f"{stem}-{uuid.uuid4().hex[:8]}.jsonl"
        self._handle: IO[str] | None = None
        self.count = 0

    def write(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        if self._handle is None:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        for letter in letters:
            self._handle.write(_line(letter) + "\n")
        self.count += len(letters)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
