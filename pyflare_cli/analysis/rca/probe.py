"""Which attributes rca slices by: their keys counted over the whole windows, their values
judged on a sample.

:func:`dimensions.discover` judges each attribute key on a sample of rows: set on at least
5% of the spans, at most 50 values, numeric ones cut at the sample's quartiles. The sample
was the first 10,000 rows of each window, and rows come in time order: an attribute that
a deploy started to set half-way into the window (a new feature flag, a new database) was
not in the sample and so never a dimension, while a key set only early looked common.
Here the keys are counted over every span of both windows, in one streaming pass that
reads the keys and no values (a row per distinct key); the sample still judges the values,
and a key common in the windows but absent or rare in the sample gets a sample of the rows
that have it.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.rca.dimensions import (
    BUILT_IN,
    MIN_COVERAGE,
    Dimension,
    discover,
    extra_dimension,
)
from pyflare_cli.analysis.rca.model import RcaSettings

PROBE = 10_000
"""Rows of each window read to judge the attribute values."""
MAPS = {"attributes": "attr.", "resource_attributes": "resource."}
"""The attribute map columns and the prefix of their dimensions' names."""
SEPARATE = pl.QueryOptFlags(comm_subplan_elim=False)
"""Both windows may be one scan filtered two ways (``--vs-rest``): shared, the scan would
be held whole for both branches."""


def key_coverage(spans: pl.LazyFrame, maps: list[str]) -> dict[str, float]:
    """Per dimension name (``attr.<key>``, ``resource.<key>``), the share of ``spans`` that
    set the key: one streaming pass over the maps' keys."""
    queries = [spans.select(pl.len().alias("n"))] + [
        spans.select(pl.col(m).map.keys().alias("key"))
        .explode("key")
        .drop_nulls("key")
        .group_by("key")
        .len()
        for m in maps
    ]
    total, *counts = pl.collect_all(queries, engine="streaming", optimizations=SEPARATE)
    rows = max(int(total.item()), 1)
    return {
        MAPS[m] + key: n / rows
        for m, frame in zip(maps, counts, strict=True)
        for key, n in frame.iter_rows()
    }


def _order(dimension: Dimension) -> tuple[int, str]:
    """discover's order: built-ins first, then span attributes, then resource attributes,
    each by key."""
    built = list(BUILT_IN)
    if dimension.name in BUILT_IN:
        return built.index(dimension.name), ""
    rank = 1 if dimension.name.startswith("attr.") else 2
    return len(built) + rank, dimension.name


def probe_dimensions(
    target: pl.LazyFrame, baseline: pl.LazyFrame, settings: RcaSettings
) -> list[Dimension]:
    """The candidate dimensions of the two windows (:func:`dimensions.discover`, its
    coverage rule applied to whole-window key counts), then ``--dimension`` ones."""
    maps = [c for c in MAPS if c in target.collect_schema()]
    # one window after the other: each head decodes whole row groups of the map columns
    heads = [w.select(maps).head(PROBE + 1).collect(engine="streaming") for w in (target, baseline)]
    probe = pl.concat([h.head(PROBE) for h in heads], how="diagonal_relaxed")
    found = discover(probe)
    late: list[str] = []
    if maps and any(h.height > PROBE for h in heads):  # the sample is not the windows
        spans = pl.concat([target.select(maps), baseline.select(maps)], how="diagonal_relaxed")
        coverage = key_coverage(spans, maps)
        found = [
            d for d in found if d.name in BUILT_IN or coverage.get(d.name, 0.0) >= MIN_COVERAGE
        ]
        sampled = _sampled(probe, maps)
        late = sorted(k for k, c in coverage.items() if c >= MIN_COVERAGE and k not in sampled)
    if late:  # common keys the sample missed: judged on rows that set them
        have = [
            pl.col(m).map.get(name[len(MAPS[m]) :]).is_not_null()
            for name in late
            for m in maps
            if name.startswith(MAPS[m])
        ]
        rows = [
            w.select(maps).filter(pl.any_horizontal(have)).head(PROBE).collect(engine="streaming")
            for w in (target, baseline)
        ]
        more = discover(pl.concat(rows, how="diagonal_relaxed"))
        found = sorted([*found, *(d for d in more if d.name in late)], key=_order)
    known = {d.name for d in found}
    for name in settings.extra_dimensions:
        if name not in known and name.startswith(("attr.", "resource.")):
            found.append(extra_dimension(name))
    return found


def _sampled(probe: pl.DataFrame, maps: list[str]) -> set[str]:
    """The dimension names of the keys the sample holds often enough to judge."""
    seen: set[str] = set()
    if probe.height == 0:
        return seen
    for m in maps:
        keys = probe.select(pl.col(m).map.keys().alias("key")).explode("key").drop_nulls()
        counts = keys.group_by("key").len()
        seen |= {MAPS[m] + k for k, n in counts.iter_rows() if n / probe.height >= MIN_COVERAGE}
    return seen
