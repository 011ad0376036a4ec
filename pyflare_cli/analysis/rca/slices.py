"""Problematic slices: where the metric went up, found by a lattice search (Slice Finder).

Input: one frame of target and baseline spans (``target`` bool), the metric ``y`` and one
string column per dimension (see :mod:`dimensions`). Every single slice
(``dimension = value``) is summarised with one group-by per dimension; the most promising
ones are crossed with the other dimensions, up to ``max_order`` of them. A crossed slice is
kept only when it is worse than the parent it came from (tested against the rest of that
parent), so "region = eu-west-1 and model = gpt-4o-mini" is reported only when it is not
already explained by "model = gpt-4o-mini" alone.

Each slice's target spans are compared with the same slice in the baseline when the
baseline has enough of them, else (a new slice, such as a new version) with the rest of
the target. Impact is the share of the overall excess the slice explains: its target sum
minus what its spans would have given at the baseline's mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from pyflare_cli.analysis.rca.dimensions import NONE
from pyflare_cli.analysis.rca.stats import (
    benjamini_hochberg,
    bonferroni,
    cohens_d,
    cohens_h,
    moments,
    two_proportion,
    welch,
)

Correction = Literal["fdr", "bonferroni"]
CHILD_LIFT = 1.2
REFINED = 0.8
MIN_EFFECT = 0.2


@dataclass(frozen=True)
class SliceSettings:
    binary: bool = True
    min_size: int = 30
    max_order: int = 3
    beam: int = 12
    alpha: float = 0.05
    correction: Correction = "fdr"


SLICE_SCHEMA: dict[str, Any] = {
    "slice": pl.String,
    "order": pl.Int64,
    "n_target": pl.Int64,
    "n_baseline": pl.Int64,
    "metric_target": pl.Float64,
    "metric_outside": pl.Float64,
    "metric_baseline": pl.Float64,
    "compared_with": pl.String,
    "effect": pl.Float64,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "excess": pl.Float64,
    "explained": pl.Float64,
    "significant": pl.Boolean,
    "shown": pl.Boolean,
    "conditions": pl.List(pl.String),
}


@dataclass(frozen=True)
class Totals:
    n_target: int
    n_baseline: int
    mean_target: float
    mean_baseline: float
    excess: float


def totals(frame: pl.DataFrame) -> Totals:
    stats = frame.group_by("target").agg(pl.len().alias("n"), pl.col("y").sum().alias("s"))
    by = {t: (n, s) for t, n, s in stats.iter_rows()}
    nt, st = by.get(True, (0, 0.0))
    nb, sb = by.get(False, (0, 0.0))
    mean_b = sb / nb if nb else 0.0
    return Totals(nt, nb, st / nt if nt else 0.0, mean_b, st - nt * mean_b)


SUMS = ("nt", "st", "qt", "nb", "sb", "qb", "members")


def _prepared(frame: pl.DataFrame, dimensions: list[str]) -> pl.DataFrame:
    """Dimensions as categoricals and the per-window terms of every sum, computed once.

    A group-by then only adds plain columns, several times faster than filtered sums over
    strings; the search runs hundreds of them. ``members`` fingerprints a slice's spans.
    """
    t = pl.col("target").cast(pl.Float64)
    y = pl.col("y")
    return frame.select(
        pl.col("target"),
        pl.col("y"),
        *(pl.col(d).cast(pl.Categorical) for d in dimensions),
        t.alias("nt"),
        (y * t).alias("st"),
        (y * y * t).alias("qt"),
        (1.0 - t).alias("nb"),
        (y * (1.0 - t)).alias("sb"),
        (y * y * (1.0 - t)).alias("qb"),
        (pl.col("span_id").hash() % 2_147_483_647).cast(pl.Int64).alias("members"),
    )


def _summaries(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per value combination of ``keys``: count, sum and sum of squares in each window."""
    return (
        frame.group_by(keys)
        .agg(pl.col(SUMS).sum())
        .with_columns(pl.col(k).cast(pl.String) for k in keys)
    )


