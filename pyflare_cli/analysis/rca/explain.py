"""Which significant slices to show, and in what order: a greedy explanation of the rise.

The lattice finds many significant slices for one incident: the cause (``version = 2.0
and model = mini``) and every wider slice that contains its failing rows (``type = llm``,
``environment = prod``, ``region = eu``). Overlap, not only nesting by name, makes them
significant. So the findings are picked one at a time, as explanation tables and BubbleUp
do, from exact overlap counts (one pass, :func:`passes.membership_counts`):

1. the most significant remaining slice is picked;
2. it is refined: a slice whose rows all lie inside it, materially worse (``CHILD_LIFT``
   times its rise per row) and keeping ``REFINED`` of its remaining excess (or leaving
   the rest insignificant) replaces it (the narrowest cause), as does one that only adds
   a new version or model to it; a slice inside a wider one that is not materially worse
   gives way to the wider one (it only trims rows);
3. every other candidate is re-tested on its rows *not* covered by the findings so far
   (against its own baseline rows not covered); one whose p-value no longer clears the
   bar of the discoveries (the largest p the correction accepted) is explained by them.

Findings rank by the excess they add beyond the ones before (share of the rise, each
error counted once). ``within`` lists the single slices that hold all of a finding's rows
(a new version deployed in one region is "all in region = eu-west-1").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from pyflare_cli.analysis.rca.passes import membership_counts
from pyflare_cli.analysis.rca.stats import fisher_mid_p, welch_above

CHILD_LIFT = 1.2
REFINED = 0.8
CANDIDATES = 62
"""Slices the explanation is picked from (the most significant); one bit each in a mask."""
TIE = 0.9
"""Findings whose added excess is within this ratio of a larger one keep their pick order
(the more significant first)."""


def explain(
    slices: pl.DataFrame,
    frame: pl.LazyFrame,
    binary: bool,
    alpha: float,
    per_trace: bool,
    changes: frozenset[str] = frozenset(),
) -> pl.DataFrame:
    """``slices`` with ``shown``, ``added`` (excess beyond earlier findings) and ``within``;
    shown rows first, in the order they were picked."""
    # by p-value to 9 significant figures, then by name: slices of the same rows tie, and
    # their last bits follow the order their sums were added in
    significant = slices.filter(pl.col("significant")).sort(
        pl.col("p_value").round_sig_figs(9), "slice", maintain_order=True
    )
    cands = significant.head(CANDIDATES)
    empty = slices.with_columns(
        pl.lit(False).alias("shown"),
        pl.lit(None, pl.Float64).alias("added"),
        pl.lit([], pl.List(pl.String)).alias("within"),
    )
    if cands.height == 0:
        return empty
    # a residual must clear the bar the discoveries cleared: the largest significant p
    cutoff = float(significant.get_column("p_value").max())  # type: ignore[arg-type]
    # to 9 significant figures: a residual of the same rows as the slice that set the bar
    # gives its p-value summed in another order, which differs in the last bits
    cutoff *= 1.0 + 1e-9
    conditions = [[tuple(c.split(" = ", 1)) for c in cs] for cs in cands["conditions"]]
    masks = membership_counts(frame, conditions, per_trace)
    m = masks.get_column("mask").to_numpy()
    sums = {
        c: masks.get_column(c).to_numpy().astype(np.float64)
        for c in ("nt", "st", "qt", "nb", "sb", "qb", "zt", "zqt", "zb", "zqb")
    }
    k = cands.height
    member = np.array([(m >> i) & 1 for i in range(k)], dtype=bool)  # (k, groups)
    ref_mean = cands.get_column("metric_reference").fill_nan(0.0).fill_null(0.0).to_numpy()
    own = cands.get_column("compared_with").to_numpy() == "baseline"
    ref = cands.select("ref_n", "ref_s", "ref_zs", "ref_zq").to_numpy().astype(np.float64)
    sizes = cands.get_column("n_target").to_numpy()
    names = cands.get_column("conditions").to_list()

    def residual(covered: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per candidate: excess, rise per row and p-value of its rows outside ``covered``.

        "Materially worse" compares rises per row, not levels: a tool's self time is not
        comparable with its service's mean, its added milliseconds are."""
        keep = member & ~covered[None, :]
        s = {c: keep @ v for c, v in sums.items()}
        rn = np.where(own, s["nb"], ref[:, 0])
        rs = np.where(own, s["sb"], ref[:, 1])
        if binary:
            p = fisher_mid_p(s["nt"], s["st"], rn, rs)
        else:  # on the test scale, as the search tested it
            rzs = np.where(own, s["zb"], ref[:, 2])
            rzq = np.where(own, s["zqb"], ref[:, 3])
            p = welch_above(s["nt"], s["zt"], s["zqt"], rn, rzs, rzq)
        excess = s["st"] - s["nt"] * ref_mean
        with np.errstate(divide="ignore", invalid="ignore"):
            rise = np.where(s["nt"] > 0, excess / s["nt"], 0.0)
        return excess, rise, p

    inside = np.array(
        [[not (member[a] & ~member[b]).any() for b in range(k)] for a in range(k)]
    )  # inside[a, b]: every row of a is in b
    covered = np.zeros(m.size, dtype=bool)
    alive = _distinct(inside, names, changes)
    picked: list[tuple[int, float]] = []
    while alive.any():
        excess, rise, p = residual(covered)
        alive &= (p <= cutoff) & (excess > 0)
        if not alive.any():
            break
        choice = int(np.flatnonzero(alive)[np.argmin(p[alive])])

        def explains(
            n: int, c: int, covered: np.ndarray = covered, excess: np.ndarray = excess
        ) -> bool:
            """Whether ``n`` keeps most of ``c``'s excess, or ``c`` is no longer significant
            once ``n``'s rows are covered too."""
            if excess[n] >= REFINED * excess[c]:
                return True
            return bool(residual(covered | member[n])[2][c] > cutoff)

        for _ in range(8):  # narrow to what explains it, widen past mere trims; settles fast
            before = choice
            choice = _refine(choice, alive, inside, rise, excess, sizes, names, changes, explains)
            choice = _widen(choice, alive, inside, rise, excess, names, changes)
            if choice == before:
                break
        picked.append((choice, float(excess[choice])))
        covered |= member[choice]
        alive[choice] = False
    order = _ordered(picked)
    within = [
        [
            names[b][0]
            for b in range(k)  # in p-value order, ties by name (above)
            if b != a and inside[a, b] and len(names[b]) == 1 and names[b][0] not in names[a]
        ]
        for a in range(k)
    ]
    chosen = pl.DataFrame(
        {
            "slice": [cands["slice"][i] for i, _ in order],
            "shown": [True] * len(order),
            "added": [a for _, a in order],
            "within": [within[i] for i, _ in order],
            "rank": list(range(len(order))),
        },
        schema={
            "slice": pl.String,
            "shown": pl.Boolean,
            "added": pl.Float64,
            "within": pl.List(pl.String),
            "rank": pl.Int64,
        },
    )
    return (
        slices.join(chosen, on="slice", how="left")
        .with_columns(pl.col("shown").fill_null(False), pl.col("within").fill_null([]))
        .sort(
            ["rank", "significant", "excess"],
            descending=[False, True, True],
            nulls_last=True,
            maintain_order=True,
        )
        .drop("rank")
    )


