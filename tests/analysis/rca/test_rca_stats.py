"""The statistics behind `pyflare rca`'s slices: known answers, SciPy and NumPy references.

Every function in :mod:`rca_stats` works on arrays (one entry per slice); the tests feed
several slices at once so a mix-up between entries would show, and check the edge cases a
group-by produces: empty slices, slices without spread, identical values on both sides.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pyflare_cli.analysis.rca.stats import (
    benjamini_hochberg,
    bonferroni,
    cohens_d,
    cohens_h,
    moments,
    ndtr,
    two_proportion,
    welch,
)

TOL = 1e-9


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def summary(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, sum, sum of squares) of one sample, as the slices' group-by gives them."""
    return arr(values.size), arr(values.sum()), arr((values**2).sum())


# --- two_proportion ----------------------------------------------------------------------


def test_two_proportion_matches_a_hand_computation() -> None:
    # 20 of 100 against 20 of 200: pooled 40/300, se = sqrt(p(1-p)(1/100 + 1/200)).
    z, p = two_proportion(arr(100), arr(20), arr(200), arr(20))
    pooled = 40 / 300
    se = math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 200))
    z_hand = (0.2 - 0.1) / se
    assert z[0] == pytest.approx(2.4019223070763, abs=1e-9)
    assert z[0] == pytest.approx(z_hand, abs=TOL)
    p_hand = math.erfc(z_hand / math.sqrt(2))  # two-sided normal tail
    assert p[0] == pytest.approx(p_hand, rel=1e-9)
    assert p[0] == pytest.approx(0.016310, abs=1e-5)


def test_two_proportion_matches_scipy_for_many_slices_at_once() -> None:
    n1 = arr(100, 50, 1000, 37, 400)
    k1 = arr(20, 1, 30, 37, 0)
    n2 = arr(200, 500, 900, 40, 300)
    k2 = arr(20, 40, 60, 2, 3)
    z, p = two_proportion(n1, k1, n2, k2)
    for i in range(n1.size):
        p1, p2 = k1[i] / n1[i], k2[i] / n2[i]
        pooled = (k1[i] + k2[i]) / (n1[i] + n2[i])
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1[i] + 1 / n2[i]))
        expected_z = (p1 - p2) / se
        assert z[i] == pytest.approx(expected_z, rel=1e-12)
        assert p[i] == pytest.approx(2 * stats.norm.sf(abs(expected_z)), rel=1e-9)
        # The pooled z-test is the 2x2 chi-square test without continuity correction.
        table = [[k1[i], n1[i] - k1[i]], [k2[i], n2[i] - k2[i]]]
        chi2, p_chi2, _, _ = stats.chi2_contingency(table, correction=False)
        assert z[i] ** 2 == pytest.approx(chi2, rel=1e-9)
        assert p[i] == pytest.approx(p_chi2, rel=1e-7)
    assert np.sign(z).tolist() == [1.0, -1.0, -1.0, 1.0, -1.0]


def test_two_proportion_edge_cases_give_p_one() -> None:
    # An empty slice, no errors anywhere, errors everywhere: nothing to test.
    z, p = two_proportion(arr(0, 50, 50), arr(0, 0, 50), arr(100, 80, 80), arr(5, 0, 80))
    np.testing.assert_array_equal(p, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(z[1:], [0.0, 0.0])  # no spread: z = 0
    # Both sides empty.
    _, p = two_proportion(arr(0), arr(0), arr(0), arr(0))
    assert p[0] == 1.0


def test_two_proportion_is_antisymmetric() -> None:
    z12, p12 = two_proportion(arr(120), arr(30), arr(300), arr(40))
    z21, p21 = two_proportion(arr(300), arr(40), arr(120), arr(30))
    assert z12[0] == pytest.approx(-z21[0], rel=1e-12)
    assert p12[0] == pytest.approx(p21[0], rel=1e-12)


# --- moments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, 3.0, 4.0],
        [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0],
        [120.5, 98.25, 3000.0, 1.0, 55.5],
        list(np.random.default_rng(3).lognormal(5.0, 1.0, 1000)),
    ],
)
def test_moments_match_numpy(values: list[float]) -> None:
    x = np.array(values)
    mean, var = moments(*summary(x))
    assert mean[0] == pytest.approx(np.mean(x), rel=1e-12)
    assert var[0] == pytest.approx(np.var(x, ddof=1), rel=1e-9)


