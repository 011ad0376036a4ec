"""The catalog: which sources went into the store, and the commit log that keeps it atomic.

Ingesting one source writes its Parquet parts under temporary names, records them here as
``committing``, renames them, then marks the source ``done``. A crash between those steps
is repaired on the next open: temporary parts of a ``committing`` source are renamed and the
source is marked done; stray temporary parts with no catalog row are deleted. So a source is
either fully visible and recorded, or not at all, and re-ingesting it is a no-op.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyflare_cli.errors import DamagedStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    sha256 TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    format TEXT,
    rows INTEGER NOT NULL DEFAULT 0,
    dead_lettered INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL,
    state TEXT NOT NULL,
    files TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS sources_path ON sources (path);
"""


@dataclass(frozen=True)
class SourceRecord:
    """One ingested source as the catalog knows it."""

    sha256: str
    path: str
    size: int
    format: str | None
    rows: int
    dead_lettered: int
    ingested_at: str
    state: str
    files: tuple[str, ...]


class Catalog:
    """A small SQLite database next to the spans (``catalog.sqlite``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.OperationalError:
            self._db.close()
            raise  # locked, or a read-only folder: not damage
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise DamagedStore(
                f"{path}: damaged catalog ({exc}); run `pyflare store check --store "
                f"{path.parent}`, then `pyflare store repair --store {path.parent}`"
            ) from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._db:
            yield self._db

    def find(self, sha256: str) -> SourceRecord | None:
        row = self._db.execute(
            "SELECT sha256, path, size, format, rows, dead_lettered, ingested_at, state, files "
            "FROM sources WHERE sha256 = ?",
            (sha256,),
        ).fetchone()
        return _record(row) if row else None

    def sources(self) -> list[SourceRecord]:
        rows = self._db.execute(
            "SELECT sha256, path, size, format, rows, dead_lettered, ingested_at, state, files "
            "FROM sources ORDER BY ingested_at"
        ).fetchall()
        return [_record(r) for r in rows]

    def begin(self, record: SourceRecord) -> None:
        """Record a source as ``committing`` with the final names of its parts."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, 'committing', ?)",
                (
                    record.sha256,
                    record.path,
                    record.size,
                    record.format,
                    record.rows,
                    record.dead_lettered,
                    record.ingested_at,
                    json.dumps(list(record.files)),
                ),
            )

    def finish(self, sha256: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE sources SET state = 'done' WHERE sha256 = ?", (sha256,))

    def find_by_path(self, path: str) -> list[SourceRecord]:
        rows = self._db.execute(
            "SELECT sha256, path, size, format, rows, dead_lettered, ingested_at, state, files "
            "FROM sources WHERE path = ?",
            (path,),
        ).fetchall()
        return [_record(r) for r in rows]

    def forget(self, sha256: str) -> None:
        """Drop a source's row (its files must already be gone)."""
        with self._tx() as db:
            db.execute("DELETE FROM sources WHERE sha256 = ?", (sha256,))

    def committing(self) -> list[SourceRecord]:
        return [r for r in self.sources() if r.state == "committing"]

    def replace_files(self, renames: dict[str, list[str]], removed: set[str]) -> None:
        """After compaction or pruning: point the sources' file lists at the new files."""
        with self._tx() as db:
            for record in self.sources():
                files: list[str] = []
                for name in record.files:
                    if name in removed:
                        continue
                    for new in renames.get(name, [name]):
                        if new not in files:
                            files.append(new)
                db.execute(
                    "UPDATE sources SET files = ? WHERE sha256 = ?",
                    (json.dumps(files), record.sha256),
                )


def _record(row: tuple[object, ...]) -> SourceRecord:
    sha, path, size, fmt, rows, dead, at, state, files = row
    return SourceRecord(
        sha256=str(sha),
        path=str(path),
        size=int(str(size)),
        format=None if fmt is None else str(fmt),
        rows=int(str(rows)),
        dead_lettered=int(str(dead)),
        ingested_at=str(at),
        state=str(state),
        files=tuple(json.loads(str(files))),
    )
