"""The evaluation scores of a time window, as the search language's ``eval.<name>`` reads them.

Kept apart from :mod:`query.evaluations` (which reads spans through :mod:`query.spans`)
so that :mod:`query.spans` can hand the scores to the search compiler without an import
cycle: the scores of every convention carried by the window's spans, plus pyflare's own
stored results (the newest version of each).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.eval.scores import COLUMNS, SCORES, all_scores
from pyflare_cli.store.evaluations import scan_evaluations
from pyflare_cli.store.scan import scan_spans

SEARCHED = ("trace_id", "span_id", "evaluator", "score", "label")


def own_scores(root: Path, since: datetime | None, until: datetime | None) -> pl.LazyFrame:
    """pyflare's stored results in the window, as score rows (the newest version's)."""
    stored = scan_evaluations(root, since, until)
    newest = stored.sort("created_at").unique(["trace_id", "span_id", "evaluator"], keep="last")
    return newest.select(
        *(c for c in COLUMNS if c != "source"), pl.lit("pyflare").alias("source")
    ).select(COLUMNS)


def search_scores(root: Path, since: datetime | None, until: datetime | None) -> pl.DataFrame:
    """Every result graded on a span of the window: what ``eval.<name>`` terms search."""
    spans = scan_spans(root, since, until)
    scores = all_scores(spans, own_scores(root, since, until)).cast(SCORES)
    return scores.select(SEARCHED).collect()