def _summaries_all(
    frame: pl.DataFrame, dimensions: list[str], settings: SliceSettings
) -> list[pl.DataFrame]:
    """:func:`_summaries` of each dimension, reportable groups only, run in parallel."""
    lazy = frame.lazy()
    queries = [
        lazy.group_by(dim)
        .agg(pl.col(SUMS).sum())
        .with_columns(pl.col(dim).cast(pl.String))
        .filter(_reportable(dim, settings))
        for dim in dimensions
    ]
    return pl.collect_all(queries)


def _label(keys: list[str], values: tuple[str, ...]) -> str:
    return " and ".join(f"{k} = {v}" for k, v in zip(keys, values, strict=True))


def _score(
    groups: pl.DataFrame,
    scope: tuple[float, float, float, float],
    base_mean: float,
    settings: SliceSettings,
) -> pl.DataFrame:
    """Test each group against its baseline slice, or against the rest of ``scope``.

    ``scope`` is (n, sum, sum of squares, unused) of the target spans the groups split:
    the whole target for single slices, the parent slice for crossed ones.
    """
    nt, st, qt = (groups.get_column(c).to_numpy() for c in ("nt", "st", "qt"))
    nb, sb, qb = (groups.get_column(c).to_numpy() for c in ("nb", "sb", "qb"))
    n_out, s_out, q_out = scope[0] - nt, scope[1] - st, scope[2] - qt
    mean_t, var_t = moments(nt, st, qt)
    mean_b, var_b = moments(nb, sb, qb)
    mean_o, var_o = moments(n_out, s_out, q_out)
    use_base = nb >= settings.min_size
    ref_n = np.where(use_base, nb, n_out)
    ref_mean = np.where(use_base, mean_b, mean_o)
    ref_var = np.where(use_base, var_b, var_o)
    ref_sum = np.where(use_base, sb, s_out)
    if settings.binary:
        _, p = two_proportion(nt, st, ref_n, ref_sum)
        effect = cohens_h(mean_t, ref_mean)
    else:
        _, p = welch(nt, mean_t, var_t, ref_n, ref_mean, ref_var)
        effect = cohens_d(nt, mean_t, var_t, ref_n, ref_mean, ref_var)
    expected = np.where(use_base, mean_b, base_mean)
    excess = st - nt * expected
    return groups.with_columns(
        pl.Series("metric_target", mean_t),
        pl.Series("metric_outside", mean_o),
        pl.Series("metric_baseline", np.where(nb > 0, mean_b, np.nan)),
        pl.Series("compared_with", np.where(use_base, "baseline", "rest")),
        pl.Series("effect", effect),
        pl.Series("p_value", np.where(ref_n > 0, p, 1.0)),
        pl.Series("excess", excess),
        pl.Series("worse", (mean_t > ref_mean) & (ref_n > 0)),
    )


def find_slices(
    frame: pl.DataFrame, dimensions: list[str], settings: SliceSettings
) -> pl.DataFrame:
    """Every tested slice with its statistics, significance after correction and impact."""
    frame = _prepared(frame, dimensions)
    total = totals(frame)
    target = frame.filter(pl.col("target"))
    y = target.get_column("y")
    whole = (float(target.height), float(y.sum()), float((y**2).sum()), 0.0)
    rows: list[pl.DataFrame] = []
    level: list[tuple[list[str], tuple[str, ...], float]] = []
    for dim, groups in zip(dimensions, _summaries_all(frame, dimensions, settings), strict=True):
        if groups.height == 0:
            continue
        scored = _score(groups, whole, total.mean_baseline, settings)
        rows.append(_labelled(scored, [dim], (), 1, dimensions))
        level.extend(_children_seeds(scored, [dim]))
    for order in range(2, settings.max_order + 1):
        seeds = sorted(level, key=lambda s: -s[2])
        level = []
        for keys, values, _parent in seeds[: settings.beam]:
            subset = _subset(frame, keys, values)
            sub_target = subset.filter(pl.col("target")).get_column("y")
            scope = (
                float(sub_target.len()),
                float(sub_target.sum()),
                float((sub_target**2).sum()),
                0.0,
            )
            others = [d for d in dimensions if d not in keys]
            for dim, groups in zip(others, _summaries_all(subset, others, settings), strict=True):
                if groups.height == 0:
                    continue
                scored = _score(groups, scope, total.mean_baseline, settings)
                against_parent = _within_parent(groups, scope, settings)
                scored = scored.with_columns(pl.Series("beyond_parent", against_parent))
                kept = scored.filter(pl.col("beyond_parent") < settings.alpha)
                if kept.height == 0:
                    continue
                labelled = _labelled(
                    kept.drop("beyond_parent"), [*keys, dim], values, order, dimensions
                )
                rows.append(labelled)
                level.extend(_children_seeds(kept, [*keys, dim], values))
    if not rows:
        return pl.DataFrame(schema=SLICE_SCHEMA)
    slices = pl.concat(rows, how="diagonal_relaxed").unique(
        "slice", keep="first", maintain_order=True
    )
    p = slices.get_column("p_value").to_numpy()
    q = bonferroni(p) if settings.correction == "bonferroni" else benjamini_hochberg(p)
    rise = _rise(slices)
    share = (
        (pl.col("excess") / rise).clip(upper_bound=1.0) if rise > 0 else pl.lit(None, pl.Float64)
    )
    significant = (pl.col("q_value") < settings.alpha) & pl.col("worse") & (pl.col("excess") > 0)
    slices = (
        slices.with_columns(pl.Series("q_value", q))
        .with_columns(share.alias("explained"), significant.alias("significant"))
        .sort(
            ["significant", "excess", "order", "slice"],
            descending=[True, True, False, False],
            maintain_order=True,
        )
    )
    return slices.with_columns(_simplify(slices, settings.binary, settings.alpha)).select(
        list(SLICE_SCHEMA)
    )


