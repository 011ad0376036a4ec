"""Polars: the default engine, today's behaviour: lazy scans of the store in this process.

The analyses were written on Polars, so this engine is the reference the others are
tested against; its relations are lazy frames and its queries are the analyses' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.store.scan import scan_spans


class PolarsEngine:
    name = "polars"

    def __init__(self, root: Path) -> None:
        self.root = root

    def spans(
        self, since: datetime | None, until: datetime | None, columns: Sequence[str]
    ) -> pl.LazyFrame:
        """``columns`` of the spans in ``[since, until)``, pruned by day and row group."""
        return scan_spans(self.root, since, until).select(columns)

    def upload(self, frame: pl.DataFrame) -> pl.LazyFrame:
        return frame.lazy()

    def collect_all(self, queries: Sequence[pl.LazyFrame]) -> list[pl.DataFrame]:
        return pl.collect_all(list(queries))

    def sample(
        self, relation: pl.LazyFrame, n: int, seed: int, key: str = "span_id"
    ) -> pl.LazyFrame:
        """``n`` rows chosen by a seeded hash of ``key`` (a bounded top-n, no full load)."""
        order = pl.col(key).hash(seed)
        return relation.with_columns(order.alias("_h")).bottom_k(n, by=["_h", key]).drop("_h")

    def close(self) -> None:
        """Nothing to release."""
