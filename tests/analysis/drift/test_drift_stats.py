"""Drift statistics: known answers, agreement with SciPy, and loop-written references.

The references below are written in plain Python loops on purpose, so they share no
vectorised code (and no bug) with the module: PSI with its bins and empty-bin fill, the
two-proportion z-test, and the MMD^2 estimate with its bandwidth and permutation p-value.
"""

from __future__ import annotations

import bisect
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from pyflare_cli.analysis.drift import embedding
from pyflare_cli.analysis.drift.embedding import centroid_cosine_distance, mmd_test
from pyflare_cli.analysis.drift.stats import (
    DEFAULT_THRESHOLDS,
    METHODS,
    P_VALUE_METHODS,
    binned_percents,
    categorical_test,
    count_percents,
    default_method,
    effective_kind,
    numerical_test,
    psi,
    rel_entr,
)

TOL = 1e-9


def normal(seed: int, mean: float = 0.0, n: int = 500) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, n)


# --- plain-Python references -------------------------------------------------------------


def loop_fill(shares: list[float]) -> list[float]:
    smallest = min(s for s in shares if s != 0)
    fill = smallest / 1e6 if smallest <= 0.0001 else 0.0001
    return [fill if s == 0 else s for s in shares]


def loop_psi(reference: list[float], current: list[float]) -> float:
    """Sturges bins on both samples, shares per bin, empty shares filled, PSI summed."""
    pooled = reference + current
    lo, hi = min(pooled), max(pooled)
    n_bins = math.ceil(math.log2(len(pooled)) + 1)
    edges = [lo + (hi - lo) * i / n_bins for i in range(n_bins + 1)]

    def shares(sample: list[float]) -> list[float]:
        counts = [0] * n_bins
        for x in sample:
            counts[min(bisect.bisect_right(edges, x) - 1, n_bins - 1)] += 1
        return [c / len(sample) for c in counts]

    total = 0.0
    for r, c in zip(loop_fill(shares(reference)), loop_fill(shares(current)), strict=True):
        total += (r - c) * math.log(r / c)
    return total


def loop_z_p(ref: tuple[int, int], cur: tuple[int, int]) -> tuple[float, float]:
    n1, n2 = ref[0] + ref[1], cur[0] + cur[1]
    p1, p2 = ref[1] / n1, cur[1] / n2
    pooled = (ref[1] + cur[1]) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return z, math.erfc(abs(z) / math.sqrt(2))  # = 2 * (1 - Phi(|z|))


def loop_sq(a: list[float], b: list[float]) -> float:
    return sum((u - v) ** 2 for u, v in zip(a, b, strict=True))


