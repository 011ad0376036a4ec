"""The two-sample Kolmogorov-Smirnov test of ``pyflare drift``, without ``scipy.stats``.

``import scipy.stats`` costs 0.5 s idle and over 1.3 s on a loaded machine, and every
``pyflare drift``, ``eval health`` and drift alert rule with a small window runs a KS test.
This module gives the answer of ``scipy.stats.ks_2samp(a, b)`` (two-sided,
``method="auto"``) from NumPy and ``scipy.special``, following SciPy 1.17's code path:

* the statistic D is the largest gap between the two empirical CDFs, evaluated on the
  pooled values with ``searchsorted(side="right")`` (ties handled as SciPy does);
* up to 10,000 values per side the p-value is exact: the lattice-path probability for
  D = h / lcm(n1, n2). Equal sizes use the closed form SciPy evaluates in Python
  (``_compute_prob_outside_square``); unequal sizes call SciPy's own compiled kernel
  (``_stats_pythran._compute_outer_prob_inside_method``), loaded from its file so that
  the ``scipy.stats`` package is not initialised (0.3 ms instead of 0.5-1.3 s);
* when the exact computation overflows, or either side is larger, the p-value is the
  ``kstwo`` survival function at ``n = round(n1 n2 / (n1 + n2))``: the closed forms and
  ``2 * scipy.special.smirnov`` where SciPy's ``kolmogn`` uses them (small D below
  ``n D <= 0.5``, large D, ``n D^2 >= 2.2`` beyond 140); elsewhere (moderate D, where
  SciPy runs its Durbin/Pomeranz/Pelz-Good algorithms) SciPy's own ``kolmogn``, loaded
  from ``scipy/stats/_ksstats.py`` the same way (0.03 s: it needs ``scipy.linalg``).
  Should either file not load, ``scipy.stats`` is imported: slower, same answer.

tests/analysis/drift/test_drift_ks.py checks the results against ``scipy.stats.ks_2samp``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_EXACT = 10_000  # ks_2samp's MAX_AUTO_N: exact p-values up to this many values per side

Kernel = Callable[[int, int, int, int], float]


@dataclass(frozen=True)
class KsResult:
    """The KS statistic D (0..1) and its two-sided p-value."""

    statistic: float
    p_value: float


def ks_2samp(reference: NDArray[Any], current: NDArray[Any]) -> KsResult:
    """``scipy.stats.ks_2samp(reference, current)``: two-sided, exact up to 10,000 values.

    Both samples must be non-empty and free of NaN (callers drop them first).
    """
    a = np.sort(np.asarray(reference, dtype=np.float64))
    b = np.sort(np.asarray(current, dtype=np.float64))
    n1, n2 = a.size, b.size
    if min(n1, n2) == 0:
        raise ValueError("the KS test needs at least one value on each side")
    pooled = np.concatenate([a, b])
    gaps = np.searchsorted(a, pooled, side="right") / n1
    gaps -= np.searchsorted(b, pooled, side="right") / n2
    d = float(max(gaps.max(), min(max(-gaps.min(), 0.0), 1.0)))
    p: float | None = None
    if max(n1, n2) <= MAX_EXACT:
        d, p = _exact(n1, n2, d)
    if p is None:
        m, n = max(n1, n2), min(n1, n2)
        p = kstwo_sf(d, round(m * n / (m + n)))
    return KsResult(d, float(np.clip(p, 0.0, 1.0)))


def _exact(n1: int, n2: int, d: float) -> tuple[float, float | None]:
    """SciPy's ``_attempt_exact_2kssamp`` (two-sided): D rounded to the lattice, p or None."""
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    h = int(np.round(d * lcm))
    d = h * 1.0 / lcm
    if h == 0:
        return d, 1.0
    try:
        with np.errstate(invalid="raise", over="raise"):
            if n1 == n2:
                p = _prob_outside_square(n1, h)
            else:
                p = float(_outer_prob_kernel()(n1, n2, g, h))
    except (FloatingPointError, OverflowError):
        return d, None
    return (d, p) if 0 <= p <= 1 else (d, None)


