"""The store's Parquet parts as the SQL engines read them: which files, typed empty windows.

Partition pruning is the store's own (:func:`store.scan.span_files`: only the UTC days a
window touches); each engine adds row-group pruning on ``start_time`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.engine.base import Dialect
from pyflare_cli.schema import POLARS_SCHEMA
from pyflare_cli.store.check import require_readable_parts
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.scan import span_files

_EMPTY_MAP = {
    "duckdb": "CAST(NULL AS MAP(VARCHAR, VARCHAR))",
    "spark": "CAST(NULL AS MAP<STRING, STRING>)",
    "clickhouse": "CAST(map(), 'Map(String, String)')",
}


def window_files(root: Path, since: datetime | None, until: datetime | None) -> list[Path]:
    """The readable part files that can hold spans in ``[since, until)`` (exit 2 on damage)."""
    files = span_files(StoreLayout(root), since, until)
    if files:
        require_readable_parts(files)
    return files


def ns(moment: datetime) -> int:
    """An aware datetime as integer nanoseconds since the epoch (exact)."""
    if moment.tzinfo is None:
        raise ValueError("window bounds must be timezone-aware")
    whole = int(moment.timestamp())
    return whole * 10**9 + moment.microsecond * 1000


def empty_spans(d: Dialect, columns: Sequence[str]) -> str:
    """A ``SELECT`` of no rows with ``columns`` (plus ``start_ns``/``end_ns``) typed."""
    parts = []
    for name in columns:
        dtype = POLARS_SCHEMA[name]
        if dtype == pl.String:
            to = d.string
        elif dtype.is_integer():
            to = d.int64
        elif dtype.is_float():
            to = d.float64
        elif isinstance(dtype, pl.Map):
            parts.append(f"{_EMPTY_MAP[d.name]} AS {name}")
            continue
        else:
            raise ValueError(f"cannot select an empty {name} column")
        parts.append(f"{d.cast('NULL', to)} AS {name}")
    parts += [f"{d.cast('NULL', d.int64)} AS {c}" for c in ("start_ns", "end_ns")]
    return f"SELECT * FROM (SELECT {', '.join(parts)}) AS none WHERE 1 = 0"
