"""Keep a store small and clean: compaction (merge parts, drop duplicate spans) and pruning.

Both only ever make complete files visible: new parts are written under temporary names
and renamed before the old ones are removed. A crash in between leaves duplicates that the
next compaction removes, never a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from pyflare_cli.store.catalog import Catalog
from pyflare_cli.store.check import locate_damage, require_readable_parts
from pyflare_cli.store.layout import PART_PREFIX, TEMP_PREFIX, StoreLayout
from pyflare_cli.store.lock import process_alive, store_lock
from pyflare_cli.store.merge import plan_merge, write_merged
from pyflare_cli.store.writer import COMPACT_COMPRESSION_LEVEL, fsync_dir, temp_owner

TARGET_ROWS_PER_FILE = 1_000_000


@dataclass
class CompactReport:
    partitions: int = 0
    files_before: int = 0
    files_after: int = 0
    rows_before: int = 0
    rows_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0

    @property
    def duplicates_removed(self) -> int:
        return self.rows_before - self.rows_after


def compact(root: Path, min_files: int = 2) -> CompactReport:
    """Merge each partition's parts into few large ones and drop duplicate spans.

    Holds the store lock throughout, so commits of concurrent ingests wait for it.
    """
    layout = StoreLayout(root)
    report = CompactReport()
    require_readable_parts(layout.span_files())  # name a damaged part before changing anything
    catalog = Catalog(layout.catalog)
    renames: dict[str, list[str]] = {}
    removed: set[str] = set()
    with store_lock(root):
        try:
            _compact_partitions(layout, min_files, report, renames, removed)
            catalog.replace_files(renames, removed - set(renames))
        finally:
            catalog.close()
    return report


def _compact_partitions(
    layout: StoreLayout,
    min_files: int,
    report: CompactReport,
    renames: dict[str, list[str]],
    removed: set[str],
) -> None:
    root = layout.root
    for _, folder in layout.partitions():
        parts = sorted(folder.glob(f"{PART_PREFIX}*.parquet"))
        if not parts:
            continue
        try:  # parts of any schema version
            plan = plan_merge(parts)
        except Exception as exc:  # damage inside a part: name it (exit 2), not ComputeError
            raise locate_damage(parts, exc) from None
        report.partitions += 1
        report.files_before += len(parts)
        report.rows_before += plan.rows_before
        report.rows_after += plan.rows_after
        before_bytes = sum(p.stat().st_size for p in parts)
        report.bytes_before += before_bytes
        if len(parts) < min_files and plan.rows_after == plan.rows_before:
            report.files_after += len(parts)
            report.bytes_after += before_bytes
            continue
        try:
            new_parts = write_merged(
                folder, parts, plan, TARGET_ROWS_PER_FILE, COMPACT_COMPRESSION_LEVEL
            )
        except Exception as exc:
            raise locate_damage(parts, exc) from None
        for old in parts:
            old.unlink()
            removed.add(str(old.relative_to(root)))
        fsync_dir(folder)
        new_names = [str(p.relative_to(root)) for p in new_parts]
        for old in parts:
            renames[str(old.relative_to(root))] = new_names
        report.files_after += len(new_parts)
        report.bytes_after += sum(p.stat().st_size for p in new_parts)


@dataclass
class PruneReport:
    partitions: list[str] = field(default_factory=list)
    files: int = 0
    rows: int = 0
    bytes: int = 0


def prune(root: Path, before: date, dry_run: bool = False) -> PruneReport:
    """Remove every date partition older than ``before`` (whole UTC days)."""
    layout = StoreLayout(root)
    report = PruneReport()
    removed: set[str] = set()
    with store_lock(root):
        for day, folder in layout.partitions():
            if day >= before:
                continue
            parts = sorted(folder.glob(f"{PART_PREFIX}*.parquet"))
            report.partitions.append(day.isoformat())
            report.files += len(parts)
            report.bytes += sum(p.stat().st_size for p in parts)
            if parts:
                require_readable_parts(parts)
                report.rows += pl.scan_parquet(parts, glob=False).select(pl.len()).collect().item()
            if dry_run:
                continue
            for part in parts:
                removed.add(str(part.relative_to(root)))
                part.unlink()
            _remove_if_unused(folder)
        if removed and layout.catalog.exists():
            catalog = Catalog(layout.catalog)
            try:
                catalog.replace_files({}, removed)
            finally:
                catalog.close()
    return report


def _remove_if_unused(folder: Path) -> None:
    """Delete a pruned partition folder, unless a live process is still writing into it."""
    busy = False
    for leftover in folder.iterdir():
        if leftover.name.startswith(TEMP_PREFIX) and process_alive(temp_owner(leftover)):
            busy = True
        else:
            leftover.unlink()
    if not busy:
        folder.rmdir()
