"""The end of the slice search: one correction over every tested hypothesis, new slices
re-tested against the rows they replaced, the share of the rise, and which to show.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pyflare_cli.analysis.rca.changes import change_dimensions
from pyflare_cli.analysis.rca.explain import explain
from pyflare_cli.analysis.rca.passes import slice_counts
from pyflare_cli.analysis.rca.scoring import (
    REFERENCE,
    SLICE_SCHEMA,
    TEST_TERMS,
    SliceSettings,
    score,
)
from pyflare_cli.analysis.rca.stats import benjamini_hochberg, bonferroni


def finish(
    rows: list[pl.DataFrame], lazy: pl.LazyFrame, dimensions: list[str], settings: SliceSettings
) -> tuple[pl.DataFrame, int]:
    """All tested slices: corrected q-values (every test counted), share of the rise,
    significance and which to show; the ones not reportable leave after the correction."""
    rows = [r for r in rows if r.height]
    if not rows:
        return pl.DataFrame(schema=SLICE_SCHEMA), 0
    computed = {"slice", "order", "n_target", "n_baseline", "q_value", "explained"}
    keep = [
        c for c in SLICE_SCHEMA if c not in computed | {"significant", "shown", "added", "within"}
    ]
    tested = pl.concat(
        [r.select(*keep, *TEST_TERMS, "members", "worse", "reportable", *REFERENCE) for r in rows],
        how="vertical_relaxed",
    ).with_columns(
        pl.col("conditions").list.join(" and ").alias("slice"),
        pl.col("conditions").list.len().cast(pl.Int64).alias("order"),
        pl.col("nt").cast(pl.Int64).alias("n_target"),
        pl.col("nb").cast(pl.Int64).alias("n_baseline"),
    )
    tested = _replaced(tested, lazy, dimensions, settings)
    q, hypotheses = _corrected(tested, settings)
    # A slice reached from several parents is reported once, reportable when one path says
    # so, with the closest comparison (a new slice against its nearest non-new parent).
    slices = (
        tested.with_columns(
            pl.Series("q_value", q), pl.col("reportable").any().over("slice").alias("reportable")
        )
        .filter(pl.col("reportable"))
        .sort("ref_order", descending=True, maintain_order=True)
        .unique("slice", keep="first", maintain_order=True)
    )
    rise = _rise(slices)
    share = (
        (pl.col("excess") / rise).clip(upper_bound=1.0) if rise > 0 else pl.lit(None, pl.Float64)
    )
    significant = (pl.col("q_value") < settings.alpha) & pl.col("worse") & (pl.col("excess") > 0)
    slices = slices.with_columns(share.alias("explained"), significant.alias("significant")).sort(
        ["significant", "excess", "order", "slice"],
        descending=[True, True, False, False],
        maintain_order=True,
    )
    changes = frozenset(
        slices.filter(
            (pl.col("order") == 1)
            & pl.col("new")
            & pl.col("significant")
            & pl.col("conditions")
            .list.first()
            .str.split(" = ")
            .list.first()
            .is_in(change_dimensions(dimensions))
        )
        .get_column("slice")
        .to_list()
    )
    slices = explain(slices, lazy, settings.binary, settings.alpha, settings.per_trace, changes)
    if rise > 0:
        share = pl.coalesce(pl.col("added"), pl.col("excess")) / rise
        slices = slices.with_columns(share.clip(upper_bound=1.0).alias("explained"))
    return slices.select(list(SLICE_SCHEMA)), hypotheses


def _corrected(tested: pl.DataFrame, settings: SliceSettings) -> tuple[np.ndarray, int]:
    """q-values with one hypothesis per distinct set of rows: a slice under several names
    (``region = us`` and ``region = us and type = llm`` when every trace has an LLM span)
    is one test, not many; counted many times it would lower the bar for itself."""
    # sums of the same rows added in another order differ in their last bits
    signature = [
        "nt",
        "nb",
        "members",
        pl.col("st").round_sig_figs(9),
        pl.col("sb").round_sig_figs(9),
    ]
    keyed = tested.with_columns(pl.struct(signature).rank("dense").alias("__sig"))
    best = keyed.group_by("__sig").agg(pl.col("p_value").min()).sort("__sig")
    p = best.get_column("p_value").to_numpy()
    q = bonferroni(p) if settings.correction == "bonferroni" else benjamini_hochberg(p)
    by_sig = dict(zip(best.get_column("__sig").to_list(), q.tolist(), strict=True))
    rows = [by_sig[s] for s in keyed.get_column("__sig").to_list()]
    return np.array(rows, dtype=np.float64), len(by_sig)


def _replaced(
    tested: pl.DataFrame, lazy: pl.LazyFrame, dimensions: list[str], settings: SliceSettings
) -> pl.DataFrame:
    """New slices re-tested against the baseline of the rows they replaced: each new value
    of the slice swapped for its service (a version) or dropped, the other conditions kept
    (``version = api 2.0 and model = mini`` against ``service = api and model = mini``).
    One pass for all of them (:func:`passes.slice_counts`)."""
    new_rows = tested.filter(pl.col("new"))
    if new_rows.height == 0:
        return tested
    fresh = set(tested.filter(pl.col("new") & (pl.col("order") == 1)).get_column("slice").to_list())
    references: list[list[tuple[str, str]]] = []
    for conditions in new_rows.get_column("conditions").to_list():
        kept: list[tuple[str, str]] = []
        for text in conditions:
            key, value = text.split(" = ", 1)
            if text not in fresh:
                kept.append((key, value))
            elif key == "version" and " " in value and "service" in dimensions:
                kept.append(("service", value.split(" ", 1)[0]))
        references.append(kept)
    distinct = sorted({tuple(sorted(r)) for r in references})
    index = {r: i for i, r in enumerate(distinct)}
    baseline = lazy.filter(~pl.col("target"))
    counts = slice_counts(baseline, [list(r) for r in distinct], settings.per_trace)
    # in the order of REFERENCE: n, sum, sum of squares, order (0), then the test scale's
    sums = counts.select("seed", "nb", "sb", "qb", pl.lit(0.0), "zb", "zqb")
    by_seed = {row[0]: row[1:] for row in sums.iter_rows()}
    empty = (0.0,) * len(REFERENCE)
    reference = np.array(
        [by_seed.get(index[tuple(sorted(r))], empty) for r in references], dtype=np.float64
    ).reshape(-1, len(REFERENCE))
    columns = list(TEST_TERMS)
    rescored = score(new_rows.select(*columns, "order"), reference, None, settings)
    replace = [c for c in tested.columns if c in rescored.columns and c not in columns]
    updated = new_rows.with_columns(rescored.select(replace))
    return pl.concat([tested.filter(~pl.col("new")), updated.select(tested.columns)])


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