def _rise(slices: pl.DataFrame) -> float:
    """The rise to explain: the largest sum of positive excess over one dimension's values.

    The overall excess nets rises against falls (a noisy baseline day can make it tiny);
    summing the rises of single slices counts what went up, at the grain that shows most.
    """
    single = slices.filter(pl.col("order") == 1).with_columns(
        pl.col("conditions").list.first().str.split(" = ").list.first().alias("dimension")
    )
    if single.height == 0:
        return 0.0
    sums = single.group_by("dimension").agg(pl.col("excess").clip(lower_bound=0).sum())
    return float(sums.get_column("excess").max() or 0.0)  # type: ignore[arg-type]


def _reportable(dim: str, settings: SliceSettings) -> pl.Expr:
    """Big enough, and a value: "attribute not set" describes span types, not causes."""
    return (pl.col("nt") >= settings.min_size) & (pl.col(dim) != NONE)


def _within_parent(
    groups: pl.DataFrame, scope: tuple[float, float, float, float], settings: SliceSettings
) -> np.ndarray:
    """p-value of each child being materially worse than the rest of its parent (target).

    Materially: its mean at least ``CHILD_LIFT`` times the parent's and a small effect size
    or more against the rest, or trimming a few clean spans off a parent would pass.
    """
    nt, st, qt = (groups.get_column(c).to_numpy() for c in ("nt", "st", "qt"))
    n_out, s_out, q_out = scope[0] - nt, scope[1] - st, scope[2] - qt
    mean_t, var_t = moments(nt, st, qt)
    mean_o, var_o = moments(n_out, s_out, q_out)
    parent_mean = scope[1] / scope[0] if scope[0] else 0.0
    if settings.binary:
        z, p = two_proportion(nt, st, n_out, s_out)
        effect = cohens_h(mean_t, mean_o)
    else:
        z, p = welch(nt, mean_t, var_t, n_out, mean_o, var_o)
        effect = cohens_d(nt, mean_t, var_t, n_out, mean_o, var_o)
    material = (mean_t >= CHILD_LIFT * parent_mean) & (effect >= MIN_EFFECT)
    ok = (n_out >= settings.min_size) & (z > 0) & material
    result: np.ndarray = np.where(ok, p, 1.0)
    return result


