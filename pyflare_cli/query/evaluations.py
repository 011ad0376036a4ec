"""Evaluation results as commands and the TUI see them, and pyflare's own evaluators run.

:func:`load_scores` reads every convention's results from the spans of a window plus the
store's evaluations dataset into one table (:mod:`analysis.eval.scores`);
:func:`run_evaluator` scores spans with an offline evaluator and stores the results
(idempotent, :mod:`store.evaluations`). The ``pii`` evaluator gets the patterns of
:mod:`ingest.redaction` here, so there is one definition of each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.eval import groundedness, injection, pii
from pyflare_cli.analysis.eval.scores import SCORES, all_scores
from pyflare_cli.analysis.search.compile import filter_traces, parse, uses_scores
from pyflare_cli.ingest.redaction import PATTERNS
from pyflare_cli.query.eval_scores import own_scores, search_scores, window_scores
from pyflare_cli.query.spans import SpanQuery
from pyflare_cli.store.evaluations import write_evaluations
from pyflare_cli.store.scan import scan_spans


@dataclass(frozen=True)
class Evaluator:
    """An offline evaluator: its version (a new one adds rows, the same one replaces them)."""

    name: str
    version: str
    results: Callable[[pl.LazyFrame], pl.LazyFrame]


EVALUATORS: dict[str, Evaluator] = {
    "pii": Evaluator("pii", pii.VERSION, lambda spans: pii.pii_results(spans, PATTERNS)),
    "injection": Evaluator("injection", injection.VERSION, injection.injection_results),
    "groundedness": Evaluator(
        "groundedness", groundedness.VERSION, groundedness.groundedness_results
    ),
}


def window_spans(root: Path, query: SpanQuery, now: datetime) -> pl.LazyFrame:
    """The spans of the window, whole traces matching ``--where`` (no prices: not needed)."""
    since, until = query.bounds(now)
    spans = scan_spans(root, since, until)
    if query.where and query.where.strip():
        node = parse(query.where)
        scores = search_scores(root, since, until) if uses_scores(node) else None
        spans = filter_traces(spans, node, now, scores)
    return spans


def load_scores(root: Path, query: SpanQuery, now: datetime) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(scores, spans) of the window: every result of every convention, and the spans.

    Without ``--where`` the results carried by spans come from the per-part cache
    (:func:`query.eval_scores.window_scores`); with it, from the matching traces' spans.
    """
    spans = window_spans(root, query, now)
    if not (query.where and query.where.strip()):
        return window_scores(root, *query.bounds(now)), spans
    own = own_scores(root, *query.bounds(now))
    own = own.join(spans.select("trace_id").unique(), on="trace_id", how="semi")
    return all_scores(spans, own).cast(SCORES), spans


def sampled(spans: pl.LazyFrame, traces: int | None, seed: int = 0) -> pl.LazyFrame:
    """The spans of ``traces`` traces picked by a hash of their id: the same on a re-run."""
    if traces is None:
        return spans
    picked = (
        spans.select("trace_id")
        .unique()
        .with_columns(pl.col("trace_id").hash(seed).alias("_h"))
        .sort("_h")
        .head(traces)
        .select("trace_id")
    )
    return spans.join(picked, on="trace_id", how="semi")


def evaluate(spans: pl.LazyFrame, evaluator: Evaluator, created_at: datetime) -> pl.DataFrame:
    """The evaluator's results over ``spans`` in the evaluations dataset's columns."""
    return (
        evaluator.results(spans)
        .with_columns(
            pl.lit(evaluator.name).alias("evaluator"),
            pl.lit(evaluator.version).alias("version"),
            pl.lit(created_at).dt.cast_time_unit("ns").alias("created_at"),
        )
        .collect()
    )


def run_evaluator(
    root: Path, name: str, query: SpanQuery, now: datetime, sample: int | None = None
) -> pl.DataFrame:
    """Score the window's spans with ``name`` and store the results; returns them."""
    evaluator = EVALUATORS[name]
    spans = sampled(window_spans(root, query, now), sample)
    results = evaluate(spans, evaluator, now)
    if results.height:
        write_evaluations(root, name, results)
    return results
