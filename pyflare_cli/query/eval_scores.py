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

from pyflare_cli.analysis.eval.scores import COLUMNS, SCORES
from pyflare_cli.query.score_cache import cached_scores
from pyflare_cli.store.evaluations import scan_evaluations

SEARCHED = ("trace_id", "span_id", "evaluator", "score", "label")


def own_scores(root: Path, since: datetime | None, until: datetime | None) -> pl.LazyFrame:
    """pyflare's stored results in the window, as score rows (the newest version's).

    Only an evaluator stored under several versions needs the newest picked per span (a
    sort of all its rows); the others are read as they are, columns pruned.
    """
    stored = scan_evaluations(root, since, until)
    versions = stored.group_by("evaluator").agg(pl.col("version").n_unique()).collect()
    several = versions.filter(pl.col("version") > 1).get_column("evaluator").to_list()
    if several:
        many = stored.filter(pl.col("evaluator").is_in(several))
        newest = many.sort("created_at").unique(["trace_id", "span_id", "evaluator"], keep="last")
        stored = pl.concat([stored.filter(~pl.col("evaluator").is_in(several)), newest])
    return stored.select(
        *(c for c in COLUMNS if c != "source"), pl.lit("pyflare").alias("source")
    ).select(COLUMNS)


def window_scores(root: Path, since: datetime | None, until: datetime | None) -> pl.LazyFrame:
    """Every result graded in the window: those its spans carry (cached per part,
    :mod:`query.score_cache`) and pyflare's own, in :data:`SCORES`'s columns."""
    carried = cached_scores(root, since, until).select(COLUMNS)
    return pl.concat([carried, own_scores(root, since, until)]).cast(SCORES)


def search_scores(root: Path, since: datetime | None, until: datetime | None) -> pl.DataFrame:
    """Every result graded on a span of the window: what ``eval.<name>`` terms search."""
    return window_scores(root, since, until).select(SEARCHED).collect()
