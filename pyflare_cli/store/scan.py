"""The one way to read spans: a lazy scan with partition pruning on time.

Every command and the TUI read through :func:`scan_spans`; filters on ``start_time`` that
the caller passes as ``since``/``until`` skip whole date partitions before Parquet
row-group statistics skip the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pyflare_cli.schema import POLARS_SCHEMA
from pyflare_cli.store.check import require_readable_parts
from pyflare_cli.store.layout import PART_PREFIX, StoreLayout


def span_files(layout: StoreLayout, since: datetime | None, until: datetime | None) -> list[Path]:
    """Visible part files of the partitions that can hold spans in [since, until)."""
    files: list[Path] = []
    # Partitions are UTC days: a bound in another zone may fall on another UTC date.
    low = _utc(since).astimezone(UTC).date() if since else None
    high = _utc(until).astimezone(UTC).date() if until else None
    for day, folder in layout.partitions():
        if low and day < low:
            continue
        if high and day > high:
            continue
        files.extend(sorted(folder.glob(f"{PART_PREFIX}*.parquet")))
    return files


def scan_spans(
    root: Path, since: datetime | None = None, until: datetime | None = None
) -> pl.LazyFrame:
    """All spans of the store at ``root`` with ``since <= start_time < until``."""
    files = span_files(StoreLayout(root), since, until)
    if not files:
        return pl.LazyFrame(schema=POLARS_SCHEMA)
    # A truncated or garbled part fails the whole query with an error naming no file.
    require_readable_parts(files)
    frame = pl.scan_parquet(files)
    if since is not None:
        frame = frame.filter(pl.col("start_time") >= _utc(since))
    if until is not None:
        frame = frame.filter(pl.col("start_time") < _utc(until))
    return frame


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("scan bounds must be timezone-aware")
    return moment
