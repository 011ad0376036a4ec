"""Scanning: one lazy frame over the store, pruning whole date partitions on since/until."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from pyflare_cli.errors import DamagedStore
from pyflare_cli.schema import POLARS_SCHEMA
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.scan import scan_spans, span_files

MakeSpans = Callable[..., pl.DataFrame]
AddSource = Callable[[Path, pl.DataFrame, str], list[Path]]
DAY = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_store: Path, make_spans: MakeSpans, add_source: AddSource) -> Path:
    """Spans at 06:00 and 18:00 UTC on June 1st..4th."""
    rows = [
        {"span_id": f"d{d}h{h}", "start_time": DAY + timedelta(days=d, hours=h)}
        for d in range(4)
        for h in (6, 18)
    ]
    add_source(tmp_store, make_spans(*rows), "s1")
    return tmp_store


def ids(root: Path, since: datetime | None = None, until: datetime | None = None) -> list[str]:
    return sorted(scan_spans(root, since, until).collect()["span_id"])


def days(root: Path, since: datetime | None, until: datetime | None) -> list[str]:
    return [f.parent.name[5:] for f in span_files(StoreLayout(root), since, until)]


def test_scan_everything(store: Path) -> None:
    frame = scan_spans(store).collect()
    assert frame.height == 8
    assert frame.schema == pl.Schema(POLARS_SCHEMA)


def test_since_is_inclusive_and_until_exclusive(store: Path) -> None:
    since = DAY + timedelta(days=1, hours=6)
    until = DAY + timedelta(days=2, hours=18)
    assert ids(store, since, until) == ["d1h18", "d1h6", "d2h6"]
    assert ids(store, since=DAY + timedelta(days=3, hours=7)) == ["d3h18"]
    assert ids(store, until=DAY + timedelta(hours=6)) == []


def test_partition_pruning(store: Path) -> None:
    assert days(store, None, None) == ["2025-06-01", "2025-06-02", "2025-06-03", "2025-06-04"]
    assert days(store, DAY + timedelta(days=1, hours=23), None) == [
        "2025-06-02",
        "2025-06-03",
        "2025-06-04",
    ]
    assert days(store, None, DAY + timedelta(days=1, hours=1)) == ["2025-06-01", "2025-06-02"]
    assert days(store, DAY + timedelta(days=1), DAY + timedelta(days=1, hours=2)) == ["2025-06-02"]


def test_pruned_partitions_are_not_even_opened(store: Path) -> None:
    broken = store / "spans" / "date=2025-06-01" / "part-broken.parquet"
    broken.write_bytes(b"not parquet at all")
    since = DAY + timedelta(days=2)
    assert ids(store, since) == ["d2h18", "d2h6", "d3h18", "d3h6"]
    with pytest.raises(DamagedStore, match=r"part-broken\.parquet"):
        scan_spans(store).collect()


def test_bounds_in_other_time_zones_prune_by_utc_date(store: Path) -> None:
    plus_ten = timezone(timedelta(hours=10))
    # 2025-06-02 04:00 in UTC+10 is June 1st, 18:00 UTC: June 1st must be scanned.
    since = datetime(2025, 6, 2, 4, tzinfo=plus_ten)
    assert days(store, since, None)[0] == "2025-06-01"
    assert ids(store, since)[:3] == ["d0h18", "d1h18", "d1h6"]
    minus_ten = timezone(timedelta(hours=-10))
    # 2025-06-01 22:00 in UTC-10 is June 2nd, 08:00 UTC: June 2nd must be scanned.
    until = datetime(2025, 6, 1, 22, tzinfo=minus_ten)
    assert days(store, None, until) == ["2025-06-01", "2025-06-02"]
    assert ids(store, until=until) == ["d0h18", "d0h6", "d1h6"]


def test_naive_bounds_are_refused(store: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        scan_spans(store, since=datetime(2025, 6, 1))


def test_temporary_parts_and_foreign_folders_are_invisible(store: Path) -> None:
    part = next((store / "spans" / "date=2025-06-01").glob("part-*.parquet"))
    (part.parent / ".tmp-pending.parquet").write_bytes(part.read_bytes())
    (store / "spans" / "date=garbage").mkdir()
    (store / "spans" / "date=garbage" / "part-x.parquet").write_bytes(part.read_bytes())
    assert len(ids(store)) == 8


def test_empty_or_missing_store(tmp_path: Path) -> None:
    frame = scan_spans(tmp_path / "nothing").collect()
    assert frame.height == 0
    assert frame.schema == pl.Schema(POLARS_SCHEMA)
    (tmp_path / "nothing" / "spans" / "date=2025-01-01").mkdir(parents=True)
    assert scan_spans(tmp_path / "nothing", since=DAY).collect().height == 0