def _labelled(
    scored: pl.DataFrame,
    keys: list[str],
    values: tuple[str, ...],
    order: int,
    dimensions: list[str],
) -> pl.DataFrame:
    """Name each slice by its conditions in dimension order, so crossings reached from
    different parents get one name."""
    last = keys[-1]
    parts: list[tuple[int, pl.Expr]] = [
        (dimensions.index(k), pl.lit(f"{k} = {v}")) for k, v in zip(keys, values, strict=False)
    ]
    parts.append((dimensions.index(last), pl.lit(f"{last} = ") + pl.col(last).cast(pl.String)))
    ordered = [expr for _, expr in sorted(parts, key=lambda p: p[0])]
    return scored.select(
        pl.concat_str(ordered, separator=" and ").alias("slice"),
        pl.concat_list(ordered).alias("conditions"),
        pl.lit(order, pl.Int64).alias("order"),
        pl.col("nt").cast(pl.Int64).alias("n_target"),
        pl.col("nb").cast(pl.Int64).alias("n_baseline"),
        "metric_target",
        "metric_outside",
        "metric_baseline",
        "compared_with",
        "effect",
        "p_value",
        "excess",
        "worse",
        "members",
    )


def _simplify(slices: pl.DataFrame, binary: bool, alpha: float) -> pl.Series:
    """Which significant slices to show: for nested ones, the one that says most.

    For a wider slice G and a narrower one S (S has G's conditions and more), both
    significant, S is *materially worse* than G when its metric is ``CHILD_LIFT`` times G's
    and, for error rates, significantly above the rest of G. Then S hides G when it keeps
    ``REFINED`` of G's excess (the narrow cause, as Watchdog and BubbleUp show it); when S
    is not materially worse than some G, G hides S (the extra condition only trims spans or
    rides on noise). Two names for the very same spans show once, the shorter.
    """
    rows = slices.select(
        "conditions", "metric_target", "excess", "significant", "n_target", "n_baseline", "members"
    ).rows()
    keep = [bool(r[3]) for r in rows]
    nested = [(i, set(r[0])) for i, r in enumerate(rows) if r[3]]
    for g, g_conditions in nested:
        for s, s_conditions in nested:
            if s == g or not s_conditions > g_conditions:
                continue
            worse = rows[s][1] >= CHILD_LIFT * rows[g][1] and (
                not binary or _beyond(rows[s], rows[g]) < alpha
            )
            if worse and rows[s][2] >= REFINED * rows[g][2]:
                keep[g] = False
            elif not worse:
                keep[s] = False
    same_spans: set[tuple[int, int, int]] = set()
    for i in sorted(range(len(rows)), key=lambda i: len(rows[i][0])):
        signature = (rows[i][4], rows[i][5], rows[i][6])
        if keep[i] and signature in same_spans:
            keep[i] = False  # the same spans under a longer name
        elif keep[i]:
            same_spans.add(signature)
    return pl.Series("shown", keep, pl.Boolean)


def _beyond(child: tuple[Any, ...], parent: tuple[Any, ...]) -> float:
    """p-value of the child's error rate being materially above the rest of its parent's.

    1.0 when the effect (Cohen's h) is under ``MIN_EFFECT``, as for crossings in the search.
    """
    n_child, n_parent = float(child[4]), float(parent[4])
    k_child, k_parent = child[1] * n_child, parent[1] * n_parent
    n_rest, k_rest = n_parent - n_child, k_parent - k_child
    if n_rest <= 0:
        return 1.0
    z, p = two_proportion(
        np.array([n_child]), np.array([k_child]), np.array([n_rest]), np.array([k_rest])
    )
    effect = cohens_h(np.array([k_child / n_child]), np.array([k_rest / n_rest]))
    return float(p[0]) if z[0] > 0 and effect[0] >= MIN_EFFECT else 1.0


def _children_seeds(
    scored: pl.DataFrame, keys: list[str], values: tuple[str, ...] = ()
) -> list[tuple[list[str], tuple[str, ...], float]]:
    """Slices worth crossing further (worse than their reference, positive excess), with
    their excess to rank them by."""
    promising = scored.filter(pl.col("worse") & (pl.col("excess") > 0))
    return [
        (keys, (*values, value), float(excess))
        for value, excess in promising.select(keys[-1], "excess").iter_rows()
    ]


def _subset(frame: pl.DataFrame, keys: list[str], values: tuple[str, ...]) -> pl.DataFrame:
    condition = pl.lit(True)
    for key, value in zip(keys, values, strict=True):
        condition = condition & (pl.col(key) == value)
    return frame.filter(condition)
