"""The tests behind `pyflare rca`'s slices (and drift's concept bins), vectorised.

Every slice is summarised by count, sum and sum of squares of its metric, so one Polars
group-by gives what a test needs; the functions here turn those arrays into means,
effect sizes, p-values and false-discovery-rate q-values with NumPy and
``scipy.special`` (``scipy.stats`` costs half a second to import). ``scipy.special`` is
imported by the tests that need it (0.2-0.3 s: its array-API layer imports ``numpy.f2py``);
the z-test needs only the normal CDF, from the standard library's ``erfc``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

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
    p = np.where(np.isfinite(z), 2 * ndtr(-np.abs(z)), 1.0)
    return z, p


def ndtr(x: Floats) -> Floats:
    """The standard normal CDF, ``scipy.special.ndtr``: ``erfc(-x / sqrt 2) / 2``, through
    :func:`math.erfc` (within 3e-16 of SciPy's, tested) so the z-test imports no SciPy."""
    values = np.asarray(x, dtype=np.float64)
    result: Floats = 0.5 * np.asarray(_erfc(-values / math.sqrt(2.0)), dtype=np.float64)
    return result


_erfc = np.frompyfunc(math.erfc, 1, 1)  # NumPy has no erfc; a few values per call here


def welch(
    n1: Floats, mean1: Floats, var1: Floats, n2: Floats, mean2: Floats, var2: Floats
) -> tuple[Floats, Floats]:
    """Welch's t-test of mean 1 against mean 2: (t, two-sided p); p = 1 without spread."""
    from scipy import special

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


EXACT_MAX = 20_000
"""Fisher's test is summed exactly while the errors of both sides together are at most this
many; above it every cell is large and the one-sided z-test is as good (and bounded)."""


def fisher_mid_p(n1: Floats, k1: Floats, n2: Floats, k2: Floats) -> Floats:
    """One-sided mid-p of Fisher's exact test that rate 1 (``k1`` of ``n1``) is above rate 2.

    Conditional on the ``k1 + k2`` events, ``k1`` is hypergeometric; the mid-p is
    ``P(X > k1) + P(X = k1) / 2`` (Lancaster), which holds its level on average where the
    plain exact test is conservative. A side without trials gives p = 1. Vectorised: the
    upper tails of all rows are summed in one matrix, in log space (``gammaln``).
    """
    n1, k1 = np.asarray(n1, np.float64), np.asarray(k1, np.float64)
    n2, k2 = np.asarray(n2, np.float64), np.asarray(k2, np.float64)
    p = np.ones(n1.shape, np.float64)
    total = k1 + k2
    valid = (n1 > 0) & (n2 > 0) & (total > 0) & (total < n1 + n2)
    exact = valid & (total <= EXACT_MAX)
    large = valid & ~exact
    if large.any():
        from scipy import special

        z, _ = two_proportion(n1[large], k1[large], n2[large], k2[large])
        p[large] = special.ndtr(-z)
    if exact.any():
        p[exact] = _hypergeometric_mid_p(n1[exact], k1[exact], n2[exact], total[exact])
    return np.clip(p, 0.0, 1.0)


def _log_pmf(x: Floats, n1: Floats, n2: Floats, total: Floats) -> Floats:
    """log P(X = x) for X ~ Hypergeometric(n1 + n2 draws..., total successes, n1 drawn)."""

    from scipy import special

    def log_choose(n: Floats, k: Floats) -> Floats:
        out: Floats = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        return out

    return log_choose(n1, x) + log_choose(n2, total - x) - log_choose(n1 + n2, total)


def _hypergeometric_mid_p(n1: Floats, k1: Floats, n2: Floats, total: Floats) -> Floats:
    """Mid-p from the tail on the far side of the mean (accurate when p is tiny, and 1
    minus the near tail otherwise), each cut where its terms vanish (40 deviations)."""
    big = n1 + n2
    low = np.maximum(0.0, total - n2)
    high = np.minimum(total, n1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total * n1 / big
        sd = np.sqrt(np.maximum(mean * (n2 / big) * (big - total) / np.maximum(big - 1, 1), 0))
    reach = np.ceil(40 * sd + 50)
    upper = k1 >= mean
    first = np.where(upper, k1, np.maximum(low, k1 - reach))
    last = np.where(upper, np.minimum(high, k1 + reach), k1)
    result = np.empty(n1.shape, np.float64)
    for start in range(0, n1.size, 256):  # rows in chunks: the matrix stays small
        part = slice(start, start + 256)
        a, b, lo, hi = k1[part], n1[part], first[part], last[part]
        width = int(np.max(hi - lo)) + 1 if a.size else 1
        x = lo[:, None] + np.arange(width)[None, :]
        inside = x <= hi[:, None]
        logs = _log_pmf(
            np.where(inside, x, lo[:, None]), b[:, None], n2[part, None], total[part, None]
        )
        tail = np.where(inside, np.exp(logs), 0.0).sum(axis=1)
        at = np.exp(_log_pmf(a, b, n2[part], total[part]))
        # upper: P(X >= a) - P(X = a)/2; lower: 1 - (P(X <= a) - P(X = a)/2)
        result[part] = np.where(upper[part], tail - at / 2, 1.0 - (tail - at / 2))
    return result


def welch_greater(
    n1: Floats, mean1: Floats, var1: Floats, n2: Floats, mean2: Floats, var2: Floats
) -> Floats:
    """One-sided Welch p-value that mean 1 is above mean 2 (1 without two values a side)."""
    t, p_two = welch(n1, mean1, var1, n2, mean2, var2)
    p = np.where(t > 0, p_two / 2, 1.0 - p_two / 2)
    result: Floats = np.where((n1 > 1) & (n2 > 1), p, 1.0)
    return result


def welch_above(n1: Floats, s1: Floats, q1: Floats, n2: Floats, s2: Floats, q2: Floats) -> Floats:
    """:func:`welch_greater` from counts, sums and sums of squares of each side."""
    m1, v1 = moments(n1, s1, q1)
    m2, v2 = moments(n2, s2, q2)
    return welch_greater(n1, m1, v1, n2, m2, v2)
