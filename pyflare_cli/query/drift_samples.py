"""The samples `pyflare drift` compares: time windows of the store, or a frozen baseline file.

Loads a model's spans in a window (:mod:`query.windows` decides the windows) as feature
frames, so the command and alert drift checks read drift data the same way. A baseline is
a Parquet file of the reference spans' raw columns, with what it was made from in its
metadata.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from pyflare_cli import __version__
from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.drift.concept import ConceptPair, concept_exprs
from pyflare_cli.analysis.drift.features import Feature, feature_frame, model_filter
from pyflare_cli.errors import UsageError
from pyflare_cli.query.spans import SpanQuery, load_spans
from pyflare_cli.query.windows import Window
from pyflare_cli.store.category import AttributeReads

BASELINE_KEY = b"pyflare.drift_baseline"
BASELINE_COLUMNS = (
    "trace_id",
    "start_time",
    "model",
    "request_model",
    "ai_kind",
    "provider",
    "status_code",
    "duration_ns",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "finish_reason",
    "tool_name",
    "input_text",
    "output_text",
    "embedding",
    "attributes",
)
"""What a baseline keeps of each span: every input of every feature, nothing else."""


def model_sample(
    root: Path,
    window: Window,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...],
    model: str | None = None,
    rate: float = 1.0,
    reads: AttributeReads | None = None,
) -> pl.LazyFrame:
    """The window's LLM and embedding spans (of ``model`` when given), with ``cost_usd``,
    in start order; with ``rate`` below 1, the calls :func:`sample_threshold` keeps.
    ``reads`` (:func:`attribute_reads`): what the features read of ``attributes``, which
    then may come from the store's small map (``load_spans``)."""
    since, until = window.query_bounds
    spans = load_spans(root, SpanQuery(since, until, where), now, rules, reads=reads)
    threshold = sample_threshold(rate)
    if threshold is not None:
        spans = spans.filter(pl.col("span_id").str.slice(-4).str.to_lowercase() < threshold)
    # In start order (ties by span id): the permutation tests and the embedding subsample
    # draw by position, so every engine hands the statistics the same rows in this order.
    return spans.filter(model_filter(model)).sort("start_time", "span_id")


def attribute_reads(features: list[Feature], pairs: tuple[ConceptPair, ...] = ()) -> AttributeReads:
    """The attribute keys ``features`` and the concept pairs read (``attr.<key>``).

    Without any, ``attributes`` is projected away by the lazy query; with keys that are
    all category keys, a store written since schema version 2 serves them from its small
    map instead of decoding every prompt payload of the full one."""
    names = [f.name for f in features] + [n for p in pairs for n in (p.input, p.outcome)]
    return AttributeReads(frozenset(n[5:] for n in names if n.startswith("attr.") and len(n) > 5))


def sample_threshold(rate: float) -> str | None:
    """A deterministic sample every engine draws alike (engine.drift): a call is kept when
    the last four hex digits of its span id (random, per the OpenTelemetry specification)
    are below this four-digit hex text; None keeps every call."""
    if not 0 < rate <= 1:
        raise UsageError(f"--sample-rate {rate}: give a share in (0, 1]")
    if rate == 1:
        return None
    return f"{max(1, round(rate * 65536)):04x}"


def features_of(
    spans: pl.LazyFrame, features: list[Feature], pairs: tuple[ConceptPair, ...]
) -> pl.LazyFrame:
    """The feature frame of :func:`feature_frame`, plus concept drift inputs and outcomes."""
    return feature_frame(spans, features, tuple(concept_exprs(pairs)))


def save_baseline(spans: pl.DataFrame, path: Path, meta: dict[str, Any]) -> int:
    """Write the reference spans to ``path`` with ``meta``; the number of spans written."""
    import pyarrow.parquet as pq  # only baselines need it: 0.1 s of every drift run otherwise

    table = spans.select(BASELINE_COLUMNS).to_arrow()
    info = {**meta, "pyflare_version": __version__, "spans": spans.height}
    table = table.replace_schema_metadata({BASELINE_KEY: json.dumps(info).encode()})
    temp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, temp, compression="zstd")
        temp.replace(path)
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot write it ({exc.strerror or exc})") from None
    return spans.height


def load_baseline(path: Path) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The spans and metadata of a baseline file; exit 2 naming the file when it is not one."""
    if not path.is_file():
        raise UsageError(
            f"--baseline {path}: no such file" + (" (a folder)" if path.is_dir() else "")
        )
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise UsageError(f"--baseline {path}: no such file") from None
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise UsageError(f"--baseline {path}: not a Parquet file ({exc})") from None
    raw = (table.schema.metadata or {}).get(BASELINE_KEY)
    if raw is None:
        raise UsageError(
            f"--baseline {path}: not a drift baseline (make one with `pyflare drift baseline save`)"
        )
    missing = [c for c in BASELINE_COLUMNS if c not in table.column_names]
    if missing:
        raise UsageError(f"--baseline {path}: lacks column(s) {', '.join(missing)}; save it again")
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame, json.loads(raw)
