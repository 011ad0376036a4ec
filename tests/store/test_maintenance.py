"""Compaction (merge parts, drop duplicate spans) and pruning (retention by whole UTC days)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pyflare_cli.store import maintenance
from pyflare_cli.store.catalog import Catalog
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.maintenance import compact, prune
from pyflare_cli.store.scan import scan_spans

MakeSpans = Callable[..., pl.DataFrame]
AddSource = Callable[[Path, pl.DataFrame, str], list[Path]]
DAY = datetime(2025, 6, 1, tzinfo=UTC)


def at(day: int, minute: int = 0) -> datetime:
    return DAY + timedelta(days=day, minutes=minute)


def catalog_files(root: Path) -> dict[str, tuple[str, ...]]:
    catalog = Catalog(StoreLayout(root).catalog)
    try:
        return {r.sha256: r.files for r in catalog.sources()}
    finally:
        catalog.close()


def assert_catalog_consistent(root: Path) -> None:
    """Every file the catalog names exists, and every visible file is named by a source."""
    named = {name for files in catalog_files(root).values() for name in files}
    visible = {str(f.relative_to(root)) for f in StoreLayout(root).span_files()}
    assert named == visible


@pytest.fixture
def store(tmp_store: Path, make_spans: MakeSpans, add_source: AddSource) -> Path:
    """Three sources; s3 repeats two spans of s1 (one with other values); two days."""
    add_source(
        tmp_store,
        make_spans(
            {"span_id": "a", "trace_id": "t1", "service_name": "web", "start_time": at(0, 5)},
            {"span_id": "b", "trace_id": "t1", "service_name": "api", "start_time": at(0, 9)},
            {"span_id": "c", "trace_id": "t2", "start_time": at(1, 1)},
        ),
        "s1",
    )
    add_source(
        tmp_store,
        make_spans(
            {"span_id": "d", "trace_id": "t3", "service_name": "api", "start_time": at(0, 1)},
        ),
        "s2",
    )
    add_source(
        tmp_store,
        make_spans(
            {"span_id": "a", "trace_id": "t1", "service_name": "web", "start_time": at(0, 5)},
            {"span_id": "b", "trace_id": "t1", "service_name": "api", "start_time": at(0, 9)},
            # Same span id in another trace: not a duplicate.
            {"span_id": "a", "trace_id": "t9", "start_time": at(0, 7)},
        ),
        "s3",
    )
    return tmp_store


def test_compact_merges_parts_and_drops_duplicate_spans(store: Path) -> None:
    layout = StoreLayout(store)
    before = scan_spans(store).collect()
    assert before.height == 7
    assert len(list(layout.partition(date(2025, 6, 1)).glob("part-*"))) == 3

    report = compact(store)

    assert (report.partitions, report.files_before, report.files_after) == (2, 4, 2)
    assert (report.rows_before, report.rows_after, report.duplicates_removed) == (7, 5, 2)
    assert report.bytes_before > 0 and report.bytes_after > 0
    day_one = list(layout.partition(date(2025, 6, 1)).glob("part-*.parquet"))
    assert len(day_one) == 1
    merged = pl.read_parquet(day_one[0])
    # Sorted by (service_name, start_time) like every part.
    assert merged.select("service_name", "span_id", "trace_id").rows() == [
        ("api", "d", "t3"),
        ("api", "b", "t1"),
        ("svc", "a", "t9"),
        ("web", "a", "t1"),
    ]
    after = scan_spans(store).collect()
    assert after.height == 5
    assert after.select("trace_id", "span_id").is_unique().all()
    assert not list(store.rglob(".tmp-*"))
    assert_catalog_consistent(store)


def test_compact_keeps_the_catalog_pointing_at_the_merged_files(store: Path) -> None:
    compact(store)
    files = catalog_files(store)
    (merged,) = [
        str(f.relative_to(store))
        for f in StoreLayout(store).partition(date(2025, 6, 1)).glob("part-*")
    ]
    assert merged in files["s1"] and merged in files["s2"] and merged in files["s3"]
    assert len(files["s1"]) == 2  # day one merged, day two untouched


def test_compact_is_idempotent_and_skips_clean_single_files(store: Path) -> None:
    compact(store)
    names = sorted(p.name for p in StoreLayout(store).span_files())
    again = compact(store)
    assert (again.files_before, again.files_after, again.duplicates_removed) == (2, 2, 0)
    assert sorted(p.name for p in StoreLayout(store).span_files()) == names


def test_compact_rewrites_a_single_file_with_duplicates(
    tmp_store: Path, make_spans: MakeSpans, add_source: AddSource
) -> None:
    twice = {"span_id": "x", "trace_id": "t", "start_time": at(0)}
    add_source(tmp_store, make_spans(twice, twice), "s1")
    report = compact(tmp_store)
    assert (report.files_before, report.files_after, report.duplicates_removed) == (1, 1, 1)
    assert scan_spans(tmp_store).collect().height == 1
    assert_catalog_consistent(tmp_store)


def test_compact_splits_big_partitions(
    tmp_store: Path,
    make_spans: MakeSpans,
    add_source: AddSource,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for source in range(2):
        rows = [{"span_id": f"{source}-{i}", "start_time": at(0, i)} for i in range(5)]
        add_source(tmp_store, make_spans(*rows), f"s{source}")
    monkeypatch.setattr(maintenance, "TARGET_ROWS_PER_FILE", 4)
    report = compact(tmp_store)
    assert (report.files_before, report.files_after, report.rows_after) == (2, 3, 10)
    sizes = sorted(pl.read_parquet(f).height for f in StoreLayout(tmp_store).span_files())
    assert sizes == [2, 4, 4]


def test_compact_an_empty_store(tmp_store: Path) -> None:
    report = compact(tmp_store)
    assert (report.partitions, report.files_before, report.rows_before) == (0, 0, 0)


def test_prune_dry_run_reports_without_deleting(store: Path) -> None:
    report = prune(store, date(2025, 6, 2), dry_run=True)
    assert report.partitions == ["2025-06-01"]
    assert (report.files, report.rows) == (3, 6)
    assert report.bytes == sum(
        p.stat().st_size for p in StoreLayout(store).partition(date(2025, 6, 1)).iterdir()
    )
    assert scan_spans(store).collect().height == 7
    assert_catalog_consistent(store)


def test_prune_removes_whole_days_before_the_cutoff(store: Path) -> None:
    report = prune(store, date(2025, 6, 2))
    assert report.partitions == ["2025-06-01"]
    assert (report.files, report.rows) == (3, 6)
    assert not StoreLayout(store).partition(date(2025, 6, 1)).exists()
    # The cut-off day itself is kept.
    assert scan_spans(store).collect()["span_id"].to_list() == ["c"]
    assert_catalog_consistent(store)
    files = catalog_files(store)
    assert files["s2"] == () and files["s3"] == () and len(files["s1"]) == 1


def test_prune_nothing_to_do(store: Path) -> None:
    report = prune(store, date(2025, 6, 1))
    assert (report.partitions, report.files, report.rows, report.bytes) == ([], 0, 0, 0)
    assert scan_spans(store).collect().height == 7


def test_prune_removes_leftovers_in_old_partitions(store: Path) -> None:
    folder = StoreLayout(store).partition(date(2025, 6, 1))
    (folder / ".tmp-abandoned.parquet").write_bytes(b"x")
    prune(store, date(2025, 6, 3))
    assert StoreLayout(store).partitions() == []


def test_compact_writes_row_groups_no_bigger_than_the_writers(
    tmp_store: Path, make_spans: MakeSpans, add_source: AddSource
) -> None:
    """Readers decode a row group of the attribute maps at a time: compaction's merged
    parts must keep row groups as small as ingested ones (writer.ROW_GROUP_SIZE)."""
    import pyarrow.parquet as pq

    from pyflare_cli.store.writer import ROW_GROUP_SIZE

    rows = ROW_GROUP_SIZE * 2 + 10
    for source in range(2):
        spans = [{"span_id": f"{source}-{i}", "start_time": at(0, i % 1000)} for i in range(rows)]
        add_source(tmp_store, make_spans(*spans), f"s{source}")
    compact(tmp_store)
    (part,) = StoreLayout(tmp_store).span_files()
    metadata = pq.read_metadata(part)
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sum(sizes) == 2 * rows
    assert max(sizes) <= ROW_GROUP_SIZE < 2 * rows


def old_compaction(parts: list[Path]) -> pl.DataFrame:
    """What compaction wrote before it worked in chunks: the whole day collected,
    duplicates dropped keeping the first in part order, sorted for the store."""
    from pyflare_cli.store.scan import scan_parts

    whole = scan_parts(parts).collect()
    kept = whole.unique(subset=["trace_id", "span_id"], keep="first", maintain_order=True)
    # sort_for_store's sort is not stable: equal (service_name, start_time) keys could come
    # out in any order, and chunked compaction keeps them in scan order (maintain_order).
    return kept.sort("service_name", "start_time", nulls_last=True, maintain_order=True)


def compacted_in_order(root: Path) -> list[pl.DataFrame]:
    """Each new part of the first day, in store order (part names are random)."""
    (folder,) = [f for _, f in StoreLayout(root).partitions()]
    frames = [pl.read_parquet(p) for p in folder.glob("part-*.parquet")]
    return sorted(frames, key=lambda f: f.select("service_name", "start_time").row(0))


def generated_store(root: Path, make_spans: MakeSpans, add_source: AddSource) -> None:
    """Nine sources of one day: five services, start times on whole minutes (runs of equal
    sort keys), spans repeated within and across sources with other values, and one long
    category value late in the order (the footer lists it)."""
    import random

    from pyflare_cli.store.category import MAX_VALUE_BYTES

    rng = random.Random(7)
    for source in range(9):
        rows = []
        for i in range(rng.randint(20, 60)):
            span = rng.randint(0, 150)  # drawn again: duplicates across and within sources
            service = f"svc{span % 5}"
            value = "x" * (MAX_VALUE_BYTES + 1) if span == 149 else f"v{source}"
            rows.append(
                {
                    "span_id": f"s{span}",
                    "trace_id": f"t{span % 7}",
                    "service_name": service,
                    "start_time": at(0, rng.randint(0, 6)),
                    "name": f"src{source}-{i}",
                    "attributes": {"db.system.name": value},
                }
            )
        add_source(root, make_spans(*rows), f"s{source}")


@pytest.mark.parametrize(("chunk", "per_file"), [(4, 1_000_000), (8, 40), (2, 7)])
def test_compaction_in_chunks_writes_what_collecting_the_day_wrote(
    tmp_store: Path,
    make_spans: MakeSpans,
    add_source: AddSource,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
    per_file: int,
) -> None:
    """Same rows kept (the first of each span in part order), same order within and across
    files, row groups and footer as the writer's for the whole file; chunk boundaries fall
    inside runs of equal (service_name, start_time)."""
    import pyarrow.parquet as pq

    from pyflare_cli.store import merge
    from pyflare_cli.store.writer import write_parquet

    generated_store(tmp_store, make_spans, add_source)
    parts = StoreLayout(tmp_store).span_files()
    expected = old_compaction(parts)
    assert expected.height < scan_spans(tmp_store).collect().height  # duplicates to drop
    monkeypatch.setattr(merge, "ROW_GROUP_SIZE", 2)
    monkeypatch.setattr(merge, "CHUNK_ROWS", chunk)
    monkeypatch.setattr(maintenance, "TARGET_ROWS_PER_FILE", per_file)
    report = compact(tmp_store)

    assert report.rows_after == expected.height
    # Files are matched to the expected order's consecutive slices, not sorted by their
    # first row: with runs of equal sort keys two files can start with the same key.
    unmatched = [expected.slice(at, per_file) for at in range(0, expected.height, per_file)]
    for frame in compacted_in_order(tmp_store):
        written = frame.drop("category_attributes")
        index = next((i for i, want in enumerate(unmatched) if want.equals(written)), None)
        assert index is not None, written
        unmatched.pop(index)
    assert unmatched == []
    for path in StoreLayout(tmp_store).span_files():
        written = pl.read_parquet(path)
        whole = tmp_store / "whole.parquet"
        write_parquet(written.drop("category_attributes"), whole)
        ours, theirs = pq.read_metadata(path), pq.read_metadata(whole)
        sizes = [ours.row_group(i).num_rows for i in range(ours.num_row_groups)]
        assert sizes == [2] * (written.height // 2) + [1] * (written.height % 2)
        assert {k: v for k, v in ours.metadata.items() if k != b"ARROW:schema"} == {
            k: v for k, v in theirs.metadata.items() if k != b"ARROW:schema"
        }
        assert pl.read_parquet(whole).equals(written)
    assert_catalog_consistent(tmp_store)


def test_compaction_keeps_the_first_duplicate_in_part_order_within_and_across_parts(
    tmp_store: Path, make_spans: MakeSpans, add_source: AddSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyflare_cli.store import merge

    monkeypatch.setattr(merge, "CHUNK_ROWS", 1)
    for source in ("s1", "s2"):
        rows = [
            {"span_id": "a", "trace_id": "t", "start_time": at(0, 3), "name": f"{source}-first"},
            {"span_id": "a", "trace_id": "t", "start_time": at(0, 1), "name": f"{source}-second"},
            {"span_id": "b", "trace_id": "t", "start_time": at(0, 2), "name": f"{source}-b"},
        ]
        add_source(tmp_store, make_spans(*rows), source)
    first = StoreLayout(tmp_store).span_files()[0]  # parts are read in name order
    leader = pl.read_parquet(first)["name"][0].split("-")[0]
    report = compact(tmp_store)
    assert report.duplicates_removed == 4
    kept = scan_spans(tmp_store).collect()
    # Within a part the writer sorted the rows: the span at minute 1 is its first "a".
    expected = [("a", f"{leader}-second"), ("b", f"{leader}-b")]
    assert kept.select("span_id", "name").rows() == expected


def test_compaction_of_a_store_of_both_schema_versions(
    tmp_store: Path, make_spans: MakeSpans, add_source: AddSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version-1 parts (no small map, no footer entries) merge with version-2 parts."""
    import pyarrow.parquet as pq

    from pyflare_cli.schema import SCHEMA_VERSION_KEY, to_arrow
    from pyflare_cli.store import merge

    generated_store(tmp_store, make_spans, add_source)
    folder = StoreLayout(tmp_store).partition(DAY.date())
    for name in ("0000", "ffff"):  # an old part read first and one read last
        old = make_spans(
            *(
                {"span_id": f"old{name}{i}", "service_name": f"svc{i % 5}", "start_time": at(0, i)}
                for i in range(6)
            ),
            {"span_id": "s3", "trace_id": "t3", "service_name": "svc3", "start_time": at(0, 2)},
        )
        table = to_arrow(old).replace_schema_metadata({SCHEMA_VERSION_KEY: b"1"})
        pq.write_table(table, folder / f"part-{name}.parquet", compression="zstd")
    parts = StoreLayout(tmp_store).span_files()
    expected = old_compaction(parts)
    monkeypatch.setattr(merge, "CHUNK_ROWS", 5)
    compact(tmp_store)
    (merged,) = compacted_in_order(tmp_store)
    assert merged.drop("category_attributes").equals(expected)
    assert merged["span_id"].is_in(["old00000", "oldffff5"]).sum() == 2
