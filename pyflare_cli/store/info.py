"""What is in a store: the figures of ``pyflare store info``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.store.catalog import Catalog
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.scan import scan_spans


@dataclass(frozen=True)
class StoreInfo:
    root: str
    rows: int
    traces: int
    services: int
    models: int
    first_span: datetime | None
    last_span: datetime | None
    partitions: int
    files: int
    bytes: int
    sources: int
    dead_letter_files: int

    @property
    def bytes_per_span(self) -> float:
        return self.bytes / self.rows if self.rows else 0.0


def store_info(root: Path) -> StoreInfo:
    layout = StoreLayout(root)
    files = layout.span_files()
    stats = (
        scan_spans(root)
        .select(
            pl.len().alias("rows"),
            pl.col("trace_id").n_unique().alias("traces"),
            pl.col("service_name").n_unique().alias("services"),
            pl.col("model").drop_nulls().n_unique().alias("models"),
            pl.col("start_time").min().alias("first"),
            pl.col("start_time").max().alias("last"),
        )
        .collect()
        .row(0, named=True)
    )
    sources = 0
    if layout.catalog.exists():
        catalog = Catalog(layout.catalog)
        try:
            sources = len(catalog.sources())
        finally:
            catalog.close()
    dead = list(layout.dead_letter.glob("date=*/*.jsonl")) if layout.dead_letter.is_dir() else []
    return StoreInfo(
        root=str(root),
        rows=int(stats["rows"]),
        traces=int(stats["traces"]),
        services=int(stats["services"]),
        models=int(stats["models"]),
        first_span=stats["first"],
        last_span=stats["last"],
        partitions=len(layout.partitions()),
        files=len(files),
        bytes=sum(f.stat().st_size for f in files),
        sources=sources,
        dead_letter_files=len(dead),
    )
