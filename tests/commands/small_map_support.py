"""Helpers for the tests of readers of the store's small attribute map (store.category):
an old-format part, and a record of which scans read the small map."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from pyflare_cli.schema import SCHEMA_VERSION_KEY
from pyflare_cli.store import scan as scan_module
from pyflare_cli.store.category import CATEGORY_COLUMN


def as_version_1(part: Path) -> None:
    """Rewrite ``part`` as schema version 1 wrote it: no small map, no footer entries."""
    table = pq.read_table(part)
    table = table.drop_columns([CATEGORY_COLUMN]).replace_schema_metadata(
        {SCHEMA_VERSION_KEY: b"1"}
    )
    pq.write_table(table, part, compression="zstd")


def record_small_map(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each scan of the store read the small map."""
    small: list[bool] = []
    real = scan_module.scan_parts

    def recording(files: list[Path], small_map: bool = False) -> pl.LazyFrame:
        small.append(small_map)
        return real(files, small_map)

    monkeypatch.setattr(scan_module, "scan_parts", recording)
    return small
