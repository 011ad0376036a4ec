"""Problematic slices: where the metric went up, found by a lattice search (Slice Finder).

Input: the lazy unit frame of both windows (:mod:`units`). One grouped pass counts every
single slice (``dimension = value``); the most promising ones (seeds) are crossed with the
other dimensions one level at a time, up to ``max_order`` conditions (:mod:`passes`).

Every slice is tested against **itself in the baseline** (one-sided: did it rise?):
Fisher's exact mid-p for rates, Welch for means. A slice that is *new* (its share of the
baseline under ``NEW_RATIO`` of its share of the target, e.g. a new version) has no
baseline of its own; it is compared with the baseline of its parent (the whole baseline,
or its service for a version). Every slice tested, crossings that were then discarded
included, counts in the correction. Impact is a slice's excess: its target sum minus what
its spans would have given at its reference mean; slices rank by their share of the rise.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pyflare_cli.analysis.rca.crossing import beyond_parent
from pyflare_cli.analysis.rca.dimensions import NONE, OTHER
from pyflare_cli.analysis.rca.finish import finish
from pyflare_cli.analysis.rca.passes import ALL, crossing_counts, cube, single_counts
from pyflare_cli.analysis.rca.scoring import (
    MAX_VALUES,
    REFERENCE,
    SLICE_SCHEMA,
    SliceSearch,
    SliceSettings,
    Totals,
    score,
)

SCOPE = ("p_nt", "p_st", "p_qt", "p_zt", "p_zqt")
"""A crossing's parent in the target: count, sums and sums of squares (metric, test scale)."""

__all__ = ["SLICE_SCHEMA", "SliceSearch", "SliceSettings", "Totals", "find_slices"]


def _totals(singles: pl.DataFrame) -> Totals:
    row = singles.filter(pl.col("dimension") == ALL)
    if row.height == 0:
        return Totals(0, 0, 0.0, 0.0, 0.0)
    nt, st, nb, sb = (float(row.item(0, c)) for c in ("nt", "st", "nb", "sb"))
    mean_b = sb / nb if nb else 0.0
    return Totals(int(nt), int(nb), st / nt if nt else 0.0, mean_b, st - nt * mean_b)


def usable_dimensions(singles: pl.DataFrame, dimensions: list[str], rows: int) -> list[str]:
    """Dimensions with two values or more that are not id-like (nearly all distinct)."""
    distinct = dict(singles.group_by("dimension").len().iter_rows())
    return [
        d
        for d in dimensions
        if distinct.get(d, 0) >= 2 and not (distinct[d] > MAX_VALUES and distinct[d] > 0.5 * rows)
    ]


def _reportable(settings: SliceSettings) -> pl.Expr:
    """Big enough, and a value: "attribute not set" describes span types, not causes."""
    return (pl.col("nt") >= settings.min_size) & ~pl.col("value").is_in([NONE, OTHER])


def _single_references(groups: pl.DataFrame, singles: pl.DataFrame) -> np.ndarray:
    """The baseline a new single slice is compared with: its service's for a version (the
    spans it replaced), the whole baseline otherwise."""
    sums = ["nb", "sb", "qb", "zb", "zqb"]
    n, s, q, zs, zq = singles.filter(pl.col("dimension") == ALL).select(sums).row(0)
    whole = (n, s, q, 0, zs, zq)
    services = {
        v: (n, s, q, 1, zs, zq)
        for v, n, s, q, zs, zq in singles.filter(pl.col("dimension") == "service")
        .select("value", *sums)
        .iter_rows()
    }
    rows = []
    for dim, value in groups.select("dimension", "value").iter_rows():
        service = value.split(" ", 1)[0] if dim == "version" else None
        rows.append(services.get(service, whole) if service else whole)
    return np.array(rows, dtype=np.float64).reshape(-1, len(REFERENCE))