def test_moments_of_many_groups_and_small_ones() -> None:
    groups = [np.array([]), np.array([7.0]), np.array([2.0, 4.0]), np.array([5.0, 5.0, 5.0])]
    n = arr(*(g.size for g in groups))
    s1 = arr(*(g.sum() for g in groups))
    s2 = arr(*((g**2).sum() for g in groups))
    mean, var = moments(n, s1, s2)
    assert math.isnan(mean[0])  # no spans: no mean
    np.testing.assert_allclose(mean[1:], [7.0, 3.0, 5.0], rtol=0, atol=0)
    # ddof 1; 0 below two values, 0 without spread.
    np.testing.assert_allclose(var, [0.0, 0.0, 2.0, 0.0], rtol=0, atol=0)


def test_moments_never_give_a_negative_variance() -> None:
    # sum of squares - n mean^2 can round below zero for identical values; it is clipped.
    x = np.full(3, 0.1)
    _, var = moments(*summary(x))
    assert 0.0 <= var[0] < 1e-15


# --- welch -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_welch_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(100.0, 15.0, 40)
    b = rng.normal(108.0, 40.0, 25)
    ma, va = moments(*summary(a))
    mb, vb = moments(*summary(b))
    t, p = welch(arr(a.size), ma, va, arr(b.size), mb, vb)
    reference = stats.ttest_ind(a, b, equal_var=False)
    assert t[0] == pytest.approx(reference.statistic, abs=TOL)
    assert p[0] == pytest.approx(reference.pvalue, abs=TOL)


def test_welch_matches_scipy_from_summary_statistics_vectorised() -> None:
    n1, m1, v1 = arr(10, 200, 31), arr(5.0, 1.2, 300.0), arr(4.0, 0.5, 900.0)
    n2, m2, v2 = arr(12, 180, 400), arr(3.5, 1.25, 250.0), arr(9.0, 0.6, 2500.0)
    t, p = welch(n1, m1, v1, n2, m2, v2)
    for i in range(3):
        ref = stats.ttest_ind_from_stats(
            m1[i], math.sqrt(v1[i]), n1[i], m2[i], math.sqrt(v2[i]), n2[i], equal_var=False
        )
        assert t[i] == pytest.approx(ref.statistic, abs=TOL)
        assert p[i] == pytest.approx(ref.pvalue, abs=TOL)


def test_welch_without_spread() -> None:
    # Same constant on both sides: nothing to see (p = 1).
    t, p = welch(arr(5), arr(3.0), arr(0.0), arr(9), arr(3.0), arr(0.0))
    assert (t[0], p[0]) == (0.0, 1.0)
    # Different constants: certain (p = 0).
    t, p = welch(arr(5), arr(4.0), arr(0.0), arr(9), arr(3.0), arr(0.0))
    assert p[0] == 0.0
    # Spread on one side only is still a valid test (the other side's variance is 0).
    t, p = welch(arr(5), arr(4.0), arr(1.0), arr(9), arr(3.0), arr(0.0))
    ref = stats.ttest_ind_from_stats(4.0, 1.0, 5, 3.0, 0.0, 9, equal_var=False)
    assert t[0] == pytest.approx(ref.statistic, abs=TOL)
    assert p[0] == pytest.approx(ref.pvalue, abs=TOL)


def test_welch_with_an_empty_side_gives_p_one() -> None:
    mean, var = moments(arr(0), arr(0), arr(0))
    t, p = welch(arr(0), mean, var, arr(10), arr(2.0), arr(1.0))
    assert (t[0], p[0]) == (0.0, 1.0)


def test_welch_of_identical_values_from_sums_is_not_significant() -> None:
    # The slices' group-by hands welch() means and variances computed from sums: for the same
    # constant 0.1 in 2 and 3 spans the means differ in the last bit and both variances round
    # to 0, so the "no spread but different values" branch declares the difference certain.
    m1, v1 = moments(*summary(np.full(2, 0.1)))
    m2, v2 = moments(*summary(np.full(3, 0.1)))
    _, p = welch(arr(2), m1, v1, arr(3), m2, v2)
    assert p[0] > 0.5


def test_welch_of_exactly_representable_constants_gives_p_one() -> None:
    # The same constant (whose sums are exact) in samples of several sizes: t = 0, p = 1.
    for n1, n2 in [(2, 2), (5, 40), (31, 7)]:
        m1, v1 = moments(*summary(np.full(n1, 2.0)))
        m2, v2 = moments(*summary(np.full(n2, 2.0)))
        t, p = welch(arr(n1), m1, v1, arr(n2), m2, v2)
        assert (t[0], p[0]) == (0.0, 1.0)


