"""One health score per model or service, from four parts that are shown beside it.

Each part is a number in [0, 1] (1 = healthy), or null when there is nothing to judge it by:

- ``errors``: ``1 - error_rate / ERROR_BUDGET``, floored at 0 (10% failed spans or more
  scores 0).
- ``latency``: the p95 duration against the group's own p95 in the previous window of
  the same length: 1 up to :data:`LATENCY_OK` times the baseline, 0 from
  :data:`LATENCY_BAD` times, linear between; null when either window has fewer than
  :data:`MIN_SPANS` spans.
- ``drift``: the share of drift features that did not drift (``pyflare drift`` over the
  same two windows; models only), null when no feature could be tested.
- ``quality``: the mean over evaluators of the group's pass rate (a result passes by its
  evaluator's ``--min``/``--max`` or its label, as in ``eval summary``).

``health`` is the weighted mean of the parts that are not null (:data:`WEIGHTS`,
re-normalised), null when all are; ``status`` is ``healthy`` (>= 0.8), ``degraded``
(>= 0.5) or ``unhealthy``. Relational and lazy; the drift verdicts are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from pyflare_cli.analysis.eval.summary import Threshold, group_expr, passed

WEIGHTS = {"errors": 0.3, "latency": 0.2, "drift": 0.2, "quality": 0.3}
ERROR_BUDGET = 0.10
LATENCY_OK = 1.2
LATENCY_BAD = 2.0
MIN_SPANS = 20
HEALTHY = 0.8
DEGRADED = 0.5
BY = ("model", "service")
DRIFT = pl.Schema({"group": pl.String(), "drifted": pl.Int64(), "tested": pl.Int64()})
"""The drift verdicts a caller passes in: per group, features drifted and tested."""


def operations(spans: pl.LazyFrame, by: str) -> pl.LazyFrame:
    """Per group: spans, error_rate and p95 duration (ms) of the spans carrying the key."""
    return (
        spans.select(group_expr(by).alias("group"), "status_code", "duration_ns")
        .filter(pl.col("group").is_not_null())
        .group_by("group")
        .agg(
            pl.len().alias("spans"),
            (pl.col("status_code") == "error").mean().alias("error_rate"),
            (pl.col("duration_ns").quantile(0.95, "linear") / 1e6).alias("p95_ms"),
        )
    )


def quality(scores: pl.LazyFrame, by: str, thresholds: Mapping[str, Threshold]) -> pl.LazyFrame:
    """Per group: evaluators with a verdict and the mean of their pass rates.

    ``scores`` carry a ``by`` column (:func:`analysis.eval.summary.with_groups`).
    """
    per_evaluator = (
        scores.with_columns(passed(thresholds).alias("passed"))
        .filter(pl.col("passed").is_not_null())
        .group_by(pl.col(by).alias("group"), "evaluator")
        .agg(pl.col("passed").mean().alias("pass_rate"))
    )
    return per_evaluator.group_by("group").agg(
        pl.len().alias("evaluators"), pl.col("pass_rate").mean().alias("pass_rate")
    )


def _latency_part() -> pl.Expr:
    ratio = pl.col("p95_ms") / pl.col("baseline_p95_ms")
    enough = (pl.col("spans") >= MIN_SPANS) & (pl.col("baseline_spans") >= MIN_SPANS)
    part = (1 - (ratio - LATENCY_OK) / (LATENCY_BAD - LATENCY_OK)).clip(0.0, 1.0)
    return pl.when(enough & (pl.col("baseline_p95_ms") > 0)).then(part).alias("latency")


def health(
    current: pl.LazyFrame,
    baseline: pl.LazyFrame,
    evaluated: pl.LazyFrame,
    drift: pl.LazyFrame,
    by: str,
) -> pl.LazyFrame:
    """One row per group of ``current`` (:func:`operations`): the parts and the score."""
    before = baseline.select(
        "group",
        pl.col("spans").alias("baseline_spans"),
        pl.col("p95_ms").alias("baseline_p95_ms"),
    )
    parts = (
        current.join(before, on="group", how="left")
        .join(evaluated, on="group", how="left")
        .join(drift.cast(DRIFT), on="group", how="left")
        .with_columns(
            (1 - pl.col("error_rate") / ERROR_BUDGET).clip(0.0, 1.0).alias("errors"),
            _latency_part(),
            pl.when(pl.col("tested") > 0)
            .then(1 - pl.col("drifted") / pl.col("tested"))
            .alias("drift"),
            pl.col("pass_rate").alias("quality"),
        )
    )
    weighted = pl.sum_horizontal(pl.col(p).fill_null(0) * w for p, w in WEIGHTS.items())
    weights = pl.sum_horizontal(pl.col(p).is_not_null() * w for p, w in WEIGHTS.items())
    score = pl.when(weights > 0).then(weighted / weights)
    status = (
        pl.when(pl.col("health").is_null())
        .then(pl.lit("no data"))
        .when(pl.col("health") >= HEALTHY)
        .then(pl.lit("healthy"))
        .when(pl.col("health") >= DEGRADED)
        .then(pl.lit("degraded"))
        .otherwise(pl.lit("unhealthy"))
    )
    return (
        parts.with_columns(score.alias("health"))
        .with_columns(status.alias("status"))
        .select(
            pl.col("group").alias(by),
            "health",
            "status",
            *WEIGHTS,
            "spans",
            "error_rate",
            "p95_ms",
            "baseline_p95_ms",
            pl.col("drifted").alias("drifted_features"),
            pl.col("tested").alias("tested_features"),
            "evaluators",
            "pass_rate",
        )
        .sort("health", by, nulls_last=True)
    )


def below(table: pl.DataFrame, by: str, limit: float) -> list[str]:
    """The groups of a :func:`health` table below ``limit``; unknown health fails too."""
    low = table.filter(pl.col("health").is_null() | (pl.col("health") < limit))
    return [
        f"{by}={name}: health {'unknown' if score is None else f'{score:.3f}'} < {limit:g}"
        for name, score in low.select(by, "health").iter_rows()
    ]
