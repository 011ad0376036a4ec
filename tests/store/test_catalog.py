"""The catalog: a real SQLite file recording sources, their state and their part files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pyflare_cli.store.catalog import Catalog, SourceRecord

RECORD = SourceRecord(
    sha256="ab" * 32,
    path="/data/trace.json",
    size=7942,
    format="otlp-json",
    rows=4,
    dead_lettered=1,
    ingested_at="2025-11-20T12:00:00+00:00",
    state="committing",
    files=("spans/date=2025-11-20/part-1.parquet", "spans/date=2025-11-21/part-2.parquet"),
)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    catalog = Catalog(tmp_path / "deep" / "catalog.sqlite")
    yield catalog
    catalog.close()


def test_begin_then_finish(catalog: Catalog) -> None:
    assert catalog.find(RECORD.sha256) is None
    catalog.begin(RECORD)
    assert catalog.find(RECORD.sha256) == RECORD
    assert catalog.committing() == [RECORD]
    catalog.finish(RECORD.sha256)
    assert catalog.find(RECORD.sha256) == replace(RECORD, state="done")
    assert catalog.committing() == []


def test_begin_forces_committing_state(catalog: Catalog) -> None:
    catalog.begin(replace(RECORD, state="done"))
    found = catalog.find(RECORD.sha256)
    assert found is not None and found.state == "committing"


def test_persists_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    first = Catalog(path)
    first.begin(RECORD)
    first.finish(RECORD.sha256)
    first.close()
    second = Catalog(path)
    assert second.sources() == [replace(RECORD, state="done")]
    second.close()
    rows = sqlite3.connect(path).execute("SELECT path, rows, state FROM sources").fetchall()
    assert rows == [("/data/trace.json", 4, "done")]


def test_sources_in_ingestion_order_and_lookup_by_path(catalog: Catalog) -> None:
    later = replace(RECORD, sha256="cd" * 32, ingested_at="2025-11-21T00:00:00+00:00")
    other = replace(
        RECORD, sha256="ef" * 32, path="/other", ingested_at="2025-11-19T00:00:00+00:00"
    )
    for record in (later, RECORD, other):
        catalog.begin(record)
    assert [r.sha256 for r in catalog.sources()] == [other.sha256, RECORD.sha256, later.sha256]
    assert {r.sha256 for r in catalog.find_by_path("/data/trace.json")} == {
        RECORD.sha256,
        later.sha256,
    }
    catalog.forget(RECORD.sha256)
    assert catalog.find(RECORD.sha256) is None
    assert len(catalog.sources()) == 2


def test_replace_files(catalog: Catalog) -> None:
    catalog.begin(RECORD)
    second = replace(
        RECORD,
        sha256="cd" * 32,
        files=("spans/date=2025-11-20/part-3.parquet", "spans/date=2025-11-19/part-4.parquet"),
    )
    catalog.begin(second)
    merged = "spans/date=2025-11-20/part-merged.parquet"
    catalog.replace_files(
        {
            "spans/date=2025-11-20/part-1.parquet": [merged],
            "spans/date=2025-11-20/part-3.parquet": [merged],
        },
        {"spans/date=2025-11-19/part-4.parquet"},
    )
    first_files = catalog.find(RECORD.sha256)
    second_files = catalog.find(second.sha256)
    assert first_files is not None and second_files is not None
    assert first_files.files == (merged, "spans/date=2025-11-21/part-2.parquet")
    assert second_files.files == (merged,)


def test_replace_files_never_lists_a_file_twice(catalog: Catalog) -> None:
    catalog.begin(replace(RECORD, files=("a", "b", "c")))
    catalog.replace_files({"a": ["m"], "b": ["m"]}, set())
    found = catalog.find(RECORD.sha256)
    assert found is not None and found.files == ("m", "c")


def test_replace_files_maps_one_file_to_several(catalog: Catalog) -> None:
    catalog.begin(replace(RECORD, files=("a", "b")))
    catalog.replace_files({"a": ["m1", "m2"]}, set())
    found = catalog.find(RECORD.sha256)
    assert found is not None and found.files == ("m1", "m2", "b")
