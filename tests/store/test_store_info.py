"""``store_info``: the figures ``pyflare store info`` prints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pyflare_cli.store.info import store_info
from pyflare_cli.store.layout import StoreLayout

MakeSpans = Callable[..., pl.DataFrame]
AddSource = Callable[[Path, pl.DataFrame, str], list[Path]]
T0 = datetime(2025, 6, 1, 23, 30, tzinfo=UTC)


def test_figures(tmp_store: Path, make_spans: MakeSpans, add_source: AddSource) -> None:
    add_source(
        tmp_store,
        make_spans(
            {
                "span_id": "a",
                "trace_id": "t1",
                "service_name": "web",
                "model": "gpt-4o",
                "start_time": T0,
            },
            {
                "span_id": "b",
                "trace_id": "t1",
                "service_name": "api",
                "model": "gpt-4o",
                "start_time": T0 + timedelta(hours=1),
            },
        ),
        "s1",
    )
    add_source(
        tmp_store,
        make_spans(
            {
                "span_id": "c",
                "trace_id": "t2",
                "service_name": "api",
                "model": "claude",
                "start_time": T0 + timedelta(days=2),
            },
            {
                "span_id": "d",
                "trace_id": "t2",
                "service_name": "api",
                "start_time": T0 - timedelta(minutes=1),
            },
        ),
        "s2",
    )
    dead = StoreLayout(tmp_store).dead_letter_partition(T0.date())
    dead.mkdir(parents=True)
    (dead / "x.jsonl").write_text("{}\n")
    (dead / "y.jsonl").write_text("{}\n")

    info = store_info(tmp_store)

    files = StoreLayout(tmp_store).span_files()
    assert info.root == str(tmp_store)
    assert (info.rows, info.traces, info.services, info.models) == (4, 2, 2, 2)
    assert info.first_span == T0 - timedelta(minutes=1)
    assert info.last_span == T0 + timedelta(days=2)
    # s1 spans two days, s2 two more: 06-01 (both), 06-02, 06-03.
    assert (info.partitions, info.files) == (3, 4)
    assert len(files) == 4
    assert info.bytes == sum(f.stat().st_size for f in files)
    assert info.bytes_per_span == info.bytes / 4
    assert (info.sources, info.dead_letter_files) == (2, 2)


def test_empty_store(tmp_store: Path) -> None:
    info = store_info(tmp_store)
    assert (info.rows, info.traces, info.services, info.models) == (0, 0, 0, 0)
    assert info.first_span is None and info.last_span is None
    assert (info.partitions, info.files, info.bytes, info.sources) == (0, 0, 0, 0)
    assert info.bytes_per_span == 0.0
    assert info.dead_letter_files == 0