def _ordered(picked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """By added excess, most first; near ties (``TIE``) in pick order."""
    ranked = sorted(enumerate(picked), key=lambda c: -c[1][1])
    groups: list[list[tuple[int, tuple[int, float]]]] = []
    for item in ranked:
        if groups and item[1][1] >= TIE * groups[-1][0][1][1]:
            groups[-1].append(item)
        else:
            groups.append([item])
    return [c for g in groups for _, c in sorted(g, key=lambda c: c[0])]


def _distinct(inside: np.ndarray, names: list[list[str]], changes: frozenset[str]) -> np.ndarray:
    """Candidates left when slices with the very same rows are one: the shortest name (a
    new version or model named in it first), the most significant among equals."""
    alive = np.ones(len(names), dtype=bool)
    for a in range(len(names)):
        for b in range(a):  # b is more significant than a (candidates are sorted by p)
            if alive[b] and inside[a, b] and inside[b, a]:
                key_a = (-len(set(names[a]) & changes), len(names[a]))
                key_b = (-len(set(names[b]) & changes), len(names[b]))
                if key_a < key_b:
                    alive[b] = False
                else:
                    alive[a] = False
                    break
    return alive


def _widen(
    choice: int,
    alive: np.ndarray,
    inside: np.ndarray,
    metric: np.ndarray,
    excess: np.ndarray,
    names: list[list[str]],
    changes: frozenset[str],
) -> int:
    """The widest live slice holding ``choice`` that is as bad and carries as much excess:
    a narrower slice that is not materially worse only trims rows off it."""
    wider = []
    for g in np.flatnonzero(alive):
        if g == choice or not inside[choice, g]:
            continue
        extra = set(names[choice]) - set(names[g])
        if extra and extra <= changes:
            continue  # the new version is the explanation, not a trim
        if metric[choice] < CHILD_LIFT * metric[g] and excess[g] >= REFINED * excess[choice]:
            wider.append(g)
    if not wider:
        return choice
    return int(max(wider, key=lambda g: (excess[g], -len(names[g]))))


def _refine(
    choice: int,
    alive: np.ndarray,
    inside: np.ndarray,
    metric: np.ndarray,
    excess: np.ndarray,
    sizes: np.ndarray,
    names: list[list[str]],
    changes: frozenset[str],
    explains: Callable[[int, int], bool],
) -> int:
    """The narrowest live slice inside ``choice`` that explains it (module docstring)."""
    while True:
        better = []
        for n in np.flatnonzero(alive):
            if n == choice or not inside[n, choice]:
                continue
            extra = set(names[n]) - set(names[choice])
            only_changes = bool(extra) and extra <= changes and set(names[n]) > set(names[choice])
            lifted = metric[n] >= CHILD_LIFT * metric[choice]
            if only_changes or (lifted and explains(int(n), choice)):
                better.append(n)
        if not better:
            return choice
        # the narrowest of those that keep (nearly) the most excess
        most = max(excess[n] for n in better)
        keeping = [n for n in better if excess[n] >= TIE * most]
        choice = int(min(keeping, key=lambda n: (sizes[n], len(names[n]))))
