"""The statistics behind ``pyflare drift``: per-feature drift tests (embeddings: :mod:`embedding`).

``pyflare drift`` must give the same answers as the tools people already trust, so every
formula here is a re-statement, on plain NumPy arrays, of a reference implementation:

* Univariate tests follow Evidently's data drift preset (``evidently.legacy.calculations.
  stattests``): ``ks`` (``ks_2samp`` p-value, drift when ``p <= threshold``; see :mod:`ks`),
  ``wasserstein`` (distance over ``max(np.std(reference), 0.001)``, population std), ``psi`` and
  ``jensenshannon`` (binned shares; natural log), ``chisquare`` (expected counts are reference
  counts scaled by ``n_cur / n_ref``) and ``z`` (pooled two-proportion z-test,
  ``p = 2 * (1 - Phi(|z|))``). Chi-square and z flag drift when ``p < threshold``.
* Binning is Evidently's ``get_binned_data``: a numerical feature whose *reference* has more
  than 20 distinct values is cut by ``np.histogram_bin_edges(reference + current, "sturges")``
  (Evidently's ``n_bins=30`` argument is accepted there but never used); otherwise each
  distinct value is a category. PSI fills empty cells with 0.0001, or with the smallest
  non-zero share / 1e6 when that share is at most 0.0001; Jensen-Shannon fills nothing.
* The default test is Evidently's ``_get_default_stattest``, see :func:`default_method`.

Callers drop nulls and non-finite values first; nothing here reads files or the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from pyflare_cli.analysis.drift.ks import ks_2samp

Kind = Literal["numerical", "categorical"]
Method = Literal["ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z"]
Floats = NDArray[np.float64]

METHODS: tuple[str, ...] = ("ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z")
#: Methods scored by a p-value: drift when ``p < threshold`` (``ks``: ``p <= threshold``, as
#: Evidently). The others are distances: drift when ``score >= threshold``.
P_VALUE_METHODS: frozenset[str] = frozenset({"ks", "chisquare", "z"})
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "psi": 0.1,
    "jensenshannon": 0.1,
}
CATEGORICAL_METHODS: tuple[str, ...] = ("chisquare", "z", "psi", "jensenshannon")

_MAX_CATEGORICAL_UNIQUE = 5  # Evidently: a numerical feature with <= 5 values gets cat tests
_MAX_VALUES_AS_BINS = 20  # get_binned_data: reference nunique <= 20 -> one bin per value
_LARGE_REFERENCE = 1000  # _get_default_stattest: "n_ref > 1000" switches to distances
_EMPTY_SHARE = 0.0001


@dataclass(frozen=True)
class TestResult:
    """One feature's test. ``score`` is Evidently's "drift score": the p-value for p-value
    methods, else the distance; ``statistic`` is KS D, chi-square or z (None for distances).
    """

    __test__ = False  # not a pytest test class

    method: str
    score: float
    p_value: float | None
    statistic: float | None
    threshold: float
    drifted: bool


def default_method(kind: Kind, n_reference: int, n_unique: int) -> Method:
    """Evidently's default test for a feature.

    ``n_unique`` counts distinct values over reference and current together. Up to 1000
    reference rows: KS for numerical features with more than 5 values, else chi-square when
    there are more than 2 values, else z. Beyond 1000 rows: normalised Wasserstein for
    numerical features with more than 5 values, else Jensen-Shannon.
    """
    kind = _check_kind(kind)
    numerical = effective_kind(kind, n_unique) == "numerical"
    if n_reference <= _LARGE_REFERENCE:
        return "ks" if numerical else ("chisquare" if n_unique > 2 else "z")
    return "wasserstein" if numerical else "jensenshannon"


def effective_kind(kind: Kind, n_unique: int) -> Kind:
    """The kind Evidently's defaults treat a feature as.

    A numerical feature with at most 5 distinct values (reference and current together)
    gets the categorical tests (chi-square, z or Jensen-Shannon); Evidently encodes this in
    the ``n_values`` rule of ``_get_default_stattest``. Categorical stays categorical.
    """
    kind = _check_kind(kind)
    if kind == "numerical" and n_unique <= _MAX_CATEGORICAL_UNIQUE:
        return "categorical"
    return kind


def numerical_test(
    reference: NDArray[Any],
    current: NDArray[Any],
    method: str,
    threshold: float | None = None,
    n_bins: int | str = "sturges",
) -> TestResult:
    """Test one numerical feature: 1-D samples without NaN, any of the six methods.

    PSI and Jensen-Shannon bin as Evidently (see the module docstring; an integer
    ``n_bins`` gives equal-width bins instead of Evidently's Sturges edges). Chi-square and
    z treat each distinct value as a category.
    """
    method, limit = _resolve(method, threshold)
    ref, cur = _sample(reference, "reference"), _sample(current, "current")
    if method == "ks":
        res = ks_2samp(ref, cur)  # scipy.stats.ks_2samp's answer without scipy.stats
        p = res.p_value
        return TestResult(method, p, p, res.statistic, limit, p <= limit)
    if method == "wasserstein":
        norm = max(float(np.std(ref)), 0.001)
        score = wasserstein(ref, cur) / norm
        return TestResult(method, score, None, None, limit, score >= limit)
    if method in ("chisquare", "z") or np.unique(ref).size <= _MAX_VALUES_AS_BINS:
        keys = np.union1d(ref, cur)
        ref_counts = np.bincount(np.searchsorted(keys, ref), minlength=keys.size)
        cur_counts = np.bincount(np.searchsorted(keys, cur), minlength=keys.size)
        return categorical_test(ref_counts, cur_counts, method, limit)
    fill = method == "psi"
    _, ref_pct, cur_pct = binned_percents(ref, cur, n_bins, fill_zeroes=fill)
    return _distance_result(method, ref_pct, cur_pct, limit)


def categorical_test(
    reference_counts: NDArray[Any],
    current_counts: NDArray[Any],
    method: str,
    threshold: float | None = None,
) -> TestResult:
    """Test one categorical feature from counts aligned over the same categories.

    Categories empty on both sides are ignored (Evidently only sees observed values). ``z``
    needs 2 categories; a single category, or 2 where one is empty on both sides, is
    Evidently's "same single value" case: p = 1, z = 0.
    """
    method, limit = _resolve(method, threshold)
    if method not in CATEGORICAL_METHODS:
        raise ValueError(
            f"method {method!r} needs numerical samples, not category counts; "
            f"categorical methods are {', '.join(CATEGORICAL_METHODS)}"
        )
    ref, cur = _counts(reference_counts, current_counts)
    if method == "z":
        return _z_test(ref, cur, limit)
    seen = (ref + cur) > 0
    ref, cur = ref[seen], cur[seen]
    if method == "chisquare":
        expected = ref * (cur.sum() / ref.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            statistic = float(np.sum((cur - expected) ** 2 / expected))
        from scipy import special  # 0.2-0.3 s to import: only for chi-squared

        p = float(special.chdtrc(cur.size - 1, statistic))  # scipy.stats.chisquare's p-value
        return TestResult(method, p, p, statistic, limit, p < limit)
    ref_pct, cur_pct = count_percents(ref, cur, fill_zeroes=method == "psi")
    return _distance_result(method, ref_pct, cur_pct, limit)


def wasserstein(u: Floats, v: Floats) -> float:
    """1-D Wasserstein distance, the area between the two empirical CDFs.

    The formula of ``scipy.stats.wasserstein_distance`` (its ``_cdf_distance`` with p=1),
    written here because importing ``scipy.stats`` costs half a second per command.
    """
    u_sorted, v_sorted = _sorted(u), _sorted(v)
    pooled = np.concatenate([u_sorted, v_sorted])
    order = np.argsort(pooled, kind="stable")  # a merge of two sorted runs: fast
    values = pooled[order]
    from_u = order < u_sorted.size
    # Cumulative counts equal SciPy's searchsorted(..., "right") wherever the gap to the
    # next value is non-zero (ties keep u before v and end a run with both counts full).
    u_cdf = np.cumsum(from_u)[:-1] / u_sorted.size
    v_cdf = np.cumsum(~from_u)[:-1] / v_sorted.size
    return float(np.sum(np.abs(u_cdf - v_cdf) * np.diff(values)))


def _sorted(values: Floats) -> Floats:
    """Sorted float64 values; already sorted input is returned as it is."""
    array = np.asarray(values, dtype=np.float64)
    if array.size < 2 or bool(np.all(array[1:] >= array[:-1])):
        return array
    result: Floats = np.sort(array)
    return result


def jensen_shannon(p: Floats, q: Floats) -> float:
    """Jensen-Shannon distance, natural log: ``scipy.spatial.distance.jensenshannon``'s formula."""
    p = np.asarray(p, dtype=np.float64) / np.sum(p)
    q = np.asarray(q, dtype=np.float64) / np.sum(q)
    m = (p + q) / 2.0
    divergence = float(np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m)))
    return float(np.sqrt(divergence / 2.0))