def loop_sigma(rows: list[list[float]]) -> float:
    pairs = sorted(
        loop_sq(rows[i], rows[j]) for i in range(len(rows)) for j in range(i + 1, len(rows))
    )
    return math.sqrt(0.5 * pairs[(len(pairs) - 1) // 2])  # lower median


def loop_mmd2(x: list[list[float]], y: list[list[float]], sigma: float) -> float:
    def k(a: list[float], b: list[float]) -> float:
        return math.exp(-loop_sq(a, b) / (2 * sigma**2))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(a, b) for a in x for b in y)
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * xy / (n * m)


def small_embeddings() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.normal(0, 1, (20, 3)), rng.normal(0.4, 1.2, (15, 3))


def around(direction: np.ndarray, n: int, seed: int, noise: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return direction + rng.normal(0, noise, (n, direction.size))


def rotated(dim: int, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    u, v = np.zeros(dim), np.zeros(dim)
    u[0] = 1.0
    v[0], v[1] = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return u, v


# --- numerical features --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ks", "wasserstein", "psi", "jensenshannon"])
def test_same_distribution_is_not_drifted_and_shifted_mean_is(method: str) -> None:
    # 2,000 rows: at 500, two N(0, 1) draws reach PSI/JS/Wasserstein ~0.11 for some seeds.
    same = numerical_test(normal(1, n=2000), normal(2, n=2000), method)
    shifted = numerical_test(normal(1, n=2000), normal(3, mean=0.5, n=2000), method)
    assert not same.drifted
    assert shifted.drifted
    if method in P_VALUE_METHODS:
        assert same.score > 0.05 and shifted.score < 1e-6
    else:
        assert same.score < 0.07 and shifted.score > 0.15


def test_small_same_distribution_samples_pass_ks() -> None:
    assert not numerical_test(normal(1), normal(2), "ks").drifted  # n = 500
    assert numerical_test(normal(1), normal(3, mean=0.5), "ks").drifted


def test_ks_and_wasserstein_agree_with_scipy() -> None:
    ref, cur = normal(4), normal(5, mean=0.1, n=321)
    ks = numerical_test(ref, cur, "ks")
    expected = stats.ks_2samp(ref, cur)
    assert ks.p_value == ks.score
    assert abs(ks.score - expected.pvalue) < TOL
    assert ks.statistic is not None and abs(ks.statistic - expected.statistic) < TOL
    wd = numerical_test(ref, cur, "wasserstein")
    raw = stats.wasserstein_distance(ref, cur)
    assert abs(wd.score * np.std(ref) - raw) < TOL  # population std (ddof=0)
    assert abs(wd.score - raw / np.std(ref, ddof=0)) < TOL
    assert wd.p_value is None and wd.statistic is None


def test_wasserstein_norm_has_a_floor_for_a_constant_reference() -> None:
    result = numerical_test(np.ones(50), np.full(40, 1.01), "wasserstein")
    assert abs(result.score - 0.01 / 0.001) < 1e-6
    assert result.drifted


def test_psi_matches_a_loop_reference_with_sturges_bins_and_empty_bins_filled() -> None:
    ref, cur = normal(6), normal(8, mean=2.0, n=400)  # 900 values: 11 bins, some empty
    edges, ref_pct, cur_pct = binned_percents(ref, cur)
    assert len(edges) == 12
    assert (ref_pct == 0.0001).any() or (cur_pct == 0.0001).any()
    result = numerical_test(ref, cur, "psi")
    assert abs(result.score - loop_psi(ref.tolist(), cur.tolist())) < TOL
    assert abs(result.score - psi(ref_pct, cur_pct)) < TOL


def test_empty_shares_below_one_in_ten_thousand_use_a_millionth_of_the_smallest() -> None:
    ref_pct, cur_pct = count_percents(np.array([1, 20_000, 0]), np.array([5, 5, 0]))
    assert ref_pct.tolist() == pytest.approx(loop_fill([1 / 20_001, 20_000 / 20_001, 0.0]))
    assert ref_pct[2] == pytest.approx(1 / 20_001 / 1e6, rel=1e-12)
    assert cur_pct[2] == 0.0001
    raw_ref, _ = count_percents(np.array([1, 3, 0]), np.array([1, 1, 2]), fill_zeroes=False)
    assert raw_ref.tolist() == [0.25, 0.75, 0.0]


def test_psi_known_value() -> None:
    assert abs(psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) - 0.25 * math.log(3)) < TOL
    with pytest.raises(ValueError, match="positive shares"):
        psi(np.array([0.5, 0.5]), np.array([1.0, 0.0]))


def test_few_distinct_values_are_binned_one_value_per_bin_as_evidently() -> None:
    rng = np.random.default_rng(9)
    values = [0.0, 1.0, 2.0, 50.0, 51.0]  # equal-width bins would merge 0, 1 and 2
    ref = rng.choice(values[:4], 600, p=[0.5, 0.1, 0.1, 0.3])
    cur = rng.choice(values, 500, p=[0.1, 0.4, 0.1, 0.3, 0.1])  # 51 only in current
    ref_counts = np.array([(ref == v).sum() for v in values])
    cur_counts = np.array([(cur == v).sum() for v in values])
    for method in ("psi", "jensenshannon", "chisquare"):
        as_numbers = numerical_test(ref, cur, method)
        assert as_numbers == categorical_test(ref_counts, cur_counts, method)
    chi = numerical_test(ref, cur, "chisquare")
    assert chi.score == 0.0 and chi.drifted  # a value the reference never had: inf statistic


def test_binary_numbers_get_the_z_test() -> None:
    ref = np.array([0.0] * 60 + [1.0] * 40)
    cur = np.array([0.0] * 45 + [1.0] * 55)
    assert numerical_test(ref, cur, "z") == categorical_test(
        np.array([60, 40]), np.array([45, 55]), "z"
    )
    same = numerical_test(np.ones(30), np.ones(20), "z")
    assert same.score == 1.0 and not same.drifted


# --- categorical features ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["chisquare", "jensenshannon", "psi"])
def test_changed_category_mix_drifts_and_same_mix_does_not(method: str) -> None:
    ref = np.array([500, 300, 200])
    assert categorical_test(ref, np.array([300, 300, 400]), method).drifted
    same = categorical_test(ref, np.array([250, 150, 100]), method)
    assert not same.drifted
    assert same.score == pytest.approx(1.0 if method == "chisquare" else 0.0, abs=1e-12)


def test_sampled_category_mix() -> None:
    rng = np.random.default_rng(11)
    cats = np.array(["a", "b", "c", "d"])
    ref = rng.choice(cats, 2000, p=[0.4, 0.3, 0.2, 0.1])
    same = rng.choice(cats, 1500, p=[0.4, 0.3, 0.2, 0.1])
    moved = rng.choice(cats, 1500, p=[0.3, 0.3, 0.2, 0.2])

    def counts(x: np.ndarray) -> np.ndarray:
        return np.array([(x == c).sum() for c in cats])

    for method in ("chisquare", "jensenshannon", "psi"):
        assert not categorical_test(counts(ref), counts(same), method).drifted
        assert categorical_test(counts(ref), counts(moved), method).drifted


def test_chisquare_agrees_with_scipy_on_hand_built_expected_counts() -> None:
    ref, cur = np.array([120, 80, 50, 0]), np.array([40, 35, 20, 0])
    result = categorical_test(ref, cur, "chisquare")
    expected = stats.chisquare([40, 35, 20], [120 * 95 / 250, 80 * 95 / 250, 50 * 95 / 250])
    assert abs(result.score - expected.pvalue) < TOL
    assert result.statistic is not None and abs(result.statistic - expected.statistic) < TOL


def test_jensenshannon_agrees_with_scipy_and_uses_natural_log() -> None:
    ref, cur = np.array([10, 20, 30, 0]), np.array([15, 15, 25, 5])
    result = categorical_test(ref, cur, "jensenshannon")
    expected = distance.jensenshannon([10 / 60, 20 / 60, 30 / 60, 0], [0.25, 0.25, 25 / 60, 5 / 60])
    assert abs(result.score - expected) < TOL
    disjoint = categorical_test(np.array([7, 0]), np.array([0, 3]), "jensenshannon")
    ref, cur = normal(6), normal(8, mean=2.0, n=400)  # empty bins are left empty for JS
    _, ref_pct, cur_pct = binned_percents(ref, cur, fill_zeroes=False)
    assert (ref_pct == 0).any() or (cur_pct == 0).any()
    js = numerical_test(ref, cur, "jensenshannon").score
    assert abs(js - distance.jensenshannon(ref_pct, cur_pct)) < TOL
    assert abs(disjoint.score - math.sqrt(math.log(2))) < TOL  # base 2 would give 1.0


def test_z_test_matches_a_hand_computation() -> None:
    result = categorical_test(np.array([60, 40]), np.array([45, 55]), "z")
    z, p = loop_z_p((60, 40), (45, 55))
    assert result.statistic is not None and abs(result.statistic - z) < TOL
    assert abs(result.score - p) < TOL
    assert result.score == pytest.approx(0.03367, abs=5e-5)  # z = -0.15 / 0.070622 = -2.124
    assert result.drifted
    swapped = categorical_test(np.array([40, 60]), np.array([55, 45]), "z")
    assert abs(swapped.score - result.score) < TOL
    one_value = categorical_test(np.array([30, 0]), np.array([10, 0]), "z")
    assert one_value.score == 1.0 and not one_value.drifted


# --- choosing a method, thresholds, errors ---------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "n_reference", "n_unique", "expected"),
    [
        ("numerical", 1000, 6, "ks"),
        ("numerical", 1001, 6, "wasserstein"),
        ("numerical", 1000, 5, "chisquare"),
        ("numerical", 1000, 3, "chisquare"),
        ("numerical", 1000, 2, "z"),
        ("numerical", 1000, 1, "z"),
        ("numerical", 1001, 5, "jensenshannon"),
        ("numerical", 1001, 2, "jensenshannon"),
        ("categorical", 1000, 50, "chisquare"),
        ("categorical", 1000, 3, "chisquare"),
        ("categorical", 1000, 2, "z"),
        ("categorical", 1001, 50, "jensenshannon"),
        ("categorical", 5000, 2, "jensenshannon"),
    ],
)
def test_default_method(kind: str, n_reference: int, n_unique: int, expected: str) -> None:
    assert default_method(kind, n_reference, n_unique) == expected  # type: ignore[arg-type]


def test_effective_kind() -> None:
    assert effective_kind("numerical", 5) == "categorical"
    assert effective_kind("numerical", 6) == "numerical"
    assert effective_kind("categorical", 100) == "categorical"
    with pytest.raises(ValueError, match="unknown kind"):
        effective_kind("text", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown kind"):
        default_method("ordinal", 10, 3)  # type: ignore[arg-type]


def test_threshold_direction_and_defaults() -> None:
    assert set(METHODS) == set(DEFAULT_THRESHOLDS)
    assert frozenset({"ks", "chisquare", "z"}) == P_VALUE_METHODS
    ref, cur = normal(12), normal(13, mean=0.15)
    ks = numerical_test(ref, cur, "ks")
    assert ks.threshold == 0.05
    assert numerical_test(ref, cur, "ks", threshold=ks.score).drifted  # p <= threshold
    assert not numerical_test(ref, cur, "ks", threshold=ks.score * 0.99).drifted
    chi = categorical_test(np.array([60, 40, 30]), np.array([45, 55, 30]), "chisquare")
    assert not categorical_test(
        np.array([60, 40, 30]), np.array([45, 55, 30]), "chisquare", threshold=chi.score
    ).drifted  # p < threshold, strictly
    wd = numerical_test(ref, cur, "wasserstein")
    assert wd.threshold == 0.1
    assert numerical_test(ref, cur, "wasserstein", threshold=wd.score).drifted  # >= threshold
    assert not numerical_test(ref, cur, "wasserstein", threshold=wd.score * 1.01).drifted


def test_errors_name_the_problem() -> None:
    counts = np.array([5, 5])
    for method in ("ks", "wasserstein"):
        with pytest.raises(ValueError, match="needs numerical samples"):
            categorical_test(counts, counts, method)
    with pytest.raises(ValueError, match="unknown drift method 'kl'"):
        numerical_test(normal(1), normal(2), "kl")
    with pytest.raises(ValueError, match="unknown drift method"):
        categorical_test(counts, counts, "anderson")
    with pytest.raises(ValueError, match="2 categories, got 3"):
        categorical_test(np.array([1, 2, 3]), np.array([3, 2, 1]), "z")
    with pytest.raises(ValueError, match="2 categories, got 3"):
        numerical_test(np.array([0.0, 1.0, 2.0]), np.array([1.0]), "z")
    with pytest.raises(ValueError, match="same categories"):
        categorical_test(np.array([1, 2]), np.array([1, 2, 3]), "chisquare")
    with pytest.raises(ValueError, match="at least one value"):
        categorical_test(np.array([0, 0]), np.array([1, 2]), "psi")
    with pytest.raises(ValueError, match="NaN"):
        numerical_test(np.array([1.0, np.nan]), np.array([1.0]), "ks")
    with pytest.raises(ValueError, match="non-empty"):
        numerical_test(np.array([]), np.array([1.0]), "ks")


# --- embeddings ----------------------------------------------------------------------------


def test_mmd2_matches_a_double_loop_with_a_fixed_sigma() -> None:
    x, y = small_embeddings()
    result = mmd_test(x, y, permutations=5, sigma=1.3)
    assert result.sigma == 1.3
    assert abs(result.mmd2 - loop_mmd2(x.tolist(), y.tolist(), 1.3)) < TOL
    assert (result.n_reference, result.n_current, result.permutations) == (20, 15, 5)


def test_mmd2_matches_a_double_loop_with_the_median_heuristic() -> None:
    x, y = small_embeddings()
    result = mmd_test(x, y, permutations=5)
    sigma = loop_sigma(x.tolist())  # alibi: sigma_median on the reference against itself
    assert abs(result.sigma - sigma) < TOL
    assert abs(result.mmd2 - loop_mmd2(x.tolist(), y.tolist(), sigma)) < TOL
    pooled = mmd_test(x, y, permutations=5, bandwidth_from="pooled")
    assert abs(pooled.sigma - loop_sigma(x.tolist() + y.tolist())) < TOL
    assert pooled.sigma != result.sigma


def test_permutation_p_value_matches_a_loop_over_the_same_relabellings() -> None:
    x, y = small_embeddings()
    result = mmd_test(x, y, permutations=20, seed=3, sigma=1.0)
    pooled = np.concatenate([x, y]).tolist()
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(20):
        chosen = set(rng.permutation(35)[:20].tolist())
        new_x = [pooled[i] for i in range(35) if i in chosen]
        new_y = [pooled[i] for i in range(35) if i not in chosen]
        hits += loop_mmd2(x.tolist(), y.tolist(), 1.0) <= loop_mmd2(new_x, new_y, 1.0)
    assert result.p_value == hits / 20


def test_mmd_detects_rotated_embeddings_and_not_same_distribution() -> None:
    u, v = rotated(16, 60)
    ref = around(u, 150, seed=1)
    shifted = mmd_test(ref, around(v, 150, seed=2))
    same = mmd_test(ref, around(u, 150, seed=3))
    assert 0.0 <= shifted.p_value <= 1.0 and 0.0 <= same.p_value <= 1.0
    assert shifted.p_value <= 0.01
    assert same.p_value > 0.1
    assert shifted.mmd2 > 10 * abs(same.mmd2)


def test_mmd_ties_count_as_at_least_as_large() -> None:
    result = mmd_test(np.ones((10, 3)), np.ones((8, 3)), permutations=10)
    assert result.mmd2 == 0.0 and result.p_value == 1.0  # alibi: mmd2 <= permuted


def test_mmd_rejects_bad_input() -> None:
    x, y = small_embeddings()
    with pytest.raises(ValueError, match="dimensions differ"):
        mmd_test(x, y[:, :2])
    with pytest.raises(ValueError, match="at least 2 rows"):
        mmd_test(x[:1], y)
    with pytest.raises(ValueError, match="permutations"):
        mmd_test(x, y, permutations=0)


def test_mmd_bandwidth_survives_mostly_duplicate_rows() -> None:
    rng = np.random.default_rng(5)
    ref = np.vstack([np.ones((30, 4)), rng.normal(0, 1, (5, 4))])  # most pairs are duplicates
    result = mmd_test(ref, rng.normal(0, 1, (20, 4)), permutations=10)
    assert result.sigma > 0.1 and math.isfinite(result.mmd2)


def test_centroid_cosine_distance() -> None:
    u, v = rotated(8, 60)
    w = rotated(8, 90)[1]
    ref = around(u, 200, seed=1, noise=0.0)
    assert abs(centroid_cosine_distance(ref, around(2 * u, 50, seed=2, noise=0.0))) < 1e-12
    assert abs(centroid_cosine_distance(ref, around(w, 50, seed=2, noise=0.0)) - 1.0) < 1e-12
    assert abs(centroid_cosine_distance(ref, around(v, 50, seed=2, noise=0.0)) - 0.5) < 1e-12
    assert abs(centroid_cosine_distance(ref, -ref) - 2.0) < 1e-12
    zero = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert centroid_cosine_distance(zero, zero) == 0.0
    assert centroid_cosine_distance(zero, np.array([[1.0, 1.0]])) == 1.0


def test_mmd_in_blocks_of_one_row_matches_the_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = small_embeddings()
    whole = mmd_test(x, y, permutations=20, seed=3)
    monkeypatch.setattr(embedding, "BLOCK_ENTRIES", 1)  # every block is one row
    blocked = mmd_test(x, y, permutations=20, seed=3)
    sigma = loop_sigma(x.tolist())
    assert abs(blocked.sigma - sigma) < TOL
    assert abs(blocked.mmd2 - loop_mmd2(x.tolist(), y.tolist(), sigma)) < TOL
    assert blocked.p_value == whole.p_value
    assert abs(blocked.mmd2 - whole.mmd2) < 1e-15


def test_mmd_duplicate_rows_are_exactly_zero_apart() -> None:
    # ||a||^2 + ||a||^2 - 2 a.a rounds to about 1e-7 (or below 0) for these rows: a duplicate at
    # that distance would escape the bandwidth's "median of non-zero distances" rule
    # and give a bandwidth of 2e-4 instead of 2e4. Each reference is mostly one row, copied.
    for seed in range(6):
        rng = np.random.default_rng(seed)
        row = rng.normal(0, 1e3, 384) + rng.random(384) / 3
        ref = np.vstack([np.repeat(row[None, :], 30, axis=0), rng.normal(0, 1e3, (5, 384))])
        rows = ref.tolist()
        gaps = [loop_sq(a, b) for i, a in enumerate(rows) for b in rows[i + 1 :]]
        assert sorted(gaps)[(len(gaps) - 1) // 2] == 0.0  # most pairs are duplicates
        nonzero = sorted(g for g in gaps if g > 0)
        expected = math.sqrt(0.5 * nonzero[(len(nonzero) - 1) // 2])
        result = mmd_test(ref, rng.normal(0, 1e3, (20, 384)), permutations=10)
        assert abs(result.sigma - expected) / expected < 1e-9


def test_rel_entr_matches_scipy_on_every_branch() -> None:
    from scipy import special

    rng = np.random.default_rng(0)
    edge_x = [0, 0, -1, 1, np.nan, np.inf, 0, 2, 1e-300, 1e300, 1e-310, 5, np.inf, 0.5, 1.0]
    edge_y = [0, 1, 1, -1, 1, 1, np.inf, 0, 1e300, 1e-300, 1e300, 1e-320, np.inf, 0.5, 1.5]
    p = rng.random(10_000)
    x = np.concatenate([p, p, edge_x])
    y = np.concatenate([p * (1 + rng.normal(0, 1e-6, p.size)), rng.random(p.size), edge_y])
    expected, got = special.rel_entr(x, y), rel_entr(x, y)
    assert np.array_equal(np.isnan(expected), np.isnan(got))
    assert np.array_equal(np.isposinf(expected), np.isposinf(got))
    finite = np.isfinite(expected)
    assert np.max(np.abs(got[finite] - expected[finite])) < 1e-15


def test_default_tests_import_no_scipy() -> None:
    # scipy.special costs 0.2-0.3 s per command; the tests drift picks on large windows
    # (Wasserstein, Jensen-Shannon), the z-test and the concept bins' z-test need none of it.
    code = (
        "import sys, numpy as np\n"
        "from pyflare_cli.analysis.drift.stats import numerical_test, categorical_test\n"
        "from pyflare_cli.analysis.rca.stats import samples_p_value\n"
        "r = np.random.default_rng(0)\n"
        "numerical_test(r.normal(0, 1, 2000), r.normal(0, 1, 900), 'wasserstein')\n"
        "numerical_test(r.normal(0, 1, 2000), r.normal(0, 1, 900), 'jensenshannon')\n"
        "categorical_test(np.array([60, 40]), np.array([45, 55]), 'z')\n"
        "samples_p_value(np.ones(40), np.zeros(50), True)\n"
        "assert 'scipy' not in sys.modules, sorted(m for m in sys.modules if 'scipy' in m)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
