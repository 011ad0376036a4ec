"""Recent search queries (optionally kept in a file) and the saved ones from ``pyflare.yaml``.

The search bar recalls recent queries with up/down, like a shell; the picker lists saved
and recent queries together. Persistence is best effort: a read-only store still works.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HISTORY_FILE = Path(".cache") / "tui-history.json"
"""Under the store, next to the price cache."""

HISTORY_LIMIT = 50


class QueryHistory:
    """Most recent first, without duplicates; ``saved`` maps names to queries."""

    def __init__(self, path: Path | None = None, saved: dict[str, str] | None = None) -> None:
        self.path = path
        self.saved = dict(saved or {})
        self.recent: list[str] = self._load()
        self._cursor = -1

    def _load(self) -> list[str]:
        if self.path is None:
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        if not isinstance(data, list):
            return []
        return [q for q in data if isinstance(q, str) and q.strip()][:HISTORY_LIMIT]

    def add(self, query: str) -> None:
        """Remember ``query`` as the most recent one (empty queries are not kept)."""
        self._cursor = -1
        text = query.strip()
        if not text:
            return
        self.recent = [text, *(q for q in self.recent if q != text)][:HISTORY_LIMIT]
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_suffix(f".{os.getpid()}.tmp")
            temp.write_text(json.dumps(self.recent), encoding="utf-8")
            os.replace(temp, self.path)
        except OSError:
            pass

    def older(self) -> str | None:
        """The next older query (up arrow), or None at the oldest."""
        if self._cursor + 1 >= len(self.recent):
            return None
        self._cursor += 1
        return self.recent[self._cursor]

    def newer(self) -> str | None:
        """The next newer query (down arrow); ``""`` past the newest."""
        if self._cursor < 0:
            return None
        self._cursor -= 1
        return "" if self._cursor < 0 else self.recent[self._cursor]

    def reset(self) -> None:
        self._cursor = -1

    def entries(self) -> list[tuple[str, str]]:
        """(label, query) for the picker: saved queries by name, then recent ones."""
        saved = [(f"saved  {name}", query) for name, query in self.saved.items()]
        return saved + [("recent", query) for query in self.recent]