# --- effect sizes ------------------------------------------------------------------------


def test_cohens_h_known_values() -> None:
    h = cohens_h(arr(0.5, 1.0, 0.5, 0.2, 0.1, 0.3), arr(0.5, 0.0, 0.0, 0.1, 0.2, 0.3))
    expected = [
        0.0,
        math.pi,  # 2 asin(1) - 0
        math.pi / 2,  # 2 asin(sqrt(1/2)) = pi/2
        2 * math.asin(math.sqrt(0.2)) - 2 * math.asin(math.sqrt(0.1)),
        2 * math.asin(math.sqrt(0.1)) - 2 * math.asin(math.sqrt(0.2)),
        0.0,
    ]
    np.testing.assert_allclose(h, expected, rtol=0, atol=1e-12)
    assert h[3] == pytest.approx(0.2837941092083278, abs=1e-12)


def test_cohens_h_clips_rounding_outside_zero_one() -> None:
    h = cohens_h(arr(1.0 + 1e-15), arr(-1e-15))
    assert h[0] == pytest.approx(math.pi, abs=1e-12)


def test_cohens_d_known_values() -> None:
    # Equal sizes and variances 4: d = difference / 2.
    d = cohens_d(
        arr(10, 10), arr(12.0, 10.0), arr(4.0, 4.0), arr(10, 10), arr(10.0, 13.0), arr(4, 4)
    )
    np.testing.assert_allclose(d, [1.0, -1.5], rtol=0, atol=1e-12)
    # Unequal: pooled sd = sqrt((9*4 + 19*16) / 28).
    d = cohens_d(arr(10), arr(5.0), arr(4.0), arr(20), arr(3.0), arr(16.0))
    assert d[0] == pytest.approx(2.0 / math.sqrt((9 * 4 + 19 * 16) / 28), abs=1e-12)


def test_cohens_d_matches_numpy_on_samples() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(5, 2, 30), rng.normal(4, 3, 50)
    ma, va = moments(*summary(a))
    mb, vb = moments(*summary(b))
    d = cohens_d(arr(30), ma, va, arr(50), mb, vb)
    pooled = math.sqrt((29 * np.var(a, ddof=1) + 49 * np.var(b, ddof=1)) / 78)
    assert d[0] == pytest.approx((a.mean() - b.mean()) / pooled, rel=1e-9)


def test_cohens_d_without_spread_or_spans_is_zero() -> None:
    d = cohens_d(
        arr(5, 0, 1), arr(3.0, np.nan, 2.0), arr(0, 0, 0), arr(5, 0, 1), arr(1, 1, 1), arr(0, 0, 0)
    )
    np.testing.assert_array_equal(d, [0.0, 0.0, 0.0])


# --- multiple testing --------------------------------------------------------------------


def test_benjamini_hochberg_hand_example() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4/rank: 0.02, 0.02, 0.04, 0.04 (already monotone).
    q = benjamini_hochberg(arr(0.01, 0.04, 0.03, 0.005))
    np.testing.assert_allclose(q, [0.02, 0.04, 0.04, 0.02], rtol=0, atol=1e-15)
    # A step-up: 0.02*3/2 = 0.03 > 0.021*3/3 = 0.021, so the second rank takes 0.021.
    q = benjamini_hochberg(arr(0.02, 0.021, 0.001))
    np.testing.assert_allclose(q, [0.021, 0.021, 0.003], rtol=0, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_benjamini_hochberg_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 1, 40), rng.uniform(0, 0.01, 10), [0.5, 0.5, 1.0]])
    rng.shuffle(p)
    expected = stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-12, atol=0)


def test_benjamini_hochberg_edge_cases() -> None:
    assert benjamini_hochberg(arr()).size == 0
    np.testing.assert_array_equal(benjamini_hochberg(arr(0.3)), [0.3])
    np.testing.assert_array_equal(benjamini_hochberg(arr(1.0, 1.0, 0.9)), [1.0, 1.0, 1.0])
    # Ties share one q-value; q never falls below p.
    q = benjamini_hochberg(arr(0.2, 0.2, 0.2, 0.9))
    # Sorted times 4/rank: 0.8, 0.4, 0.2667, 0.9; the running minimum from the top.
    np.testing.assert_allclose(q, [0.8 / 3, 0.8 / 3, 0.8 / 3, 0.9], rtol=1e-12)
    assert (q >= arr(0.2, 0.2, 0.2, 0.9)).all()


