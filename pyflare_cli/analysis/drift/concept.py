"""Concept drift: does the outcome given the same inputs change between two windows?

Inputs are binned on the reference's quantiles; within each bin the outcome (error rate,
or the mean of a numeric score attribute) is compared between the windows with a
two-proportion z-test or Welch's t-test, and the smallest p-value is Bonferroni-corrected
for the bins tested. Conditioning on the input bin separates a changed relation P(y | x)
from a changed input mix P(x), which feature drift already reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pyflare_cli.analysis.drift.features import feature_expr, parse_feature

BINS = 5
THRESHOLD = 0.05


@dataclass(frozen=True)
class ConceptPair:
    """An input feature and an outcome: ``error`` or a numeric ``attr.<key>``."""

    input: str
    outcome: str = "error"

    @property
    def name(self) -> str:
        return f"{self.outcome} | {self.input}"

    @property
    def x_column(self) -> str:
        return f"concept.x.{self.input}"

    @property
    def y_column(self) -> str:
        return f"concept.y.{self.outcome}"

    @property
    def binary(self) -> bool:
        return self.outcome == "error"


def outcome_expr(outcome: str) -> pl.Expr:
    if outcome == "error":
        return (pl.col("status_code") == "error").cast(pl.Float64)
    if outcome.startswith("attr.") and len(outcome) > 5:
        return pl.col("attributes").map.get(outcome[5:]).cast(pl.Float64, strict=False)
    raise ValueError(f"outcome {outcome!r}: use error or attr.<numeric key>")


def concept_exprs(pairs: tuple[ConceptPair, ...]) -> list[pl.Expr]:
    """The columns :func:`concept_rows` reads, to add to the feature frame."""
    exprs: dict[str, pl.Expr] = {}
    for pair in pairs:
        feature = parse_feature(pair.input, "numerical")
        if feature.kind != "numerical":
            raise ValueError(f"concept input {pair.input!r} must be a numerical feature")
        exprs[pair.x_column] = feature_expr(feature).alias(pair.x_column)
        exprs[pair.y_column] = outcome_expr(pair.outcome).alias(pair.y_column)
    return list(exprs.values())


def _pairs(frame: pl.DataFrame, pair: ConceptPair) -> tuple[np.ndarray, np.ndarray]:
    both = (
        frame.select(pair.x_column, pair.y_column)
        .drop_nulls()
        .filter(pl.col(pair.x_column).is_finite() & pl.col(pair.y_column).is_finite())
    )
    return both.get_column(pair.x_column).to_numpy(), both.get_column(pair.y_column).to_numpy()


def _describe(value: float, binary: bool) -> str:
    return f"{value:.1%}" if binary else f"{value:.3g}"


def concept_row(
    reference: pl.DataFrame, current: pl.DataFrame, pair: ConceptPair, min_samples: int
) -> dict[str, Any]:
    """One report row (the columns of :data:`drift.ROW_SCHEMA`) for ``pair``."""
    x_ref, y_ref = _pairs(reference, pair)
    x_cur, y_cur = _pairs(current, pair)
    row: dict[str, Any] = {
        "feature": pair.name,
        "drift_type": "concept",
        "kind": "concept",
        "n_reference": int(x_ref.size),
        "n_current": int(x_cur.size),
        "status": "insufficient data",
    }
    if min(x_ref.size, x_cur.size) < min_samples:
        return row
    if pair.binary and y_ref.sum() == 0 and y_cur.sum() == 0:
        row["reference"] = row["current"] = "no errors with this input set"
        return row  # nothing to compare: insufficient data, not "ok"
    label = "error rate" if pair.binary else f"mean {pair.outcome}"
    row["reference"] = f"{label} {_describe(float(y_ref.mean()), pair.binary)}"
    row["current"] = f"{label} {_describe(float(y_cur.mean()), pair.binary)}"
    edges = np.unique(np.quantile(x_ref, np.linspace(0, 1, BINS + 1)[1:-1]))
    bins_ref = np.searchsorted(edges, x_ref, side="right")
    bins_cur = np.searchsorted(edges, x_cur, side="right")
    from pyflare_cli.analysis.rca.stats import samples_p_value  # only with concept pairs

    p_values, gaps, weights = [], [], []
    ref_by_bin, cur_by_bin = [], []
    for b in range(edges.size + 1):
        yr, yc = y_ref[bins_ref == b], y_cur[bins_cur == b]
        if min(yr.size, yc.size) < min_samples:
            continue
        p_values.append(samples_p_value(yr, yc, pair.binary))
        gaps.append(abs(float(yc.mean() - yr.mean())))
        weights.append(yc.size)
        ref_by_bin.append(float(yr.mean()))
        cur_by_bin.append(float(yc.mean()))
    if not p_values:
        return row
    p_value = min(1.0, min(p_values) * len(p_values))
    row.update(
        method="binned-z" if pair.binary else "binned-welch",
        score=p_value,
        p_value=p_value,
        statistic=float(np.average(gaps, weights=weights)),
        threshold=THRESHOLD,
        status="drifted" if p_value < THRESHOLD else "ok",
        reference_hist=ref_by_bin,
        current_hist=cur_by_bin,
    )
    return row


def concept_rows(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    pairs: tuple[ConceptPair, ...],
    min_samples: int,
) -> list[dict[str, Any]]:
    rows = []
    for pair in pairs:
        if pair.x_column not in reference.columns or pair.x_column not in current.columns:
            continue
        rows.append(concept_row(reference, current, pair, min_samples))
    return rows
