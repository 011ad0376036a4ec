"""Whether a crossing says something its parent does not: the test the lattice prunes by.

Slice Finder keeps ``region = eu and model = mini`` under ``region = eu`` only when the
child is materially worse than the rest of its parent in the target; otherwise the extra
condition only trims rows off the parent (or rides on noise). Which slices are *shown* is
decided later, on exact overlaps (:mod:`explain`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pyflare_cli.analysis.rca.stats import cohens_d, cohens_h, moments, two_proportion, welch

CHILD_LIFT = 1.2
MIN_EFFECT = 0.2


def beyond_parent(
    groups: pl.DataFrame, scope: np.ndarray, binary: bool, min_size: int
) -> np.ndarray:
    """p-value of each child being materially worse than the rest of its parent (target).

    ``scope``: rows of the parent's target n, sum and sum of squares, then sum and sum of
    squares of the test scale ``z``. Materially: its mean at least ``CHILD_LIFT`` times the
    parent's and a small effect size or more against the rest, or trimming a few clean
    spans off a parent would pass.
    """
    nt, st, qt, zt, zqt = (groups.get_column(c).to_numpy() for c in ("nt", "st", "qt", "zt", "zqt"))
    n_out, s_out, q_out = scope[:, 0] - nt, scope[:, 1] - st, scope[:, 2] - qt
    mean_t, var_t = moments(nt, st, qt)
    mean_o, var_o = moments(n_out, s_out, q_out)
    with np.errstate(divide="ignore", invalid="ignore"):
        parent_mean = np.where(scope[:, 0] > 0, scope[:, 1] / scope[:, 0], 0.0)
    if binary:
        z, p = two_proportion(nt, st, n_out, s_out)
        effect = cohens_h(mean_t, np.nan_to_num(mean_o))
    else:
        zm_t, zv_t = moments(nt, zt, zqt)
        zm_o, zv_o = moments(n_out, scope[:, 3] - zt, scope[:, 4] - zqt)
        z, p = welch(nt, zm_t, zv_t, n_out, zm_o, zv_o)
        effect = cohens_d(nt, mean_t, var_t, n_out, mean_o, var_o)
    material = (mean_t >= CHILD_LIFT * parent_mean) & (effect >= MIN_EFFECT)
    ok = (n_out >= min_size) & (z > 0) & material
    result: np.ndarray = np.where(ok, p, 1.0)
    return result