def _prob_outside_square(n: int, h: int) -> float:
    """P(D_{n,n} >= h / n): SciPy's Horner form of 2 sum (-1)^(k-1) C(2n, n-kh) / C(2n, n)."""
    p = 0.0
    k = n // h
    while k >= 0:
        term = 1.0
        for j in range(h):
            term = (n - k * h - j) * term / (n + k * h + j + 1)
        p = term * (1.0 - p)
        k -= 1
    return 2 * p


@cache
def _outer_prob_kernel() -> Kernel:
    """SciPy's compiled lattice-path kernel, without initialising ``scipy.stats``."""
    name = "scipy.stats._stats_pythran"
    import scipy

    folder = Path(scipy.__file__).parent / "stats"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_stats_pythran{suffix}"
        spec = importlib.util.spec_from_file_location(name, path) if path.is_file() else None
        if spec is None or spec.loader is None:
            continue
        try:
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            kernel: Kernel = module._compute_outer_prob_inside_method
        except (ImportError, AttributeError, OSError):
            break
        return kernel
    # The file was not found or did not load: the normal import (0.5 s), same kernel.
    from scipy.stats._stats_pythran import _compute_outer_prob_inside_method as fallback

    result: Kernel = fallback
    return result


def kstwo_sf(d: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(d, n)``: P(D_n >= d), two-sided Kolmogorov, sample size n.

    SciPy's ``kolmogn(n, d, cdf=False)`` branch by branch; the branches that need its
    matrix or series algorithms call SciPy's own (see :func:`_ksstats`).
    """
    if d >= 1.0:
        return 0.0
    if d <= 0.0:
        return 1.0
    t = n * d
    if t <= 1.0:  # Ruben-Gambino: 1/2n <= d <= 1/n
        if t <= 0.5:
            return 1.0
        if n <= 140:
            cdf = float(np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1)))
        else:
            cdf = float(np.exp(_log_nfactorial_div_n_pow_n(n) + n * np.log(2 * t - 1)))
        return _clip(1.0 - cdf)
    if t >= n - 1:
        return _clip(2 * (1.0 - d) ** n)
    from scipy import special  # 0.2-0.3 s to import: only once a KS p-value needs it

    if d >= 0.5:
        return _clip(2 * float(special.smirnov(n, d)))
    nd2 = t * d
    if (n <= 140 and nd2 > 4) or (n > 140 and 2.2 <= nd2 < 370.0):
        return _clip(2 * float(special.smirnov(n, d)))
    if n > 140 and nd2 >= 370.0:
        return 0.0
    module = _ksstats()  # the Durbin / Pomeranz / Pelz-Good range
    if module is None:
        from scipy import stats  # SciPy's layout changed: 0.5-1.3 s to import, same answer

        return float(stats.kstwo.sf(d, n))
    return float(module.kolmogn(n, d, cdf=False))


@cache
def _ksstats() -> Any:
    """SciPy's ``scipy.stats._ksstats`` (``kstwo``'s algorithms), or None if it won't load.

    Loaded from its file (with its one helper, ``_finite_differences``, registered only
    while it loads) so that the ``scipy.stats`` package is not initialised: 0.03 s instead
    of 0.5-1.3 s.
    """
    import sys

    import scipy

    folder = Path(scipy.__file__).parent / "stats"
    helper = "scipy.stats._finite_differences"
    added = helper not in sys.modules
    try:
        if added:
            sys.modules[helper] = _load_source(helper, folder / "_finite_differences.py")
        return _load_source("scipy.stats._ksstats", folder / "_ksstats.py")
    except (ImportError, OSError, AttributeError, SyntaxError):
        return None
    finally:
        if added:
            sys.modules.pop(helper, None)


def _load_source(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"no {name} at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_STIRLING = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
]


def _log_nfactorial_div_n_pow_n(n: int) -> float:
    """log(n! / n^n) by Stirling's series, as SciPy's ``_ksstats``."""
    rn = 1.0 / n
    return float(np.log(n) / 2 - n + np.log(2 * np.pi) / 2 + rn * np.polyval(_STIRLING, rn / n))


def _clip(p: float) -> float:
    return float(min(max(p, 0.0), 1.0))