def test_bonferroni() -> None:
    np.testing.assert_allclose(bonferroni(arr(0.01, 0.2, 0.001, 0.5)), [0.04, 0.8, 0.004, 1.0])
    assert bonferroni(arr()).size == 0
    # Never below BH: BH is the less conservative correction.
    p = np.random.default_rng(5).uniform(0, 0.2, 30)
    assert (bonferroni(p) >= benjamini_hochberg(p) - 1e-15).all()


# --- Fisher's exact mid-p (one-sided: did rate 1 rise above rate 2?) --------------------


def test_fisher_mid_p_matches_scipy_hypergeometric() -> None:
    from pyflare_cli.analysis.rca.stats import fisher_mid_p

    rng = np.random.default_rng(7)
    n1 = rng.integers(1, 400, 300).astype(float)
    n2 = rng.integers(1, 5000, 300).astype(float)
    k1 = np.floor(rng.random(300) * (n1 + 1))
    k2 = np.floor(rng.random(300) * rng.random(300) * (n2 + 1))
    got = fisher_mid_p(n1, k1, n2, k2)
    for i in range(300):
        total, events = int(n1[i] + n2[i]), int(k1[i] + k2[i])
        if events in (0, total):
            assert got[i] == 1.0
            continue
        law = stats.hypergeom(total, events, int(n1[i]))
        expected = law.sf(k1[i]) + 0.5 * law.pmf(k1[i])
        assert got[i] == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_fisher_mid_p_on_the_small_count_the_z_test_got_wrong() -> None:
    from pyflare_cli.analysis.rca.stats import fisher_mid_p

    # 2 errors in 35 spans against 0.5% in 20,000: the z-test said p = 3.6e-5.
    p = fisher_mid_p(np.array([35.0]), np.array([2.0]), np.array([20000.0]), np.array([100.0]))
    law = stats.hypergeom(20035, 102, 35)
    assert p[0] == pytest.approx(law.sf(2) + 0.5 * law.pmf(2), rel=1e-6)
    assert 0.005 < p[0] < 0.02  # not significant once dozens of slices are tested


def test_fisher_mid_p_large_counts_use_the_normal_limit() -> None:
    from pyflare_cli.analysis.rca.stats import EXACT_MAX, fisher_mid_p

    n1, n2 = 400_000.0, 400_000.0
    k1, k2 = 12_400.0, 12_000.0
    assert k1 + k2 > EXACT_MAX
    p = fisher_mid_p(np.array([n1]), np.array([k1]), np.array([n2]), np.array([k2]))[0]
    law = stats.hypergeom(int(n1 + n2), int(k1 + k2), int(n1))
    assert p == pytest.approx(law.sf(k1) + 0.5 * law.pmf(k1), rel=0.05)


def test_fisher_mid_p_without_trials_or_events_is_one() -> None:
    from pyflare_cli.analysis.rca.stats import fisher_mid_p

    got = fisher_mid_p(
        np.array([0.0, 10.0, 10.0, 10.0]),
        np.array([0.0, 0.0, 10.0, 3.0]),
        np.array([10.0, 10.0, 10.0, 0.0]),
        np.array([1.0, 0.0, 10.0, 0.0]),
    )
    assert got.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_welch_greater_matches_scipy_one_sided() -> None:
    from pyflare_cli.analysis.rca.stats import moments, welch_greater

    rng = np.random.default_rng(3)
    for _ in range(20):
        a, b = rng.lognormal(5, 0.5, 60), rng.lognormal(5.1, 0.7, 90)
        (m1, v1), (m2, v2) = (
            moments(np.array([x.size], float), np.array([x.sum()]), np.array([(x**2).sum()]))
            for x in (a, b)
        )
        p = welch_greater(np.array([60.0]), m1, v1, np.array([90.0]), m2, v2)[0]
        expected = stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
        assert p == pytest.approx(expected, rel=1e-7)


def test_ndtr_matches_scipy_without_importing_it() -> None:
    from scipy import special

    x = np.concatenate([np.linspace(-40, 40, 20001), arr(np.inf, -np.inf, np.nan, 0.0, -0.0)])
    expected, got = special.ndtr(x), ndtr(x)
    assert np.array_equal(np.isnan(expected), np.isnan(got))
    assert np.nanmax(np.abs(expected - got)) < 1e-15
    tail = (x > -30) & (x < -5)  # relative agreement where p-values are tiny (not denormal)
    assert np.max(np.abs(got[tail] / expected[tail] - 1)) < 1e-12
    assert float(ndtr(arr(0.3))[0]) == pytest.approx(float(special.ndtr(0.3)), abs=1e-16)
