"""The evaluations dataset: a re-run replaces, another version adds, a crash leaves no duplicate."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pyflare_cli.store.evaluations import part_files, scan_evaluations, write_evaluations

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def results(score: float, version: str = "1", spans: int = 3, at: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "trace_id": ["t"] * spans,
            "span_id": [f"s{i}" for i in range(spans)],
            "time": [T0] * spans,
            "evaluator": ["pii"] * spans,
            "version": [version] * spans,
            "score": [score] * spans,
            "label": ["clean"] * spans,
            "explanation": [""] * spans,
            "details": ["{}"] * spans,
            "created_at": [datetime(2026, 11, 20, 1, at, tzinfo=UTC)] * spans,
        }
    )


def test_rerun_replaces_and_new_version_adds(tmp_path: Path) -> None:
    write_evaluations(tmp_path, "pii", results(0.0))
    write_evaluations(tmp_path, "pii", results(1.0, spans=2, at=1))
    rows = scan_evaluations(tmp_path).sort("span_id").collect()
    assert rows.get_column("score").to_list() == [1.0, 1.0, 0.0]
    write_evaluations(tmp_path, "pii", results(0.5, version="2", at=2))
    assert scan_evaluations(tmp_path).collect().height == 6
    assert len(part_files(tmp_path, "pii")) == 1


def test_a_crash_between_write_and_cleanup_shows_the_newest(tmp_path: Path) -> None:
    write_evaluations(tmp_path, "pii", results(0.0))
    (old,) = part_files(tmp_path, "pii")
    kept = tmp_path / "kept.parquet"
    shutil.copy(old, kept)
    write_evaluations(tmp_path, "pii", results(1.0, at=1))
    shutil.copy(kept, old.parent / "part-0000.parquet")  # as if the old part survived
    rows = scan_evaluations(tmp_path).collect()
    assert rows.height == 3
    assert rows.get_column("score").to_list() == [1.0] * 3


def test_window_bounds_and_empty_store(tmp_path: Path) -> None:
    assert scan_evaluations(tmp_path).collect().height == 0
    write_evaluations(tmp_path, "pii", results(0.0))
    assert (
        scan_evaluations(tmp_path, since=datetime(2026, 11, 21, tzinfo=UTC)).collect().height == 0
    )
