"""How a slice is tested: against itself in the baseline, or, when new, against the rows
it replaced. The settings, the result's schema and the vectorised scoring of many slices at
once (one NumPy call per statistic) live here, apart from the search that asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from pyflare_cli.analysis.rca.stats import (
    cohens_d,
    cohens_h,
    fisher_mid_p,
    moments,
    welch_above,
)

Correction = Literal["fdr", "bonferroni"]
NEW_RATIO = 0.1
"""A slice is new when its share of the baseline is under this part of its target share."""
MAX_VALUES = 50
TEST_TERMS = ("nt", "st", "qt", "nb", "sb", "qb", "zt", "zqt", "zb", "zqb")
REFERENCE = ("ref_n", "ref_s", "ref_q", "ref_order", "ref_zs", "ref_zq")
"""A slice's reference baseline, as :func:`score` takes and returns it."""


@dataclass(frozen=True)
class SliceSettings:
    binary: bool = True
    min_size: int = 30
    max_order: int = 3
    beam: int = 12
    alpha: float = 0.05
    correction: Correction = "fdr"
    per_trace: bool = False


SLICE_SCHEMA: dict[str, Any] = {
    "slice": pl.String,
    "order": pl.Int64,
    "n_target": pl.Int64,
    "n_baseline": pl.Int64,
    "metric_target": pl.Float64,
    "metric_baseline": pl.Float64,
    "metric_reference": pl.Float64,
    "compared_with": pl.String,
    "new": pl.Boolean,
    "effect": pl.Float64,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "excess": pl.Float64,
    "explained": pl.Float64,
    "significant": pl.Boolean,
    "shown": pl.Boolean,
    "added": pl.Float64,
    "within": pl.List(pl.String),
    "conditions": pl.List(pl.String),
}


@dataclass(frozen=True)
class Totals:
    n_target: int
    n_baseline: int
    mean_target: float
    mean_baseline: float
    excess: float


@dataclass(frozen=True)
class SliceSearch:
    """The search's result: every tested slice, the totals, the single-slice counts (for
    dimension shares elsewhere) and the dimensions kept."""

    slices: pl.DataFrame
    totals: Totals
    singles: pl.DataFrame
    dimensions: list[str]
    tested: int = 0
    """Hypotheses tested and counted in the correction, discarded crossings included; a set
    of rows reached under several names is one hypothesis."""


def score(
    groups: pl.DataFrame, reference: np.ndarray, totals: Totals | None, settings: SliceSettings
) -> pl.DataFrame:
    """Test each group against itself in the baseline, or a new one against ``reference``
    (rows of n, sum, sum of squares of the baseline it would have matched, how many
    conditions that baseline has, the more the closer the comparison, and the sum and sum
    of squares of its test scale ``z``, see :data:`passes.TERMS`).

    Rates: Fisher's mid-p on counts. Means: Welch on ``z`` (log milliseconds for latency:
    on heavy tails Welch on milliseconds barely fires and misses shifts of the bulk);
    effect and excess stay in the metric's own unit."""
    nt, st, qt, nb, sb, qb, zt, zqt, zb, zqb = (groups.get_column(c).to_numpy() for c in TEST_TERMS)
    rn, rs, rq, ro = reference[:, 0], reference[:, 1], reference[:, 2], reference[:, 3]
    rzs, rzq = reference[:, 4], reference[:, 5]
    order = groups.get_column("order").to_numpy() if "order" in groups.columns else 1
    if totals is None:  # all new: re-tested against the rows they replaced
        new = np.ones(nt.shape, dtype=bool)
    else:
        big_t, big_b = max(totals.n_target, 1), max(totals.n_baseline, 1)
        new = nb / big_b < NEW_RATIO * nt / big_t
    ref_n, ref_s, ref_q = np.where(new, rn, nb), np.where(new, rs, sb), np.where(new, rq, qb)
    ref_zs, ref_zq = np.where(new, rzs, zb), np.where(new, rzq, zqb)
    mean_t, var_t = moments(nt, st, qt)
    mean_r, var_r = moments(ref_n, ref_s, ref_q)
    if settings.binary:
        p = fisher_mid_p(nt, st, ref_n, ref_s)
        effect = cohens_h(mean_t, np.nan_to_num(mean_r))
    else:
        p = welch_above(nt, zt, zqt, ref_n, ref_zs, ref_zq)
        effect = cohens_d(nt, mean_t, var_t, ref_n, mean_r, var_r)
    mean_b, _ = moments(nb, sb, qb)
    return groups.with_columns(
        pl.Series("metric_target", mean_t),
        pl.Series("metric_baseline", mean_b),
        pl.Series("metric_reference", mean_r),
        pl.Series("compared_with", np.where(new, "parent baseline", "baseline")),
        pl.Series("new", new),
        pl.Series("effect", effect),
        pl.Series("p_value", np.where(ref_n > 0, p, 1.0)),
        pl.Series("excess", np.where(ref_n > 0, st - nt * np.nan_to_num(mean_r), 0.0)),
        pl.Series("worse", (mean_t > np.nan_to_num(mean_r)) & (ref_n > 0)),
        pl.Series("ref_n", ref_n),
        pl.Series("ref_s", ref_s),
        pl.Series("ref_q", ref_q),
        pl.Series("ref_zs", ref_zs),
        pl.Series("ref_zq", ref_zq),
        pl.Series("ref_order", np.where(new, ro, order).astype(np.int64)),
    )
