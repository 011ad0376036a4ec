"""pyflare's KS test against ``scipy.stats.ks_2samp`` (two-sided, method="auto").

The p-values must agree to 1e-9 relative: the formulas are SciPy's in the same order, and on
2,000 random pairs (sizes 1..3,000, half of them rounded to create ties) every p-value was
equal to the last bit; the tolerance only leaves room for another NumPy's summation order.
Seeded sample pairs: sizes 1..5,000 (exact p-values, equal and unequal sizes), ties,
identical and disjoint samples, integers, and sizes beyond 10,000 (the ``kstwo``
asymptotic branch, each of its branches).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from pyflare_cli.analysis.drift.ks import KsResult, ks_2samp, kstwo_sf

RTOL = 1e-9


def _check(a: np.ndarray, b: np.ndarray) -> KsResult:
    ours = ks_2samp(a, b)
    ref = stats.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(float(ref.statistic), rel=1e-12, abs=0)
    assert ours.p_value == pytest.approx(float(ref.pvalue), rel=RTOL, abs=1e-300), (
        a.size,
        b.size,
        ours,
        ref,
    )
    return ours


def _pair(rng: np.random.Generator, n1: int, n2: int, kind: int) -> tuple[np.ndarray, ...]:
    shift = rng.choice([0.0, 0.05, 0.2, 1.0])
    if kind == 0:  # continuous, maybe shifted
        return rng.normal(size=n1), rng.normal(shift, size=n2)
    if kind == 1:  # heavy ties: few integer values
        k = int(rng.integers(2, 12))
        return rng.integers(0, k, n1).astype(float), rng.integers(0, k, n2).astype(float)
    if kind == 2:  # latencies: rounded log-normal, ties and a long tail
        return (
            np.round(rng.lognormal(3, 1, n1)),
            np.round(rng.lognormal(3 + shift, 1, n2)),
        )
    return rng.exponential(size=n1), rng.exponential(1 + shift, size=n2)


def test_small_and_medium_samples_match_scipy() -> None:
    rng = np.random.default_rng(24)
    sizes = [1, 2, 3, 5, 7, 10, 20, 33, 50, 99, 100, 250, 500, 1000, 1500, 3000, 5000]
    checked = 0
    for n1 in sizes:
        for n2 in sizes:
            if n1 * n2 > 4_000_000 and n1 != n2:
                continue  # keeps the test fast; one large unequal pair below
            kind = int(rng.integers(0, 4))
            _check(*_pair(rng, n1, n2, kind))
            checked += 1
    assert checked > 250


def test_random_sizes_and_shifts_match_scipy() -> None:
    rng = np.random.default_rng(7)
    for _ in range(400):
        n1, n2 = (int(x) for x in rng.integers(1, 400, 2))
        _check(*_pair(rng, n1, n2, int(rng.integers(0, 4))))
    for _ in range(12):
        n1, n2 = (int(x) for x in rng.integers(1000, 5001, 2))
        _check(*_pair(rng, n1, n2, int(rng.integers(0, 4))))


def test_identical_disjoint_and_constant_samples() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 17, 500, 5000):
        a = rng.normal(size=n)
        assert _check(a, a.copy()) == KsResult(0.0, 1.0)
        far = _check(a, a + 100.0)  # disjoint: D = 1, the smallest p-value there is
        assert far.statistic == 1.0
        _check(a, rng.normal(100.0, size=n + 3))
        _check(np.full(n, 4.0), np.full(n + 1, 4.0))
        _check(np.full(n, 4.0), np.full(n, 5.0))


def test_large_samples_use_the_asymptotic_branch_as_scipy() -> None:
    rng = np.random.default_rng(11)
    for n1, n2, shift in [
        (10_001, 10_001, 0.0),  # no drift: the kstwo range scipy.stats answers
        (12_000, 300, 0.0),
        (12_000, 300, 0.5),  # n D^2 >= 2.2: 2 * smirnov
        (20_000, 50, 0.3),  # n <= 140
        (20_000, 5, 3.0),  # D near 1
        (15_000, 900, 10.0),  # disjoint: n D^2 >= 370
    ]:
        _check(rng.normal(size=n1), rng.normal(shift, size=n2))


@pytest.mark.parametrize("n", [1, 2, 5, 50, 140, 141, 1000, 20_000])
def test_kstwo_sf_matches_scipy_on_every_branch(n: int) -> None:
    steps = 401 if n <= 1000 else 61  # scipy's own n = 20,000 algorithm is slow
    grid = np.concatenate([np.linspace(0, 1, steps), [0.5 / n, 0.75 / n, 1 / n, 1 - 1 / n]])
    for d in grid:
        d = float(min(max(d, 0.0), 1.0))
        assert kstwo_sf(d, n) == pytest.approx(float(stats.kstwo.sf(d, n)), rel=RTOL, abs=1e-300), (
            d,
            n,
        )


def test_empty_sample_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        ks_2samp(np.array([]), np.array([1.0]))


def test_a_ks_test_does_not_import_scipy_stats() -> None:
    code = (
        "import sys, numpy as np\n"
        "from pyflare_cli.analysis.drift.stats import numerical_test\n"
        "r = numerical_test(np.arange(300.0), np.arange(50.0, 420.0), 'ks')\n"
        "assert r.p_value is not None and r.p_value < 0.05, r\n"
        "rng = np.random.default_rng(5)\n"  # asymptotic, moderate D: SciPy's kolmogn
        "r = numerical_test(rng.normal(size=12_000), rng.normal(size=800), 'ks')\n"
        "assert r.p_value is not None and 0.02 < r.p_value < 1, r\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy.stats.')), file=sys.stderr)\n"
        "print(sorted(m for m in sys.modules if m == 'scipy.stats'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
    assert "_finite_differences" not in out.stderr  # registered only while _ksstats loads


def test_the_kernel_loaded_from_its_file_is_scipys_own() -> None:
    from scipy.stats._stats_pythran import _compute_outer_prob_inside_method as scipys

    from pyflare_cli.analysis.drift.ks import _outer_prob_kernel

    ours = _outer_prob_kernel()
    assert ours.__module__ == scipys.__module__  # the fallback import path exists too
    for m, n, g, h in [(300, 370, 10, 400), (5000, 4999, 1, 200_000), (7, 3, 1, 9)]:
        assert ours(m, n, g, h) == scipys(m, n, g, h)