def rel_entr(x: Floats, y: Floats) -> Floats:
    """``scipy.special.rel_entr``: ``x ln(x / y)`` for positive x and y, 0 where x is 0
    and y is not negative, else infinity; NaN stays NaN. As SciPy, ``log1p`` near a ratio
    of 1 and ``ln x - ln y`` where the ratio overflows; within 1e-15 of SciPy (tested).

    Written here so that a Jensen-Shannon distance does not import ``scipy.special``
    (0.2-0.3 s per command, most of it SciPy's array-API layer importing ``numpy.f2py``).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        ratio = x / y
        near = (ratio > 0.5) & (ratio < 2.0)
        plain = np.isfinite(ratio) & (ratio > 1e-300)
        terms = np.where(
            near,
            x * np.log1p((x - y) / y),
            np.where(plain, x * np.log(ratio), x * (np.log(x) - np.log(y))),
        )
    positive = (x > 0) & (y > 0)
    zero = (x == 0) & (y >= 0)
    result: Floats = np.where(
        np.isnan(x) | np.isnan(y),
        np.nan,
        np.where(positive, terms, np.where(zero, 0.0, np.inf)),
    )
    return result


def psi(reference_pct: NDArray[Any], current_pct: NDArray[Any]) -> float:
    """Population stability index ``sum((ref - cur) * ln(ref / cur))`` of positive shares."""
    ref = np.asarray(reference_pct, dtype=np.float64)
    cur = np.asarray(current_pct, dtype=np.float64)
    if ref.shape != cur.shape or ref.ndim != 1:
        raise ValueError("reference and current shares must be 1-D arrays of the same length")
    if (ref <= 0).any() or (cur <= 0).any():
        raise ValueError("PSI needs positive shares: fill empty bins first")
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def binned_percents(
    reference: NDArray[Any],
    current: NDArray[Any],
    n_bins: int | str = "sturges",
    *,
    fill_zeroes: bool = True,
) -> tuple[Floats, Floats, Floats]:
    """``(edges, reference shares, current shares)`` over bins cut on both samples.

    ``n_bins`` is anything ``np.histogram_bin_edges`` takes; Evidently uses ``"sturges"``.
    Empty bins are filled as PSI needs (see :func:`count_percents`) unless ``fill_zeroes``
    is false.
    """
    ref, cur = _sample(reference, "reference"), _sample(current, "current")
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=n_bins)
    ref_pct = np.histogram(ref, edges)[0] / ref.size
    cur_pct = np.histogram(cur, edges)[0] / cur.size
    if fill_zeroes:
        ref_pct, cur_pct = _fill_empty(ref_pct), _fill_empty(cur_pct)
    return edges.astype(np.float64), ref_pct, cur_pct


def count_percents(
    reference_counts: NDArray[Any], current_counts: NDArray[Any], *, fill_zeroes: bool = True
) -> tuple[Floats, Floats]:
    """Shares of each category; empty ones filled as Evidently's ``get_binned_data``.

    An empty share becomes 0.0001, or the smallest non-zero share / 1e6 when that share is
    at most 0.0001, separately for each side.
    """
    ref, cur = _counts(reference_counts, current_counts)
    ref_pct, cur_pct = ref / ref.sum(), cur / cur.sum()
    if fill_zeroes:
        ref_pct, cur_pct = _fill_empty(ref_pct), _fill_empty(cur_pct)
    return ref_pct, cur_pct


def _check_kind(kind: str) -> Kind:
    if kind not in ("numerical", "categorical"):
        raise ValueError(f"unknown kind {kind!r}: expected 'numerical' or 'categorical'")
    return cast(Kind, kind)


def _resolve(method: str, threshold: float | None) -> tuple[str, float]:
    if method not in METHODS:
        raise ValueError(f"unknown drift method {method!r}: expected one of {', '.join(METHODS)}")
    limit = DEFAULT_THRESHOLDS[method] if threshold is None else float(threshold)
    if not np.isfinite(limit):
        raise ValueError("threshold must be a finite number")
    return method, limit


def _sample(values: NDArray[Any], name: str) -> Floats:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has NaN or infinite values: drop them first")
    return array


def _counts(reference_counts: NDArray[Any], current_counts: NDArray[Any]) -> tuple[Floats, Floats]:
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.ndim != 1 or ref.shape != cur.shape or ref.size == 0:
        raise ValueError("counts must be non-empty 1-D arrays over the same categories")
    both = np.concatenate([ref, cur])
    if not (np.isfinite(both).all() and (both >= 0).all()):
        raise ValueError("counts must be finite and non-negative")
    if ref.sum() == 0 or cur.sum() == 0:
        raise ValueError("reference and current each need at least one value")
    return ref, cur


def _fill_empty(shares: Floats) -> Floats:
    filled = shares.copy()
    smallest = float(shares[shares != 0].min())
    filled[filled == 0] = smallest / 10**6 if smallest <= _EMPTY_SHARE else _EMPTY_SHARE
    return filled


def _distance_result(method: str, ref_pct: Floats, cur_pct: Floats, limit: float) -> TestResult:
    # Jensen-Shannon: natural log (Evidently passes base=None)
    score = psi(ref_pct, cur_pct) if method == "psi" else jensen_shannon(ref_pct, cur_pct)
    return TestResult(method, score, None, None, limit, score >= limit)


def _z_test(ref: Floats, cur: Floats, limit: float) -> TestResult:
    if ref.size > 2:
        raise ValueError(f"the z-test compares 2 categories, got {ref.size}; use chisquare")
    total = ref + cur
    if ref.size == 1 or (total == 0).any():  # one value on both sides (Evidently: p = 1)
        return TestResult("z", 1.0, 1.0, 0.0, limit, limit > 1.0)
    n1, n2 = float(ref.sum()), float(cur.sum())
    p1, p2 = ref[1] / n1, cur[1] / n2  # share of the second category, as Evidently's 0/1
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = float((p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2)))
    # Evidently's form, not norm.sf; the normal CDF as SciPy's ndtr, 0.5 erfc(-x / sqrt 2)
    p = float(2 * (1 - 0.5 * math.erfc(-abs(z) / math.sqrt(2))))
    return TestResult("z", p, p, z, limit, p < limit)
