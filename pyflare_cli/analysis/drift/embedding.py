"""Embedding drift tests of ``pyflare drift``: MMD with a permutation p-value, centroids.

Embeddings use alibi-detect's MMD detector: a Gaussian RBF kernel whose bandwidth is the
median heuristic over the reference (``configure_kernel_from_x_ref=True``), the unbiased
MMD^2 of ``mmd2_from_kernel_matrix`` and a permutation p-value ``mean(mmd2 <= permuted)``.
The kernel is computed a block of rows at a time and every permutation is scored from the
same blocks (the statistic needs only sums of kernel values): memory is a 16 MB block and
the reference's pairwise distances for the bandwidth (16 MB for the 2,000 vectors drift
samples), not the (n + m)^2 matrix. 2 x 2,000 vectors (drift's sample) of dimension 384
take about 0.4 CPU s, on one BLAS thread (see :func:`mmd_test`).
Callers drop nulls and non-finite values first; nothing here reads files or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]

BLOCK_ENTRIES = 1 << 21
"""Kernel values computed at once (16 MB of float64): MMD^2 and its permutations need
only sums of kernel values, so the ``(n + m)^2`` matrix is never held whole."""


@dataclass(frozen=True)
class MMDResult:
    """An MMD permutation test (alibi-detect's ``MMDDrift``)."""

    mmd2: float
    p_value: float
    sigma: float
    permutations: int
    n_reference: int
    n_current: int


def mmd_test(
    reference: NDArray[Any],
    current: NDArray[Any],
    permutations: int = 100,
    seed: int = 0,
    sigma: float | None = None,
    *,
    bandwidth_from: Literal["reference", "pooled"] = "reference",
) -> MMDResult:
    """Maximum mean discrepancy with a permutation p-value, as alibi-detect's ``MMDDrift``.

    Kernel ``k(x, y) = exp(-||x - y||^2 / (2 sigma^2))``. Without ``sigma`` the bandwidth is
    alibi's ``sigma_median`` on the reference against itself: ``sqrt(0.5 * m)`` where ``m``
    is the lower median of the squared distances over distinct pairs ``i < j`` of reference
    rows (``bandwidth_from="pooled"``: of all rows). If more than half of those pairs are
    duplicates (``m == 0``), the median of the non-zero distances is used instead (alibi
    would use a bandwidth of ~1e-15), and 1.0 when every row is the same.

    MMD^2 is the unbiased estimate with the kernel diagonal zeroed:
    ``sum(K_xx) / (n(n-1)) + sum(K_yy) / (m(m-1)) - 2 mean(K_xy)``. The p-value is the share
    of ``permutations`` random relabellings of the pooled rows whose MMD^2 is at least the
    observed one. BLAS runs on one thread here: its products are many and small, and
    OpenBLAS's second thread spins between them, which cost 2.5x the CPU time (and more
    wall time on a busy machine) for 2 x 2,000 vectors. The kernel matrix is never held
    whole: each block of its rows adds to the row sums and to ``K a`` for every
    relabelling ``a``; memory is one block (:data:`BLOCK_ENTRIES`), plus the reference's
    pairwise distances for the bandwidth.
    """
    ref = _matrix(reference, "reference")
    cur = _matrix(current, "current")
    if ref.shape[1] != cur.shape[1]:
        raise ValueError(f"dimensions differ: reference {ref.shape[1]}, current {cur.shape[1]}")
    if permutations < 1:
        raise ValueError("permutations must be at least 1")
    if sigma is not None and not sigma > 0:
        raise ValueError("sigma must be positive")
    from threadpoolctl import threadpool_limits  # 5 ms: only when a model has vectors

    with threadpool_limits(limits=1, user_api="blas"):
        return _mmd(ref, cur, permutations, seed, sigma, bandwidth_from)


def _mmd(
    ref: Floats,
    cur: Floats,
    permutations: int,
    seed: int,
    sigma: float | None,
    bandwidth_from: Literal["reference", "pooled"],
) -> MMDResult:
    n, m = ref.shape[0], cur.shape[0]
    pooled = np.ascontiguousarray(np.concatenate([ref, cur]))
    distances = _Distances(pooled)
    if sigma is None:
        sigma = _median_sigma(distances, n if bandwidth_from == "reference" else n + m)

    rng = np.random.default_rng(seed)
    in_ref = np.zeros((n + m, permutations + 1))
    in_ref[:n, 0] = 1.0  # column 0: the observed split
    for col in range(1, permutations + 1):
        in_ref[rng.permutation(n + m)[:n], col] = 1.0
    row_sums = np.empty(n + m)
    k_in_ref = np.empty_like(in_ref)  # K a for every split a, filled block by block
    scale = -1.0 / (2.0 * sigma**2)
    for start, stop in distances.blocks(n + m):
        kernel = distances.rows(start, stop, n + m)
        kernel *= scale
        np.exp(kernel, out=kernel)
        _zero_diagonal(kernel, start)
        row_sums[start:stop] = kernel.sum(axis=1)
        k_in_ref[start:stop] = kernel @ in_ref
    s_xx = np.einsum("ij,ij->j", in_ref, k_in_ref)  # a' K a
    s_x_all = in_ref.T @ row_sums  # a' K 1
    s_xy = s_x_all - s_xx  # a' K b with b = 1 - a
    s_yy = row_sums.sum() - 2.0 * s_x_all + s_xx  # b' K b
    mmd2 = s_xx / (n * (n - 1)) + s_yy / (m * (m - 1)) - 2.0 * s_xy / (n * m)
    p_value = float(np.mean(mmd2[0] <= mmd2[1:]))
    return MMDResult(float(mmd2[0]), p_value, float(sigma), permutations, n, m)


def centroid_cosine_distance(reference: NDArray[Any], current: NDArray[Any]) -> float:
    """``1 - cos(mean(reference), mean(current))``, in [0, 2].

    A zero centroid has no direction: two zero centroids are 0.0 apart (nothing moved) and
    a zero centroid against a non-zero one is 1.0 (cosine taken as 0, as scikit-learn does).
    """
    ref = _matrix(reference, "reference", min_rows=1)
    cur = _matrix(current, "current", min_rows=1)
    if ref.shape[1] != cur.shape[1]:
        raise ValueError(f"dimensions differ: reference {ref.shape[1]}, current {cur.shape[1]}")
    a, b = ref.mean(axis=0), cur.mean(axis=0)
    norm_a, norm_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if norm_a == 0.0 or norm_b == 0.0:
        return 0.0 if norm_a == norm_b else 1.0
    cosine = float(np.dot(a, b)) / (norm_a * norm_b)
    return float(np.clip(1.0 - cosine, 0.0, 2.0))


def _matrix(values: NDArray[Any], name: str, min_rows: int = 2) -> Floats:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < min_rows or array.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array with at least {min_rows} rows")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has NaN or infinite values")
    return array


