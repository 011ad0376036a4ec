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
from pyflare_cli.analysis.drift.features import BUILT_IN, Feature, model_filter
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
    """(group, drifted, tested) per model with calls in both windows.

    Every response and request name of the window's calls is a model, and its calls are
    chosen as ``pyflare drift --model NAME`` chooses them (:func:`model_filter`: the
    response or the request name), so the row of a model (its spans' ``model``) shows that
    command's verdict over the same two windows. Each window is read once for all models.
    """
    features = list(DRIFT_FEATURES)

    def calls(w: Window) -> pl.DataFrame:
        # Collected whole (every model's features come from it), so without the columns
        # no feature here reads: the attribute map's prompt payloads and the embeddings
        # (a feature needing one fails to plan, never silently).
        return model_sample(root, w, where, now, rules).drop("attributes", "embedding").collect()

    current, reference = calls(window), calls(window.previous())
    rows = []
    settings = DriftSettings()
    names = pl.concat([current.get_column("model"), current.get_column("request_model")])
    for model in sorted(set(names.drop_nulls())):
        cur, ref = (
            features_of(frame.lazy().filter(model_filter(model)), features, ()).collect()
            for frame in (current, reference)
        )
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
