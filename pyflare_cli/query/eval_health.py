"""``eval health``'s inputs read from the store: this window and the previous one
(:mod:`query.windows`), the scores of every convention (:mod:`query.evaluations`) and,
per model, the drift verdicts of ``pyflare drift``'s built-in numerical and categorical
features over the same two windows (text-vocabulary and embedding tests are left out:
they cost more than the rest together). The score itself is :mod:`analysis.eval.health`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.drift.features import BUILT_IN, Feature
from pyflare_cli.analysis.drift.model import DriftSettings
from pyflare_cli.analysis.drift.report import compare
from pyflare_cli.analysis.eval import health
from pyflare_cli.analysis.eval.summary import Threshold, with_groups
from pyflare_cli.query.drift_samples import features_of, model_sample
from pyflare_cli.query.evaluations import load_scores, window_spans
from pyflare_cli.query.spans import SpanQuery
from pyflare_cli.query.windows import Window

DRIFT_FEATURES: tuple[Feature, ...] = tuple(
    f for f in BUILT_IN if f.kind in ("numerical", "categorical")
)


def drift_verdicts(
    root: Path,
    window: Window,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...],
) -> pl.DataFrame:
    """(group, drifted, tested) per model with calls in both windows."""
    features = list(DRIFT_FEATURES)

    def frame(w: Window) -> pl.DataFrame:
        return features_of(model_sample(root, w, where, now, rules), features, ()).collect()

    current, reference = frame(window), frame(window.previous())
    rows = []
    settings = DriftSettings()
    for model in sorted(set(current.get_column("model").drop_nulls())):
        cur = current.filter(pl.col("model") == model)
        ref = reference.filter(pl.col("model") == model)
        if ref.height == 0:
            continue
        report = compare(model, ref, cur, features, settings)
        rows.append((model, report.drifted, report.tested))
    return pl.DataFrame(rows, schema=health.DRIFT, orient="row")


def health_report(
    root: Path,
    window: Window,
    where: str | None,
    by: str,
    now: datetime,
    thresholds: Mapping[str, Threshold],
    rules: tuple[PriceRule, ...],
) -> pl.DataFrame:
    """One row per model or service of ``window``: the health score and its parts."""
    scores, spans = load_scores(root, SpanQuery(*window.query_bounds, where), now)
    previous = window_spans(root, SpanQuery(*window.previous().query_bounds, where), now)
    if by == "model":
        drift = drift_verdicts(root, window, where, now, rules).lazy()
    else:
        drift = pl.LazyFrame(schema=health.DRIFT)
    evaluated = health.quality(with_groups(scores, spans, [by]), by, thresholds)
    current = health.operations(spans, by)
    baseline = health.operations(previous, by)
    return health.health(current, baseline, evaluated, drift, by).collect()