class _Distances:
    """Squared Euclidean distances between rows of ``pooled``, a block of rows at a time.

    ``||x||^2 + ||y||^2 - 2 x.y``, clipped at 0, and exactly 0 between identical rows (the
    rounding of that formula can leave ~1e-16 there, and the bandwidth's duplicate rule
    tests for 0). A block holds at most :data:`BLOCK_ENTRIES` values.
    """

    def __init__(self, pooled: Floats) -> None:
        self.pooled = pooled
        self.sq_norms = np.einsum("ij,ij->i", pooled, pooled)
        _, inverse = np.unique(pooled, axis=0, return_inverse=True)
        self.same = inverse.reshape(-1)  # equal ids: identical rows

    def blocks(self, columns: int) -> list[tuple[int, int]]:
        """``(start, stop)`` row ranges of blocks whose rows span ``columns`` columns."""
        step = max(1, BLOCK_ENTRIES // max(columns, 1))
        rows = self.pooled.shape[0]
        return [(a, min(a + step, rows)) for a in range(0, rows, step)]

    def rows(self, start: int, stop: int, columns: int) -> Floats:
        """Distances of rows ``start:stop`` to rows ``0:columns``, a fresh array."""
        block: Floats = np.dot(self.pooled[start:stop], self.pooled[:columns].T)
        block *= -2.0
        block += self.sq_norms[start:stop, None]
        block += self.sq_norms[None, :columns]
        np.maximum(block, 0.0, out=block)
        block[self.same[start:stop, None] == self.same[None, :columns]] = 0.0
        return block


def _zero_diagonal(block: Floats, start: int) -> None:
    """Zero the entries ``(i, i)`` of rows ``start:start + len(block)`` of a square matrix."""
    rows = np.arange(block.shape[0])
    block[rows, rows + start] = 0.0


def _median_sigma(distances: _Distances, rows: int) -> float:
    """``sqrt(0.5 * lower median)`` of squared distances over pairs ``i < j < rows``."""
    parts = []
    for start, stop in distances.blocks(rows):
        if start >= rows:
            break
        stop = min(stop, rows)
        block = distances.rows(start, stop, rows)
        upper = np.arange(rows)[None, :] > np.arange(start, stop)[:, None]
        parts.append(block[upper])  # row by row, as sq_dist[i, i + 1 : rows]
    pairs = np.concatenate(parts)
    k = (pairs.size - 1) // 2  # alibi's index n + (n^2 - n) // 2 - 1, diagonal skipped
    pairs.partition(k)  # in place: pairs is a fresh copy
    median = float(pairs[k])
    if median == 0.0:
        pairs = pairs[pairs > 0]
        if pairs.size == 0:
            return 1.0
        k = (pairs.size - 1) // 2
        pairs.partition(k)
        median = float(pairs[k])
    return float(np.sqrt(0.5 * median))