def find_slices(
    frame: pl.LazyFrame | pl.DataFrame, dimensions: list[str], settings: SliceSettings
) -> SliceSearch:
    """Every tested slice with its statistics, significance after correction and impact."""
    lazy = frame.lazy()
    if not settings.per_trace:  # rows, not traces: every pass reads the cube
        lazy = cube(lazy, dimensions).lazy()
    singles = single_counts(lazy, dimensions, settings.per_trace)
    total = _totals(singles)
    kept = usable_dimensions(singles, dimensions, total.n_target + total.n_baseline)
    groups = singles.filter(pl.col("dimension").is_in(kept) & _reportable(settings))
    groups = groups.with_columns(pl.col("value").cast(pl.String))
    rows: list[pl.DataFrame] = []
    level = pl.DataFrame()
    if groups.height:
        scored = score(groups, _single_references(groups, singles), total, settings)
        scored = scored.with_columns(
            pl.concat_list(pl.concat_str("dimension", pl.lit(" = "), "value")).alias("conditions"),
            pl.lit(True).alias("reportable"),
        )
        rows.append(scored)
        level = scored
    for _order in range(2, settings.max_order + 1):
        seeds = _seeds(level, settings)
        if seeds.height == 0:
            break
        level = _cross(lazy, seeds, kept, total, settings)
        rows.append(level)
    slices, hypotheses = finish(rows, lazy, kept, settings)
    return SliceSearch(slices, total, singles, kept, hypotheses)


def _seeds(level: pl.DataFrame, settings: SliceSettings) -> pl.DataFrame:
    """The ``beam`` slices of a level worth crossing further: worse than their reference,
    with positive excess, most excess first."""
    if level.height == 0:
        return level
    return (
        level.filter(pl.col("worse") & (pl.col("excess") > 0) & pl.col("reportable"))
        # ties (slices of the same rows: region = x and cloud = y) broken by name, so the
        # beam holds the same slices whatever order a group-by returned them in; compared
        # to 9 significant figures, as the same rows summed in another order differ in
        # their last bits (the order a group-by returned them in decided those ties)
        .sort(
            [
                pl.col("excess").round_sig_figs(9),
                pl.col("p_value").round_sig_figs(9),
                pl.col("conditions").list.join(" and "),
            ],
            descending=[True, False, False],
        )
        .head(settings.beam)
    )


def _cross(
    lazy: pl.LazyFrame,
    seeds: pl.DataFrame,
    dimensions: list[str],
    total: Totals,
    settings: SliceSettings,
) -> pl.DataFrame:
    """The next level: each seed crossed with every dimension it does not have yet."""
    conditions = [tuple(tuple(c.split(" = ", 1)) for c in cs) for cs in seeds["conditions"]]
    counts = crossing_counts(lazy, conditions, dimensions, settings.per_trace)
    counts = counts.with_columns(pl.col("value").cast(pl.String)).filter(_reportable(settings))
    own = [{k for k, _ in c} for c in conditions]
    counts = counts.filter(
        pl.struct("seed", "dimension").map_elements(
            lambda r: r["dimension"] not in own[r["seed"]], return_dtype=pl.Boolean
        )
    )
    if counts.height == 0:
        return pl.DataFrame()
    parent = seeds.with_row_index("seed").select(
        pl.col("seed").cast(counts.schema["seed"]),
        pl.col("conditions").alias("parent_conditions"),
        pl.col("nt").alias("p_nt"),
        pl.col("st").alias("p_st"),
        pl.col("qt").alias("p_qt"),
        pl.col("zt").alias("p_zt"),
        pl.col("zqt").alias("p_zqt"),
        # a new child falls back to its parent's reference (its own baseline when not new)
        *REFERENCE,
        (pl.col("conditions").list.len() + 1).alias("order"),
    )
    counts = counts.join(parent, on="seed", how="left")
    reference = counts.select(REFERENCE).to_numpy().astype(np.float64)
    scored = score(counts.drop(REFERENCE), reference, total, settings)
    scope = scored.select(SCOPE).to_numpy().astype(np.float64)
    beyond = beyond_parent(scored, scope, settings.binary, settings.min_size)
    order = {d: i for i, d in enumerate(dimensions)}
    return scored.with_columns(
        pl.Series("reportable", beyond < settings.alpha),
        pl.struct("parent_conditions", "dimension", "value")
        .map_elements(
            lambda r: sorted(
                [*r["parent_conditions"], f"{r['dimension']} = {r['value']}"],
                key=lambda c: order.get(c.split(" = ", 1)[0], 0),
            ),
            return_dtype=pl.List(pl.String),
        )
        .alias("conditions"),
    ).drop("parent_conditions", *SCOPE, "seed", "order")
