"""The evaluations dataset: pyflare's own evaluation results, beside the spans they grade.

``<store>/evaluations/evaluator=<name>/part-<uuid>.parquet``, one row per (span,
evaluator, version): ``trace_id``, ``span_id``, ``time`` (the span's start), ``evaluator``,
``version``, ``score``, ``label``, ``explanation``, ``details`` (JSON text), ``created_at``.

Idempotent: :func:`write_evaluations` replaces the rows of the same (trace_id, span_id,
evaluator, version) and keeps every other row, by writing one new part (temporary name,
fsync, rename) and then removing the evaluator's older parts, under the dataset's lock.
A crash between the two leaves both parts; :func:`scan_evaluations` keeps the newest row
of each key, so a reader never sees a duplicate. The spans are never rewritten.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.store.layout import PART_PREFIX, TEMP_PREFIX
from pyflare_cli.store.lock import file_lock

EVALUATIONS = pl.Schema(
    {
        "trace_id": pl.String(),
        "span_id": pl.String(),
        "time": pl.Datetime("ns", "UTC"),
        "evaluator": pl.String(),
        "version": pl.String(),
        "score": pl.Float64(),
        "label": pl.String(),
        "explanation": pl.String(),
        "details": pl.String(),
        "created_at": pl.Datetime("ns", "UTC"),
    }
)
KEY = ("trace_id", "span_id", "evaluator", "version")
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def folder(root: Path) -> Path:
    return root / "evaluations"


def _evaluator_folder(root: Path, evaluator: str) -> Path:
    if not NAME.match(evaluator):
        raise ValueError(f"evaluator name {evaluator!r}: use letters, digits, '_', '.', '-'")
    return folder(root) / f"evaluator={evaluator}"


def part_files(root: Path, evaluator: str | None = None) -> list[Path]:
    base = folder(root)
    if not base.is_dir():
        return []
    pattern = f"evaluator={evaluator}" if evaluator else "evaluator=*"
    return sorted(base.glob(f"{pattern}/{PART_PREFIX}*.parquet"))


def scan_evaluations(
    root: Path, since: datetime | None = None, until: datetime | None = None
) -> pl.LazyFrame:
    """Every stored result (the newest of each key), with ``since <= time < until``."""
    files = part_files(root)
    if not files:
        return pl.LazyFrame(schema=EVALUATIONS)
    frame = pl.scan_parquet(files).select(list(EVALUATIONS)).cast(EVALUATIONS)
    if since is not None:
        frame = frame.filter(pl.col("time") >= since)
    if until is not None:
        frame = frame.filter(pl.col("time") < until)
    if len(files) > len({f.parent for f in files}):
        # Left by a crash between writing a part and removing the older ones.
        frame = frame.sort("created_at").unique(list(KEY), keep="last")
    return frame


def write_evaluations(root: Path, evaluator: str, results: pl.DataFrame) -> int:
    """Store ``results`` (columns of :data:`EVALUATIONS`) of one evaluator; rows replaced."""
    from pyflare_cli.store.writer import fsync_dir  # imports pyarrow: writers only

    target = _evaluator_folder(root, evaluator)
    new = results.select(list(EVALUATIONS)).cast(EVALUATIONS)
    if new.get_column("evaluator").ne(evaluator).any():
        raise ValueError(f"results of another evaluator than {evaluator!r}")
    new = new.unique(list(KEY), keep="last")
    with file_lock(folder(root) / ".lock"):
        target.mkdir(parents=True, exist_ok=True)
        old_files = part_files(root, evaluator)
        if old_files:
            old = (
                pl.scan_parquet(old_files)
                .select(list(EVALUATIONS))
                .cast(EVALUATIONS)
                .sort("created_at")
                .unique(list(KEY), keep="last")
                .join(new.lazy().select(KEY), on=list(KEY), how="anti")
                .collect()
            )
            merged = pl.concat([old, new])
        else:
            merged = new
        name = f"{uuid.uuid4().hex}.parquet"
        temp = target / f"{TEMP_PREFIX}{os.getpid()}-{name}"
        merged.sort("time", "trace_id", "span_id").write_parquet(temp, compression="zstd")
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        temp.rename(target / f"{PART_PREFIX}{name}")
        for old_file in old_files:
            old_file.unlink()
        fsync_dir(target)
    return new.height
