"""Write canonical spans into date partitions, invisible until the whole source commits.

Each call to :meth:`SpanWriter.write` splits a batch by the UTC date of ``start_time``,
sorts it by (service_name, start_time) and writes zstd Parquet under a temporary name
(fsynced). :meth:`SpanWriter.commit` records the parts in the catalog, renames them to
``part-<uuid>.parquet`` and marks the source done (see :mod:`pyflare_cli.store.catalog`).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pyflare_cli.schema import SCHEMA_VERSION, SCHEMA_VERSION_KEY, to_arrow
from pyflare_cli.store.catalog import Catalog, SourceRecord
from pyflare_cli.store.category import CATEGORY_COLUMN, with_category_map
from pyflare_cli.store.layout import PART_PREFIX, TEMP_PREFIX, StoreLayout
from pyflare_cli.store.lock import process_alive, store_lock

ROW_GROUP_SIZE = 8 * 1024
"""Rows per Parquet row group. Readers decode a whole row group of a column at a time, and
the attribute maps hold the prompt payloads, so this bounds every analysis's peak: on the
3-day 1M store, compacted with 131,072-row groups rca errors peaked at 540 MiB and latency
at 565 MiB; with 8,192-row groups 270-280 and 310-350 MiB (ingested parts had ~10,000),
for 2% more bytes."""
INGEST_COMPRESSION_LEVEL = 3
"""Fast enough not to slow ingest down; compaction rewrites with :data:`COMPACT_...`."""
COMPACT_COMPRESSION_LEVEL = 9
UNSUMMARISED = frozenset(
    [
        "input_text",
        "output_text",
        "embedding",
        "attributes",
        CATEGORY_COLUMN,
        "resource_attributes",
        "events",
        "links",
    ]
)
"""Columns written without min/max statistics: long text and nested values, by which no
query can skip a row group (a row group's smallest and largest prompt say nothing); their
statistics were about a tenth of the Parquet write's CPU."""


def write_parquet(frame: pl.DataFrame, path: Path, level: int = INGEST_COMPRESSION_LEVEL) -> None:
    """Write canonical spans to ``path`` durably, with the schema version in the metadata
    and the small attribute map (:mod:`pyflare_cli.store.category`) beside ``attributes``."""
    table = with_category_map(to_arrow(frame))
    metadata = dict(table.schema.metadata or {})
    metadata[SCHEMA_VERSION_KEY] = str(SCHEMA_VERSION).encode()
    table = table.replace_schema_metadata(metadata)
    with open(path, "wb") as handle:
        pq.write_table(
            table,
            handle,
            compression="zstd",
            compression_level=level,
            row_group_size=ROW_GROUP_SIZE,
            use_dictionary=True,
            write_statistics=[c for c in table.column_names if c not in UNSUMMARISED],
        )
        handle.flush()
        os.fsync(handle.fileno())


def sort_for_store(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("service_name", "start_time", nulls_last=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(owner: int, name: str) -> str:
    """The temporary name of part ``name`` (``<uuid>.parquet``) written for process ``owner``."""
    return f"{TEMP_PREFIX}{owner}-{name}"


def temp_owner(path: Path) -> int:
    """The pid in a temporary part's name, or 0 when it has none."""
    owner = path.name[len(TEMP_PREFIX) :].split("-", 1)[0]
    return int(owner) if owner.isdigit() else 0


@dataclass
class SpanWriter:
    """Buffers nothing: writes each batch to temporary parts at once (bounded memory).

    ``owner`` is the pid of the process that will commit the parts (the ingest's main
    process, also when a worker writes them), so recovery knows whose they are.
    """

    layout: StoreLayout
    owner: int = field(default_factory=os.getpid)
    pending: list[tuple[Path, Path]] = field(default_factory=list)
    rows: int = 0

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        days = frame.get_column("start_time").dt.date()
        for (day,), part in (
            frame.with_columns(days.alias("_day"))
            .partition_by("_day", as_dict=True, include_key=False)
            .items()
        ):
            folder = self.layout.partition(day)
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{uuid.uuid4().hex}.parquet"
            temp = folder / temp_name(self.owner, name)
            try:
                write_parquet(sort_for_store(part), temp)
            except BaseException:
                # A part cut short (a full disk) is no part: its owner is alive, so
                # recover() would leave it until a restart.
                temp.unlink(missing_ok=True)
                raise
            self.pending.append((temp, folder / f"{PART_PREFIX}{name}"))
            self.rows += part.height

    def adopt(self, parts: list[tuple[Path, Path]], rows: int) -> None:
        """Take over temporary parts another writer (a worker process) wrote."""
        self.pending.extend(parts)
        self.rows += rows

    def final_names(self) -> tuple[str, ...]:
        return tuple(str(final.relative_to(self.layout.root)) for _, final in self.pending)

    def commit(self, catalog: Catalog, record: SourceRecord) -> bool:
        """Make every part visible and record the source, atomically with respect to crashes.

        Returns False, and discards the parts, when another process committed the same
        source (same sha256) first.
        """
        with store_lock(self.layout.root):
            known = catalog.find(record.sha256)
            if known is not None and known.state == "done":
                self.abort()
                return False
            catalog.begin(record)
            folders = set()
            for temp, final in self.pending:
                os.replace(temp, final)
                folders.add(final.parent)
            for folder in folders:
                fsync_dir(folder)
            catalog.finish(record.sha256)
        self.pending.clear()
        return True

    def abort(self) -> None:
        for temp, _ in self.pending:
            temp.unlink(missing_ok=True)
        self.pending.clear()


def recover(layout: StoreLayout, catalog: Catalog) -> None:
    """Finish interrupted commits; delete temporary parts whose owner process is gone."""
    with store_lock(layout.root):
        for record in catalog.committing():
            for name in record.files:
                final = layout.root / name
                uuid_name = final.name[len(PART_PREFIX) :]
                for temp in final.parent.glob(f"{TEMP_PREFIX}*{uuid_name}"):
                    os.replace(temp, final)
            catalog.finish(record.sha256)
        if layout.spans.is_dir():
            for temp in layout.spans.glob(f"date=*/{TEMP_PREFIX}*.parquet"):
                if not process_alive(temp_owner(temp)):
                    temp.unlink(missing_ok=True)
