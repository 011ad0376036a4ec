"""The small attribute map: written beside ``attributes`` by every writer, read only when
it gives exactly what the full map gives (every part has it, no key read was left out)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.schema import COLUMNS, SCHEMA_VERSION_KEY, to_arrow
from pyflare_cli.store.catalog import Catalog
from pyflare_cli.store.category import (
    CATEGORY_COLUMN,
    LONG_KEYS_KEY,
    MAX_VALUE_BYTES,
    RULE_KEY,
    AttributeReads,
    category_map,
    small_map_serves,
)
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.maintenance import compact
from pyflare_cli.store.scan import scan_spans

MakeSpans = Callable[..., pl.DataFrame]
AddSource = Callable[[Path, pl.DataFrame, str], list[Path]]
DAY = datetime(2025, 3, 2, 12, tzinfo=UTC)
LONG = "x" * (MAX_VALUE_BYTES + 1)
PAYLOAD = '[{"role": "user", "content": "' + "a" * 2000 + '"}]'


def attributes(i: int, long_db: bool = False) -> dict[str, str]:
    return {
        "http.route": f"/r{i % 3}",
        "db.system.name": LONG if long_db else "postgresql",
        "gen_ai.input.messages": PAYLOAD,  # a payload key: never in the small map
        "retrieval.documents.0.document.id": "doc-1",  # indexed: never
        "session.id": f"s-{i}",  # id-like: never
        "app.tier": "x" * MAX_VALUE_BYTES,  # exactly the limit: kept
    }


def spans(make_spans: MakeSpans, first: int, n: int, long_db: bool = False) -> pl.DataFrame:
    return make_spans(
        *(
            {
                "span_id": f"s{i:04d}",
                "start_time": DAY + timedelta(seconds=i),
                "attributes": attributes(i, long_db and i == first),
            }
            for i in range(first, first + n)
        )
    )


def write_old_part(root: Path, frame: pl.DataFrame, name: str) -> Path:
    """A part as schema version 1 wrote it: no small map, no footer entries."""
    folder = StoreLayout(root).partition(DAY.date())
    folder.mkdir(parents=True, exist_ok=True)
    table = to_arrow(frame).replace_schema_metadata({SCHEMA_VERSION_KEY: b"1"})
    path = folder / f"part-{name}.parquet"
    pq.write_table(table, path, compression="zstd")
    return path


def parts(root: Path) -> list[Path]:
    return StoreLayout(root).span_files()


def test_the_writer_keeps_short_category_values_and_lists_the_long_ones(
    tmp_store: Path, make_spans: MakeSpans, add_source: AddSource
) -> None:
    (path,) = add_source(tmp_store, spans(make_spans, 0, 3, long_db=True), "a")
    parquet = pq.ParquetFile(path)
    metadata = parquet.schema_arrow.metadata
    assert metadata[RULE_KEY] == b"1"
    assert json.loads(metadata[LONG_KEYS_KEY]) == ["db.system.name"]
    small = pl.read_parquet(path).select("span_id", CATEGORY_COLUMN).sort("span_id")
    rows = [dict(row) for row in small[CATEGORY_COLUMN].to_list()]
    tier = "x" * MAX_VALUE_BYTES
    assert rows == [
        {"http.route": "/r0", "app.tier": tier},  # its db.system.name is too long
        {"http.route": "/r1", "db.system.name": "postgresql", "app.tier": tier},
        {"http.route": "/r2", "db.system.name": "postgresql", "app.tier": tier},
    ]
    # attributes keeps all
    full = pl.read_parquet(path).sort("span_id")["attributes"].to_list()
    assert dict(full[0]) == attributes(0, long_db=True)


def test_category_map_of_a_sliced_column_with_null_rows() -> None:
    maps = pa.array(
        [[("http.route", "/a")], None, [("gen_ai.x", "p"), ("db.system", "pg")], []],
        pa.map_(pa.string(), pa.string()),
    )
    small, left_out = category_map(maps.slice(1, 3))
    assert small.to_pylist() == [None, [("db.system", "pg")], []]
    assert left_out == []


def test_the_small_map_serves_only_keys_it_holds_in_every_part(
    tmp_store: Path, make_spans: MakeSpans, add_source: AddSource
) -> None:
    add_source(tmp_store, spans(make_spans, 0, 4), "a")
    add_source(tmp_store, spans(make_spans, 10, 4), "b")
    files = parts(tmp_store)
    assert small_map_serves(files, AttributeReads(frozenset({"http.route"})))
    assert small_map_serves(files, AttributeReads(any_category=True))
    # keys it never holds: payloads, ids
    assert not small_map_serves(files, AttributeReads(frozenset({"session.id"})))
    assert not small_map_serves(files, AttributeReads(frozenset({"gen_ai.input.messages"})))
    reads = AttributeReads(frozenset({"http.route"}))
    small = scan_spans(tmp_store, reads=reads).collect()
    full = scan_spans(tmp_store).collect()
    assert small.columns == full.columns == list(COLUMNS)
    route = pl.col("attributes").map.get("http.route")
    assert_frame_equal(small.select("span_id", route), full.select("span_id", route))
    assert "gen_ai.input.messages" not in dict(small["attributes"][0])  # the small map
    # one part left a category key out for a long value: readers of it get the full map
    add_source(tmp_store, spans(make_spans, 20, 2, long_db=True), "c")
    files = parts(tmp_store)
    assert small_map_serves(files, reads)
    assert not small_map_serves(files, AttributeReads(frozenset({"db.system.name"})))
    assert not small_map_serves(files, AttributeReads(any_category=True))
    db = AttributeReads(frozenset({"db.system.name"}))
    got = scan_spans(tmp_store, reads=db).collect()
    assert dict(got.filter(pl.col("span_id") == "s0020")["attributes"][0])["db.system.name"] == LONG


@pytest.mark.parametrize("old_name", ["0000", "ffff"])  # the old part scanned first or last
def test_a_store_of_both_versions_reads_the_full_map_until_compacted(
    tmp_store: Path, make_spans: MakeSpans, add_source: AddSource, old_name: str
) -> None:
    add_source(tmp_store, spans(make_spans, 0, 4), "a")
    Catalog(StoreLayout(tmp_store).catalog).close()
    write_old_part(tmp_store, spans(make_spans, 10, 4), old_name)
    files = parts(tmp_store)
    assert len(files) == 2
    reads = AttributeReads(frozenset({"http.route"}), any_category=True)
    assert not small_map_serves(files, reads)  # the old part has none
    mixed = scan_spans(tmp_store, reads=reads).collect().sort("span_id")
    assert mixed.height == 8 and mixed.columns == list(COLUMNS)
    assert dict(mixed["attributes"][4]) == attributes(10)  # the full map, for every part
    assert_frame_equal(scan_spans(tmp_store).collect().sort("span_id"), mixed)
    compact(tmp_store, min_files=1)
    assert small_map_serves(parts(tmp_store), reads)  # compaction wrote the small map
    after = scan_spans(tmp_store, reads=reads).collect().sort("span_id")
    route = pl.col("attributes").map.get("http.route")
    assert_frame_equal(after.select("span_id", route), mixed.select("span_id", route))
