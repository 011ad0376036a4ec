"""Writing spans: UTC date partitions, sorted zstd Parquet, invisible until committed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.schema import COLUMNS, SCHEMA_VERSION, SCHEMA_VERSION_KEY, arrow_schema
from pyflare_cli.store.catalog import Catalog, SourceRecord
from pyflare_cli.store.category import CATEGORY_COLUMN
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.scan import scan_spans
from pyflare_cli.store.writer import SpanWriter, recover, write_parquet

MakeSpans = Callable[..., pl.DataFrame]
MIDNIGHT = datetime(2025, 3, 2, tzinfo=UTC)


def record(sha: str, writer: SpanWriter, state: str = "committing") -> SourceRecord:
    return SourceRecord(
        sha256=sha,
        path=f"/in/{sha}.json",
        size=10,
        format="otlp-json",
        rows=writer.rows,
        dead_lettered=0,
        ingested_at="2025-03-02T00:00:00+00:00",
        state=state,
        files=writer.final_names(),
    )


def spans_across_midnight(make_spans: MakeSpans) -> pl.DataFrame:
    ms = timedelta(milliseconds=1)
    return make_spans(
        {"span_id": "a1", "service_name": "web", "start_time": MIDNIGHT - ms},
        {"span_id": "b1", "service_name": "api", "start_time": MIDNIGHT},
        {"span_id": "b0", "service_name": "api", "start_time": MIDNIGHT - 5 * ms},
        {"span_id": "c1", "service_name": "web", "start_time": MIDNIGHT + 2 * ms},
        {"span_id": "c0", "service_name": "api", "start_time": MIDNIGHT + ms},
        {"span_id": "d0", "service_name": "api", "start_time": MIDNIGHT + timedelta(days=3)},
    )


def test_write_is_invisible_until_commit(tmp_store: Path, make_spans: MakeSpans) -> None:
    layout = StoreLayout(tmp_store)
    catalog = Catalog(layout.catalog)
    writer = SpanWriter(layout)
    writer.write(spans_across_midnight(make_spans))
    assert writer.rows == 6
    temps = sorted(p.name for p in tmp_store.rglob("*.parquet"))
    assert len(temps) == 3 and all(name.startswith(".tmp-") for name in temps)
    assert layout.span_files() == []
    assert scan_spans(tmp_store).collect().height == 0

    writer.commit(catalog, record("s1", writer))
    files = layout.span_files()
    assert [f.parent.name for f in files] == [
        "date=2025-03-01",
        "date=2025-03-02",
        "date=2025-03-05",
    ]
    assert all(f.name.startswith("part-") for f in files)
    assert not list(tmp_store.rglob(".tmp-*"))
    stored = catalog.find("s1")
    assert stored is not None and stored.state == "done"
    assert sorted(stored.files) == sorted(str(f.relative_to(tmp_store)) for f in files)
    assert writer.pending == []
    catalog.close()


def test_partitions_are_utc_dates_and_files_are_sorted(
    tmp_store: Path, make_spans: MakeSpans
) -> None:
    layout = StoreLayout(tmp_store)
    catalog = Catalog(layout.catalog)
    writer = SpanWriter(layout)
    writer.write(spans_across_midnight(make_spans))
    writer.commit(catalog, record("s1", writer))
    by_day = {
        f.parent.name: pl.read_parquet(f).select("service_name", "span_id").rows()
        for f in layout.span_files()
    }
    assert by_day == {
        "date=2025-03-01": [("api", "b0"), ("web", "a1")],
        "date=2025-03-02": [("api", "b1"), ("api", "c0"), ("web", "c1")],
        "date=2025-03-05": [("api", "d0")],
    }
    catalog.close()


def test_parquet_files_carry_schema_version_and_use_zstd(
    tmp_path: Path, make_spans: MakeSpans
) -> None:
    frame = make_spans(
        {
            "span_id": "a",
            "start_time": MIDNIGHT,
            "attributes": {"k": "v"},
            "embedding": [0.5, 1.5],
            "events": [{"time": MIDNIGHT, "name": "e", "attributes": {"x": "1"}}],
            "links": [{"trace_id": "t", "span_id": "s", "attributes": {}}],
        }
    )
    path = tmp_path / "x.parquet"
    write_parquet(frame, path)
    parquet = pq.ParquetFile(path)
    metadata = parquet.schema_arrow.metadata
    assert metadata[SCHEMA_VERSION_KEY] == str(SCHEMA_VERSION).encode()
    row_group = parquet.metadata.row_group(0)
    assert {row_group.column(i).compression for i in range(row_group.num_columns)} == {"ZSTD"}
    # the canonical columns, then the small attribute map (schema version 2)
    expected = arrow_schema().append(
        pa.field(CATEGORY_COLUMN, arrow_schema().field("attributes").type)
    )
    assert parquet.schema_arrow.remove_metadata().equals(expected)
    assert_frame_equal(pl.read_parquet(path).select(COLUMNS), frame)


def test_statistics_where_a_query_can_skip_row_groups_by_them(
    tmp_path: Path, make_spans: MakeSpans
) -> None:
    """Times, ids, names and numbers carry min/max; long text and nested values do not."""
    frame = make_spans(
        {"span_id": "a", "start_time": MIDNIGHT, "input_text": "hello", "attributes": {"k": "v"}}
    )
    path = tmp_path / "x.parquet"
    write_parquet(frame, path)
    row_group = pq.ParquetFile(path).metadata.row_group(0)
    stats = {
        row_group.column(i).path_in_schema.split(".")[0]: row_group.column(i).is_stats_set
        for i in range(row_group.num_columns)
    }
    for column in ("start_time", "end_time", "service_name", "trace_id", "model", "input_tokens"):
        assert stats[column], column
    for column in ("input_text", "output_text", "attributes", "events", "links", "embedding"):
        assert not stats[column], column


def test_abort_removes_the_temporary_parts(tmp_store: Path, make_spans: MakeSpans) -> None:
    writer = SpanWriter(StoreLayout(tmp_store))
    writer.write(spans_across_midnight(make_spans))
    assert list(tmp_store.rglob(".tmp-*"))
    writer.abort()
    assert not list(tmp_store.rglob("*.parquet"))
    assert writer.pending == []


def test_empty_frames_write_nothing(tmp_store: Path, make_spans: MakeSpans) -> None:
    writer = SpanWriter(StoreLayout(tmp_store))
    writer.write(make_spans())
    assert writer.rows == 0 and writer.pending == []
    assert not tmp_store.exists()


def test_recover_finishes_an_interrupted_commit(tmp_store: Path, make_spans: MakeSpans) -> None:
    layout = StoreLayout(tmp_store)
    catalog = Catalog(layout.catalog)
    writer = SpanWriter(layout)
    writer.write(spans_across_midnight(make_spans))
    # Crash after the catalog recorded the source and one part was renamed.
    catalog.begin(record("s1", writer))
    temp, final = writer.pending[0]
    temp.rename(final)
    catalog.close()
    assert scan_spans(tmp_store).collect().height == 2  # only the renamed part

    catalog = Catalog(layout.catalog)
    assert [r.sha256 for r in catalog.committing()] == ["s1"]
    recover(layout, catalog)
    assert catalog.committing() == []
    found = catalog.find("s1")
    assert found is not None and found.state == "done"
    assert scan_spans(tmp_store).collect().height == 6
    assert not list(tmp_store.rglob(".tmp-*"))
    assert sorted(str(f.relative_to(tmp_store)) for f in layout.span_files()) == sorted(found.files)
    catalog.close()


def test_recover_deletes_stray_temporary_parts(tmp_store: Path, make_spans: MakeSpans) -> None:
    layout = StoreLayout(tmp_store)
    catalog = Catalog(layout.catalog)
    done = SpanWriter(layout)
    done.write(make_spans({"span_id": "kept", "start_time": MIDNIGHT}))
    done.commit(catalog, record("done", done))
    crashed = SpanWriter(layout, owner=2**22 + 7)  # a dead process: wrote parts, never committed
    crashed.write(spans_across_midnight(make_spans))
    assert len(list(tmp_store.rglob(".tmp-*"))) == 3
    recover(layout, catalog)
    assert not list(tmp_store.rglob(".tmp-*"))
    assert scan_spans(tmp_store).collect()["span_id"].to_list() == ["kept"]
    assert [r.sha256 for r in catalog.sources()] == ["done"]
    catalog.close()


def test_two_sources_in_one_partition(tmp_store: Path, make_spans: MakeSpans) -> None:
    layout = StoreLayout(tmp_store)
    catalog = Catalog(layout.catalog)
    for sha, span in (("s1", "x"), ("s2", "y")):
        writer = SpanWriter(layout)
        writer.write(make_spans({"span_id": span, "start_time": MIDNIGHT}))
        writer.commit(catalog, record(sha, writer))
    assert len(layout.span_files()) == 2
    assert sorted(scan_spans(tmp_store).collect()["span_id"]) == ["x", "y"]
    catalog.close()


def test_recover_keeps_temporary_parts_of_a_live_process(tmp_store: Path) -> None:
    import os

    from pyflare_cli.store.catalog import Catalog
    from pyflare_cli.store.layout import StoreLayout
    from pyflare_cli.store.writer import recover, temp_name

    folder = tmp_store / "spans" / "date=2025-11-20"
    folder.mkdir(parents=True)
    live = folder / temp_name(os.getpid(), "live.parquet")
    dead = folder / temp_name(2**22 + 12345, "dead.parquet")
    for path in (live, dead):
        path.write_bytes(b"being written")
    layout = StoreLayout(tmp_store)
    catalog = Catalog(layout.catalog)
    try:
        recover(layout, catalog)
    finally:
        catalog.close()
    assert live.exists() and not dead.exists()


def test_a_part_cut_short_by_a_full_disk_is_removed(
    tmp_store: Path, make_spans: MakeSpans, monkeypatch: pytest.MonkeyPatch
) -> None:
    # write_table wrote half a part and raised ENOSPC: the .tmp part stayed (its owner, the
    # running receiver, is alive, so recover() kept it) until the next start.
    import errno

    def half_then_full(table: object, where: object, **kwargs: object) -> None:
        where.write(b"PAR1" + b"\0" * 1000)  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq, "write_table", half_then_full)
    writer = SpanWriter(StoreLayout(tmp_store))
    with pytest.raises(OSError):
        writer.write(spans_across_midnight(make_spans))
    assert not list(tmp_store.rglob("*.parquet"))
    assert not writer.pending
