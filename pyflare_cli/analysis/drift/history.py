"""Drift over time: each period of the current range against the same reference, and the trend.

The method of each feature is fixed once, from the whole range, so a feature's scores are
comparable from one period to the next. The trend is a least-squares slope of the drift
magnitude (the distance, or -log10 of the p-value for tests) over the periods, called
``increasing`` or ``decreasing`` when its p-value is under 0.05, else ``stable``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import polars as pl
from scipy import special

from pyflare_cli.analysis.drift.features import Feature
from pyflare_cli.analysis.drift.model import DriftReport, DriftSettings
from pyflare_cli.analysis.drift.report import compare
from pyflare_cli.analysis.drift.stats import P_VALUE_METHODS

EVERY = {"hour": "1h", "day": "1d", "week": "1w"}
TREND_P = 0.05
P_FLOOR = 1e-300


def magnitude(method: str | None, score: float | None) -> float | None:
    """How far from "no drift" a score is, growing with drift for every method."""
    if method is None or score is None or score != score:
        return None
    if method in P_VALUE_METHODS or method in ("mmd", "binned-z", "binned-welch"):
        return -math.log10(max(score, P_FLOOR))
    return score


def trend(values: list[float | None], statuses: list[str | None] | None = None) -> str:
    """``increasing``/``decreasing``/``stable`` drift over the periods, ``n/a`` under three.

    A step counts: drift in the last period but not the first is ``increasing`` (and the
    reverse ``decreasing``), since a regression over a few periods misses a step change.
    """
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 3:
        return "n/a"
    judged = [s for s in statuses or [] if s in ("drifted", "ok")]
    if len(judged) >= 2 and judged[0] != judged[-1]:
        return "increasing" if judged[-1] == "drifted" else "decreasing"
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points], dtype=np.float64)
    if np.ptp(y) == 0:
        return "stable"
    slope, p_value = slope_p_value(x, y)
    if p_value >= TREND_P:
        return "stable"
    return "increasing" if slope > 0 else "decreasing"


def slope_p_value(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and its two-sided p-value (``scipy.stats.linregress``'s)."""
    dx, dy = x - x.mean(), y - y.mean()
    slope = float(np.sum(dx * dy) / np.sum(dx * dx))
    residuals = dy - slope * dx
    dof = x.size - 2
    se = np.sqrt(np.sum(residuals**2) / dof / np.sum(dx * dx))
    if se == 0:
        return slope, 0.0
    return slope, float(2 * special.stdtr(dof, -abs(slope / se)))


def drift_history(
    model: str,
    reference: pl.DataFrame,
    current: pl.DataFrame,
    features: list[Feature],
    settings: DriftSettings,
    every: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per period and feature: method, score, status; and per feature: the trend.

    ``current`` holds the whole range with its ``start_time``; periods are UTC-aligned.
    """
    overall = compare(model, reference, current, features, settings)
    fixed = {
        row["feature"]: row["method"]
        for row in overall.features.iter_rows(named=True)
        if row["method"] and row["kind"] != "concept" and row["method"] != "constant"
    }
    settings = replace(settings, methods={**fixed, **settings.methods})
    periods = current.with_columns(
        pl.col("start_time").dt.truncate(EVERY[every]).alias("__period")
    ).partition_by("__period", as_dict=True, maintain_order=True)
    rows = []
    for key, frame in sorted(periods.items(), key=lambda kv: kv[0][0]):
        report: DriftReport = compare(model, reference, frame.drop("__period"), features, settings)
        for row in report.features.iter_rows(named=True):
            rows.append(
                {
                    "period": key[0],
                    "feature": row["feature"],
                    "method": row["method"],
                    "score": row["score"],
                    "status": row["status"],
                    "n_current": row["n_current"],
                    "magnitude": magnitude(row["method"], row["score"]),
                }
            )
    table = pl.DataFrame(
        rows,
        schema={
            "period": pl.Datetime("ns", "UTC"),
            "feature": pl.String,
            "method": pl.String,
            "score": pl.Float64,
            "status": pl.String,
            "n_current": pl.Int64,
            "magnitude": pl.Float64,
        },
    )
    order = [row["feature"] for row in overall.features.iter_rows(named=True)]
    trends = pl.DataFrame(
        {
            "feature": order,
            "trend": [
                trend(
                    table.filter(pl.col("feature") == name).get_column("magnitude").to_list(),
                    table.filter(pl.col("feature") == name).get_column("status").to_list(),
                )
                for name in order
            ],
        },
        schema={"feature": pl.String, "trend": pl.String},
    )
    return table, trends
