"""The per-part cache of the evaluation results spans carry: the same answer as reading
the spans, written once per part, new parts after compaction, and no cache when the store
cannot be written."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pyflare_cli.analysis.eval.scores import SCORES, all_scores
from pyflare_cli.query.eval_scores import own_scores, window_scores
from pyflare_cli.query.score_cache import cache_folder
from pyflare_cli.store.scan import scan_spans

END = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, pyflare) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / ".pyflare"
    result = pyflare("demo", "--spans", "3000", "--days", "6", "--store", str(root))
    assert result.exit_code == 0, result.output
    result = pyflare("eval", "run", "pii", "--since", "10d", "--store", str(root))
    assert result.exit_code == 0, result.output
    return root


def _uncached(root: Path, since: datetime, until: datetime) -> pl.DataFrame:
    scores = all_scores(scan_spans(root, since, until), own_scores(root, since, until))
    return scores.cast(SCORES).collect().sort(pl.all())


WINDOWS = [
    (END - timedelta(days=10), END),
    (END - timedelta(days=3, hours=7, minutes=13), END - timedelta(days=1, minutes=41)),
    (END - timedelta(hours=5), END),
]


def test_the_cache_answers_as_the_spans_do(store: Path) -> None:
    for since, until in WINDOWS:
        expected = _uncached(store, since, until)
        for _ in range(2):  # computing the entries, then reading them
            got = window_scores(store, since, until).collect().sort(pl.all())
            assert got.equals(expected)
        if since == WINDOWS[0][0]:
            assert set(got.get_column("source")) >= {"otel_event", "pyflare"}
    parts = list((store / "spans").glob("date=*/part-*.parquet"))
    entries = list(cache_folder(store).glob("date=*/part-*.parquet"))
    assert len(entries) == len(parts)  # one entry per part, written once


def test_compacted_parts_get_new_entries(store: Path, pyflare) -> None:  # type: ignore[no-untyped-def]
    since, until = WINDOWS[0]
    window_scores(store, since, until).collect()
    result = pyflare("demo", "--spans", "500", "--days", "1", "--store", str(store))
    assert result.exit_code == 0, result.output
    assert pyflare("store", "compact", "--store", str(store)).exit_code == 0
    after = window_scores(store, since, until).collect().sort(pl.all())
    assert after.equals(_uncached(store, since, until))
    parts = {p.stem for p in (store / "spans").glob("date=*/part-*.parquet")}
    entries = {p.stem.rsplit("-", 1)[0] for p in cache_folder(store).glob("date=*/*.parquet")}
    assert parts <= entries  # the compacted parts were read and cached


def test_a_store_that_cannot_be_written_is_read_without_the_cache(store: Path) -> None:
    shutil.rmtree(store / ".cache", ignore_errors=True)
    (store / ".cache").write_text("not a folder")  # every cache write fails
    since, until = WINDOWS[1]
    got = window_scores(store, since, until).collect().sort(pl.all())
    assert got.equals(_uncached(store, since, until))
