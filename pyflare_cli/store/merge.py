"""Merge one day's parts into sorted, duplicate-free parts in memory bounded by a chunk.

Collecting a whole day (every column, prompt payloads included) peaked at 4 GiB for
~320,000 spans a day; a day of 10M spans could not be compacted. Instead:

1. :func:`plan_merge` reads only the keys (trace id, span id, service, start time) with
   each row's index in the day's scan order, drops duplicate spans keeping the first in
   that order, and sorts the rest as :func:`pyflare_cli.store.writer.sort_for_store` does,
   ties in scan order (what the whole-day sort gave), in the streaming engine: about
   240 bytes a span at the peak (1M spans: 237 MiB above the interpreter).
2. :func:`write_merged` cuts that order into files of ``rows_per_file`` rows and each
   file into chunks of :data:`CHUNK_ROWS` (whole row groups), reads each chunk's rows one
   part at a time, only the slice between its first and last row there (every part is
   sorted in store order, so the slice is about the rows wanted, and Polars reads only
   the row groups it covers), and appends them to the file.

Each chunk is a whole number of row groups of the file, so the row groups are those
``write_parquet`` writes for the whole file, and the footer lists the long category keys
of the whole file (:mod:`pyflare_cli.store.category`).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow.parquet as pq

from pyflare_cli.schema import SCHEMA_VERSION, SCHEMA_VERSION_KEY, to_arrow
from pyflare_cli.store.category import ANY, LONG_KEYS_KEY, MAX_LISTED, with_category_map
from pyflare_cli.store.layout import PART_PREFIX
from pyflare_cli.store.scan import scan_parts
from pyflare_cli.store.writer import ROW_GROUP_SIZE, UNSUMMARISED, temp_name

if TYPE_CHECKING:
    from types import TracebackType

CHUNK_ROWS = 2 * ROW_GROUP_SIZE
"""Rows read and written at a time: a whole number of row groups (65,536 spans)."""
_ROW = "_pyflare_row"
_KEYS = ["trace_id", "span_id"]


@dataclass(frozen=True)
class MergePlan:
    rows_before: int
    order: pl.DataFrame
    """Row index, service_name and start_time of the rows kept, in store order."""
    starts: pl.Series
    """Row index of each part's first row, then of the row after the last part."""

    @property
    def rows_after(self) -> int:
        return self.order.height


def plan_merge(parts: list[Path]) -> MergePlan:
    """Which rows of ``parts`` (in this order) to keep, and in which order to write them."""
    # Streaming: the keys are hashed as they are read, not collected first (1M spans:
    # 237 MiB above the interpreter, 482 collected).
    order = (
        scan_parts(parts)
        .with_row_index(_ROW)
        .select(_ROW, *_KEYS, "service_name", "start_time")
        .unique(subset=_KEYS, keep="first", maintain_order=True)
        .drop(_KEYS)
        .sort("service_name", "start_time", nulls_last=True, maintain_order=True)
        .collect(engine="streaming")
    )
    counts = [pq.read_metadata(part).num_rows for part in parts]
    starts = pl.Series("starts", [0, *counts], pl.UInt32).cum_sum()
    return MergePlan(int(starts[-1]), order, starts)


def write_merged(
    folder: Path, parts: list[Path], plan: MergePlan, rows_per_file: int, level: int
) -> list[Path]:
    """Write the plan's rows as new parts of at most ``rows_per_file`` rows each, under
    temporary names, then rename them all; the final paths."""
    temps: list[Path] = []
    finals: list[Path] = []
    try:
        for offset in range(0, plan.rows_after, rows_per_file):
            name = f"{uuid.uuid4().hex}.parquet"
            temp = folder / temp_name(os.getpid(), name)
            temps.append(temp)
            file_order = plan.order.slice(offset, rows_per_file)
            with PartWriter(temp, level) as writer:
                for start in range(0, file_order.height, CHUNK_ROWS):
                    chunk = file_order.slice(start, CHUNK_ROWS)
                    writer.write(_read_chunk(parts, plan.starts, chunk))
            finals.append(folder / f"{PART_PREFIX}{name}")
    except BaseException:
        for temp in temps:  # no half-merged day left behind; the old parts are untouched
            temp.unlink(missing_ok=True)
        raise
    for temp, final in zip(temps, finals, strict=True):
        os.replace(temp, final)
    return finals


def _read_chunk(parts: list[Path], starts: pl.Series, chunk: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``chunk`` (row index, service_name, start_time), every column, in its
    order. Every part is sorted in store order, so a chunk's rows in a part lie close
    together: each part is read only from the first to the last of them."""
    rows = chunk.get_column(_ROW)
    spans = (
        chunk.select(_ROW)
        .with_columns(part=starts.search_sorted(rows, side="right") - 1)
        .group_by("part")
        .agg(low=pl.col(_ROW).min(), high=pl.col(_ROW).max())
        .sort("part")
    )
    pieces = []
    for part, low, high in spans.rows():  # one part at a time: one part's pages in memory
        first = starts[part]  # a slice of a part reads only the row groups it covers
        scan = scan_parts([parts[part]]).with_row_index(_ROW, offset=first)
        piece = scan.slice(low - first, high - low + 1).filter(pl.col(_ROW).is_in(rows.implode()))
        pieces.append(piece.collect())
    found = pl.concat(pieces, rechunk=False)  # in row index order
    del pieces
    if found.height != chunk.height:
        raise RuntimeError(f"compaction read {found.height} rows of {chunk.height}")
    # The i-th row wanted is the found row of its rank among the rows wanted.
    return found.drop(_ROW).gather(rows.rank("ordinal") - 1)


class PartWriter:
    """One part written a chunk at a time, with ``write_parquet``'s options; the footer's
    long category keys are those of all chunks. Each chunk but the last must be a whole
    number of row groups for the row groups to be ``write_parquet``'s."""

    def __init__(self, path: Path, level: int) -> None:
        self.path = path
        self.level = level
        self._handle = path.open("wb")
        self._writer: pq.ParquetWriter | None = None
        self._left_out: set[str] = set()
        self._any = False

    def write(self, frame: pl.DataFrame) -> None:
        table = with_category_map(to_arrow(frame))
        metadata = dict(table.schema.metadata or {})
        listed = metadata.pop(LONG_KEYS_KEY).decode()
        if listed == ANY:
            self._any = True
        else:
            self._left_out.update(json.loads(listed))
        metadata[SCHEMA_VERSION_KEY] = str(SCHEMA_VERSION).encode()
        table = table.replace_schema_metadata(metadata)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self._handle,
                table.schema,
                compression="zstd",
                compression_level=self.level,
                use_dictionary=True,
                write_statistics=[c for c in table.column_names if c not in UNSUMMARISED],
            )
        self._writer.write_table(table, row_group_size=ROW_GROUP_SIZE)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if self._writer is not None:
                if kind is None:
                    many = self._any or len(self._left_out) > MAX_LISTED
                    listed = ANY if many else json.dumps(sorted(self._left_out))
                    self._writer.add_key_value_metadata({LONG_KEYS_KEY.decode(): listed})
                self._writer.close()
            if kind is None:
                self._handle.flush()
                os.fsync(self._handle.fileno())
        finally:
            self._handle.close()
