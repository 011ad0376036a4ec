"""The one way to read spans: a lazy scan with partition pruning on time.

Every command and the TUI read through :func:`scan_spans`; filters on ``start_time`` that
the caller passes as ``since``/``until`` skip whole date partitions before Parquet
row-group statistics skip the rest. Damage inside a part (a garbled page under an intact
footer) only shows when a query is collected, as a Polars error naming no file:
:func:`damage_behind` finds the part among those this process scanned.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pyflare_cli.errors import DamagedStore, UsageError
from pyflare_cli.schema import COLUMNS, POLARS_SCHEMA
from pyflare_cli.store.category import CATEGORY_COLUMN, AttributeReads, small_map_serves
from pyflare_cli.store.check import damaged_part_message, part_problem, require_readable_parts
from pyflare_cli.store.layout import PART_PREFIX, StoreLayout
from pyflare_cli.store.remote import remote_of, scan_remote

_SCANNED: dict[Path, dict[Path, None]] = {}
"""Parts of the last store this process scanned, in order (bounded by the store's parts):
where :func:`damage_behind` looks when collecting a scan fails."""
_READ_ERROR_MODULES = ("polars", "pyarrow", "pyo3_runtime")
"""Errors raised by these (ComputeError, ArrowInvalid, a Rust panic) can come from a
damaged page; other errors are bugs and stay internal errors."""
_PLAN_ERRORS = (
    pl.exceptions.SQLInterfaceError,
    pl.exceptions.SQLSyntaxError,
    pl.exceptions.ColumnNotFoundError,
    pl.exceptions.SchemaFieldNotFoundError,
    pl.exceptions.StructFieldNotFoundError,
    pl.exceptions.DuplicateError,
)
"""Errors of a query that does not plan (a typo in SQL): not worth reading the store for."""


def span_files(layout: StoreLayout, since: datetime | None, until: datetime | None) -> list[Path]:
    """Visible part files of the partitions that can hold spans in [since, until)."""
    remote = remote_of(layout.root)
    if remote is not None:  # its parts are URLs, read through scan_spans only
        raise UsageError(f"store {remote.url}: this reads part files, not on s3:// stores yet")
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
    root: Path,
    since: datetime | None = None,
    until: datetime | None = None,
    reads: AttributeReads | None = None,
) -> pl.LazyFrame:
    """All spans of the store at ``root`` with ``since <= start_time < until``.

    With ``reads`` (what the caller reads of the attributes), ``attributes`` is the parts'
    small map when it holds every value read in every part (:mod:`.category`); the
    caller must then read no other attribute key."""
    remote = remote_of(root)
    if remote is not None:  # an s3:// store (store.remote): its parts are read where they are
        return scan_remote(remote, since, until)
    files = span_files(StoreLayout(root), since, until)
    if not files:
        return pl.LazyFrame(schema=POLARS_SCHEMA)
    # A truncated or garbled part fails the whole query with an error naming no file.
    require_readable_parts(files)
    if root not in _SCANNED:  # another store (tests, the TUI): forget the last one's parts
        _SCANNED.clear()
    _SCANNED.setdefault(root, {}).update(dict.fromkeys(files))
    small = reads is not None and small_map_serves(files, reads)
    frame = scan_parts(files, small)
    if since is not None:
        frame = frame.filter(pl.col("start_time") >= _utc(since))
    if until is not None:
        frame = frame.filter(pl.col("start_time") < _utc(until))
    return frame


def scan_parts(files: list[Path], small_map: bool = False) -> pl.LazyFrame:
    """The canonical columns of ``files``, parts of every schema version together; with
    ``small_map``, ``attributes`` read from ``category_attributes`` (all parts have it)."""
    # The first part's columns lead; a part of another version is no error (the small map
    # is missing from version 1, extra to it). Not schema=POLARS_SCHEMA: that raised the
    # peak of `stats --by tool` on 1M spans by 30-50 MiB.
    frame = pl.scan_parquet(files, glob=False, missing_columns="insert", extra_columns="ignore")
    return frame.select(
        pl.col(CATEGORY_COLUMN).alias(c) if small_map and c == "attributes" else pl.col(c)
        for c in COLUMNS
    )


def damage_behind(error: BaseException) -> DamagedStore | None:
    """After ``error`` escaped a command: the scanned part that cannot be read, named with
    the way out (exit 2), when the error came from reading and such a part exists.

    Reads every part scanned in this process in full, so only on the error path. pyarrow
    reads each part's row groups first; a part it reads is then read by Polars, whose
    decoder refuses some damage pyarrow lets through. A part gone since (compacted) is
    not damage."""
    module = type(error).__module__.split(".")[0]
    if module not in _READ_ERROR_MODULES and not isinstance(error, OSError):
        return None
    if isinstance(error, _PLAN_ERRORS):  # a query that does not plan: no data was read
        return None
    for path in [part for parts in _SCANNED.values() for part in parts]:
        if not path.exists():
            continue
        problem = part_problem(path)[0] or _polars_problem(path)
        if problem is not None:
            return DamagedStore(damaged_part_message(path, problem))
    return None


def _polars_problem(path: Path) -> str | None:
    try:
        pl.scan_parquet(path, glob=False).collect()
    except (Exception, pl.exceptions.PanicException) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        return f"{type(exc).__name__}: {first}".rstrip(": ")
    return None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("scan bounds must be timezone-aware")
    return moment
