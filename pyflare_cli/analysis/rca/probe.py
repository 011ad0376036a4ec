"""Which attributes rca slices by: their keys counted over the whole windows, their values
judged on a sample.

:func:`dimensions.discover` judges each attribute key on a sample of rows: set on at least
5% of the spans, at most 50 values, numeric ones cut at the sample's quartiles. The sample
was the first 10,000 rows of each window, and rows come in time order: an attribute that
a deploy started to set half-way into the window (a new feature flag, a new database) was
not in the sample and so never a dimension, while a key set only early looked common.
Now the keys are counted over every span of both windows in the pass that reads the cube
anyway (:func:`key_sets`: each span's set of keys is one more column of the cube's
group-by, a few dozen distinct sets), and the 5% rule reads those counts; the sample still
judges the values, and a key common in the windows that the sample did not judge is judged
on the first rows that set it. When the counts change the dimensions, the cube is read once
more with the right ones (a separate pass only for the keys cost a whole decode of the
attribute maps: +0.7-1.1 CPU s on the 1M-span demo store).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pyflare_cli.analysis.rca.dimensions import (
    BUILT_IN,
    MIN_COVERAGE,
    NONE,
    Dimension,
    discover,
    extra_dimension,
)
from pyflare_cli.analysis.rca.model import RcaSettings
from pyflare_cli.analysis.rca.passes import TERMS

PROBE = 10_000
"""Rows of each window read to judge the attribute values."""
MAPS = {"attributes": "attr.", "resource_attributes": "resource."}
"""The attribute map columns and the prefix of their dimensions' names."""
KEYS = "__keys."
"""The prefix of :func:`key_sets`' pseudo-dimensions."""
SEPARATOR = "\x1f"


def _order(dimension: Dimension) -> tuple[int, str]:
    """discover's order: built-ins first, then span attributes, then resource attributes,
    each by key."""
    built = list(BUILT_IN)
    if dimension.name in BUILT_IN:
        return built.index(dimension.name), ""
    rank = 1 if dimension.name.startswith("attr.") else 2
    return len(built) + rank, dimension.name


@dataclass(frozen=True)
class Probed:
    """What the sample says: its dimensions (``--dimension`` ones included), the map
    columns, the keys it holds often enough to judge, and whether it is the whole windows."""

    dimensions: list[Dimension]
    maps: list[str]
    sampled: frozenset[str]
    whole: bool


def probe_dimensions(target: pl.LazyFrame, baseline: pl.LazyFrame, settings: RcaSettings) -> Probed:
    """The candidate dimensions the sample of the two windows shows
    (:func:`dimensions.discover`), then ``--dimension`` ones."""
    maps = [c for c in MAPS if c in target.collect_schema()]
    # one window after the other: each head decodes whole row groups of the map columns
    heads = [w.select(maps).head(PROBE + 1).collect(engine="streaming") for w in (target, baseline)]
    probe = pl.concat([h.head(PROBE) for h in heads], how="diagonal_relaxed")
    found = _with_extra(discover(probe), settings)
    whole = not maps or all(h.height <= PROBE for h in heads)
    return Probed(found, maps, frozenset(_sampled(probe, maps)), whole)


def key_sets(probed: Probed) -> list[Dimension]:
    """Pseudo-dimensions that count the keys in the cube's pass (none when the sample is the
    windows): a span's keys of each map, as one string in the map's order (sorting them
    cost more than the whole count). A few dozen distinct sets (span shapes), so the cube
    barely grows (7,174 -> 9,134 rows on the 1M store), and the maps are decoded once."""
    if probed.whole:
        return []
    return [Dimension(KEYS + m, pl.col(m).map.keys().list.join(SEPARATOR)) for m in probed.maps]


def key_coverage(cube: pl.DataFrame, maps: list[str]) -> dict[str, float]:
    """Per dimension name (``attr.<key>``, ``resource.<key>``), the share of the cube's rows
    (both windows) that set the key, from the :func:`key_sets` columns of ``cube``."""
    rows = cube.select((pl.col("nt") + pl.col("nb")).sum()).item() or 1.0
    found: dict[str, float] = {}
    for m in maps:
        per_key = (
            cube.with_columns(pl.col(KEYS + m).cast(pl.String))
            .group_by(KEYS + m)
            .agg((pl.col("nt") + pl.col("nb")).sum().alias("n"))
            .filter(pl.col(KEYS + m) != NONE)
            .with_columns(pl.col(KEYS + m).str.split(SEPARATOR))
            .explode(KEYS + m)
            .group_by(KEYS + m)
            .agg(pl.col("n").sum())
        )
        found |= {MAPS[m] + k: n / rows for k, n in per_key.iter_rows() if k}
    return found


def without_key_sets(
    cube: pl.DataFrame, errors: pl.DataFrame, dimensions: list[Dimension]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`scan.scan_cube`'s answers with the :func:`key_sets` columns summed away."""
    names = [d.name for d in dimensions]
    extra = [c for c in cube.columns if c.startswith(KEYS)]
    if not extra:
        return cube, errors
    folded = cube.group_by(["target", *names]).agg(pl.col(TERMS).sum(), pl.col("first").min())
    return folded, errors.drop(extra)


def revised(
    target: pl.LazyFrame,
    baseline: pl.LazyFrame,
    settings: RcaSettings,
    probed: Probed,
    coverage: dict[str, float],
) -> list[Dimension] | None:
    """The dimensions once the sample's are checked against whole-window key counts: an
    attribute dimension the windows set on under 5% of spans leaves, and a key on 5% or
    more that the sample did not judge is judged on the first rows that set it. None when
    nothing changes."""
    kept = [
        d
        for d in probed.dimensions
        if d.name in BUILT_IN
        or d.name in settings.extra_dimensions
        or coverage.get(d.name, 0.0) >= MIN_COVERAGE
    ]
    late = sorted(k for k, c in coverage.items() if c >= MIN_COVERAGE and k not in probed.sampled)
    if late:  # common keys the sample missed: judged on rows that set them
        maps = probed.maps
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
        known = {d.name for d in kept}
        more = discover(pl.concat(rows, how="diagonal_relaxed"))
        kept = sorted(
            [*kept, *(d for d in more if d.name in late and d.name not in known)], key=_order
        )
    if [d.name for d in kept] == [d.name for d in probed.dimensions]:
        return None
    return kept


def _with_extra(found: list[Dimension], settings: RcaSettings) -> list[Dimension]:
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
