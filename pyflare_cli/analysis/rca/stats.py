"""The tests behind `pyflare rca`'s slices (and drift's concept bins), vectorised.

Every slice is summarised by count, sum and sum of squares of its metric, so one Polars
group-by gives what a test needs; the functions here turn those arrays into means,
effect sizes, p-values and false-discovery-rate q-values with NumPy and
``scipy.special`` (``scipy.stats`` costs half a second to import).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

Floats = NDArray[np.float64]


def moments(n: Floats, s1: Floats, s2: Floats) -> tuple[Floats, Floats]:
    """Mean and sample variance (ddof 1; 0 below two values) from count, sum, sum of squares."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s1 / n, np.nan)
        var = np.where(n > 1, (s2 - n * mean**2) / (n - 1), 0.0)
    return mean, np.maximum(var, 0.0)


def two_proportion(n1: Floats, k1: Floats, n2: Floats, k2: Floats) -> tuple[Floats, Floats]:
    """Pooled two-proportion z-test of rate 1 against rate 2: (z, two-sided p)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = np.where(se > 0, (p1 - p2) / se, 0.0)
    p = np.where(np.isfinite(z), 2 * special.ndtr(-np.abs(z)), 1.0)
    return z, p


def welch(
    n1: Floats, mean1: Floats, var1: Floats, n2: Floats, mean2: Floats, var2: Floats
) -> tuple[Floats, Floats]:
    """Welch's t-test of mean 1 against mean 2: (t, two-sided p); p = 1 without spread."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = var1 / n1, var2 / n2
        se = np.sqrt(a + b)
        t = np.where(se > 0, (mean1 - mean2) / se, 0.0)
        dof = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
        p = np.where(
            se > 0, 2 * special.stdtr(np.where(np.isfinite(dof), dof, 1.0), -np.abs(t)), 1.0
        )
    # No spread but different values is certain; means equal up to rounding are equal.
    same = (se == 0) & ~np.isclose(mean1, mean2, rtol=1e-9, atol=0.0)
    return t, np.where(same, 0.0, np.where(np.isfinite(p), p, 1.0))


def cohens_h(p1: Floats, p2: Floats) -> Floats:
    """Effect size of proportions: 2 asin(sqrt p1) - 2 asin(sqrt p2); 0.2 small, 0.8 large."""
    result: Floats = 2 * np.arcsin(np.sqrt(np.clip(p1, 0, 1))) - 2 * np.arcsin(
        np.sqrt(np.clip(p2, 0, 1))
    )
    return result


def cohens_d(
    n1: Floats, mean1: Floats, var1: Floats, n2: Floats, mean2: Floats, var2: Floats
) -> Floats:
    """Effect size of two means in pooled standard deviations (0 when there is no spread)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.sqrt(((n1 - 1) * var1 + (n2 - 1) * var2) / np.maximum(n1 + n2 - 2, 1))
        d = np.where(pooled > 0, (mean1 - mean2) / pooled, 0.0)
    result: Floats = np.nan_to_num(d)
    return result


def benjamini_hochberg(p_values: NDArray[Any]) -> Floats:
    """False-discovery-rate q-values (Benjamini-Hochberg), in the input order."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty_like(p)
    q[order] = np.minimum(ranked, 1.0)
    return q


def bonferroni(p_values: NDArray[Any]) -> Floats:
    p = np.asarray(p_values, dtype=np.float64)
    result: Floats = np.minimum(p * p.size, 1.0)
    return result


def samples_p_value(a: NDArray[Any], b: NDArray[Any], binary: bool) -> float:
    """Two-sided p-value of two raw samples: the two-proportion z-test of 0/1 values when
    ``binary``, else Welch's t-test (as ``scipy.stats.ttest_ind(equal_var=False)``).

    1.0 when a sample is empty. Shared by rca's change attribution and drift's concept bins.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size == 0 or y.size == 0:
        return 1.0
    n1, n2 = np.array([x.size], float), np.array([y.size], float)
    if binary:
        _, p = two_proportion(n1, np.array([x.sum()]), n2, np.array([y.sum()]))
    else:
        m1, v1 = moments(n1, np.array([x.sum()]), np.array([(x**2).sum()]))
        m2, v2 = moments(n2, np.array([y.sum()]), np.array([(y**2).sum()]))
        _, p = welch(n1, m1, v1, n2, m2, v2)
    return float(p[0])
