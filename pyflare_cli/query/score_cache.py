"""The evaluation results carried by each span part, read once per part and kept beside it.

Finding the results of every convention in the spans means decoding every span's
attribute map and events: most of the cost of ``eval summary`` on a large store (about
4 s for 30 days of the 1M-span demo store, for fewer than 10,000 results). Span parts are
immutable (new content gets a new name: writes, compaction), so the results a part
carries never change. They are computed once per part by
:func:`analysis.eval.scores.carried_scores` (the one definition) and written to
``<store>/.cache/eval-scores-<key>/<date>/<part>-<size>.parquet``, where ``<key>`` is a
digest of that module's source: a change in the readers is a new cache, never a stale
answer. Each result keeps ``carrier_start``, the start of the span carrying it, so a
window selects the same results as reading its spans does.

A store that cannot be written (read-only, full) is read without the cache. Entries of
parts that are gone (compacted) are never read again; ``store`` maintenance may delete
the folder at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.eval import scores as readers
from pyflare_cli.analysis.eval.scores import CARRIER_START, SCORES, carried_scores
from pyflare_cli.store.check import require_readable_parts
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.scan import span_files

CACHE = Path(".cache")
READ = ("trace_id", "span_id", "start_time", "end_time", "ai_kind", "links", "events", "attributes")
"""The span columns the readers use."""
CARRIED = pl.Schema({**SCORES, CARRIER_START: pl.Datetime("ns", "UTC")})


@cache
def _key() -> str:
    return hashlib.sha256(Path(readers.__file__).read_bytes()).hexdigest()[:12]


def cache_folder(root: Path) -> Path:
    return root / CACHE / f"eval-scores-{_key()}"


def _entry(root: Path, part: Path) -> Path:
    return cache_folder(root) / part.parent.name / f"{part.stem}-{part.stat().st_size}.parquet"


def _compute(part: Path) -> pl.DataFrame:
    require_readable_parts([part])
    spans = pl.scan_parquet(part, glob=False).select(READ)
    return carried_scores(spans).cast(CARRIED).collect()


def _write(entry: Path, frame: pl.DataFrame) -> bool:
    """Write ``entry`` atomically; False when the store cannot be written."""
    temp = entry.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex}.parquet")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(temp)
        temp.replace(entry)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        return False
    return True


def cached_scores(root: Path, since: datetime | None, until: datetime | None) -> pl.LazyFrame:
    """Every result carried by a span starting in ``[since, until)``: :data:`SCORES`'s
    columns and ``carrier_start``; parts read for the first time are cached."""
    cached: list[Path] = []
    fresh: list[pl.DataFrame] = []
    for part in span_files(StoreLayout(root), since, until):
        try:
            entry = _entry(root, part)
        except FileNotFoundError:  # compacted away since it was listed
            continue
        if entry.exists():
            cached.append(entry)
            continue
        frame = _compute(part)
        if _write(entry, frame):
            cached.append(entry)
        else:
            fresh.append(frame)
    parts = [pl.scan_parquet(cached, glob=False)] if cached else []
    parts += [f.lazy() for f in fresh]
    if not parts:
        return pl.LazyFrame(schema=CARRIED)
    scores = pl.concat(parts, how="vertical").cast(CARRIED)
    if since is not None:
        scores = scores.filter(pl.col(CARRIER_START) >= since)
    if until is not None:
        scores = scores.filter(pl.col(CARRIER_START) < until)
    return scores
