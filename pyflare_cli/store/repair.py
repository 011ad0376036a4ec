"""Get a damaged store working again: quarantine what cannot be read, rebuild the catalog.

Nothing is deleted: a damaged part or catalog moves to ``<store>/quarantine/<time>/``
with a ``.reason`` file beside it, so that it can be inspected or restored. The catalog is
rebuilt from whatever rows of the damaged one SQLite can still read; sources that lost a
part to the quarantine are forgotten, so that ingesting them again restores their spans
(the parts they kept then hold duplicates, which ``pyflare store compact`` removes).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pyflare_cli.store.catalog import Catalog, SourceRecord
from pyflare_cli.store.check import QUARANTINE, StoreCheck, check_store
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.lock import store_lock

_COLUMNS = "sha256, path, size, format, rows, dead_lettered, ingested_at, state, files"


@dataclass
class RepairReport:
    """What ``pyflare store repair`` did."""

    check: StoreCheck
    quarantine: Path | None = None
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    """(path inside the store, reason) of every file moved to the quarantine."""
    catalog_rebuilt: bool = False
    sources_kept: int = 0
    sources_lost: int = 0
    """Rows of a damaged catalog that could not be read back."""
    forgotten: list[str] = field(default_factory=list)
    """Sources that lost a part: ingest them again to restore their spans."""
    stray_removed: int = 0


def repair(root: Path, now: datetime) -> RepairReport:
    """Quarantine damaged parts and catalog, rebuild the catalog (see module docstring)."""
    layout = StoreLayout(root)
    with store_lock(root):
        report = RepairReport(check_store(root))
        for stray in report.check.stray_temporary:
            stray.unlink(missing_ok=True)
            report.stray_removed += 1
        if report.check.ok:
            return report
        folder = root / QUARANTINE / now.strftime("%Y%m%dT%H%M%SZ")
        report.quarantine = folder
        moved_parts: set[str] = set()
        salvaged: list[SourceRecord] | None = None
        for damage in report.check.damage:
            relative = damage.path.relative_to(root)
            if damage.kind == "catalog":
                salvaged, report.sources_lost = _salvage(damage.path)
                for suffix in ("", "-wal", "-shm"):
                    extra = damage.path.with_name(damage.path.name + suffix)
                    if extra.exists():
                        _move(extra, folder / (relative.name + suffix), None)
                _write_reason(folder / relative.name, damage.reason)
                report.catalog_rebuilt = True
            else:
                _move(damage.path, folder / relative, damage.reason)
                moved_parts.add(str(relative))
            report.quarantined.append((str(relative), damage.reason))
        catalog = Catalog(layout.catalog)
        try:
            if salvaged is not None:
                for record in salvaged:
                    catalog.begin(record)
                    catalog.finish(record.sha256)
            for record in catalog.sources():
                if moved_parts.intersection(record.files):
                    catalog.forget(record.sha256)
                    report.forgotten.append(record.path)
            report.sources_kept = len(catalog.sources())
        finally:
            catalog.close()
        return report


def _salvage(path: Path) -> tuple[list[SourceRecord], int]:
    """The ``done`` rows SQLite can still read from a damaged catalog, and how many it could not."""
    from pyflare_cli.store.catalog import _record

    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return [], 0
    kept: list[SourceRecord] = []
    lost = 0
    try:
        try:
            rowids = [r[0] for r in db.execute("SELECT rowid FROM sources").fetchall()]
        except sqlite3.Error:
            return [], 0
        for rowid in rowids:
            try:
                row = db.execute(
                    f"SELECT {_COLUMNS} FROM sources WHERE rowid = ?", (rowid,)
                ).fetchone()
                record = _record(row)
            except (sqlite3.Error, ValueError, TypeError):
                lost += 1
                continue
            if record.state == "done":
                kept.append(record)
    finally:
        db.close()
    return kept, lost


def _move(source: Path, target: Path, reason: str | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    if reason is not None:
        _write_reason(target, reason)


def _write_reason(target: Path, reason: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.with_name(target.name + ".reason").write_text(reason + "\n")
