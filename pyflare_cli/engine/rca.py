"""``pyflare rca``'s counting through the seam: the dimension probe and the cube.

On Polars this is rca's own path (``analysis.rca.scan.scan_cube``). On a SQL
engine the same cube comes from :mod:`engine.rca_sql`: the spans stay in the engine and
only the cube (a row per window and combination of dimension values, a few thousand rows
for a million spans) comes back, with the columns and types the slice search reads. The
statistics (``analysis.rca.slices.find_slices``) then run here on that small frame, the
same code on every engine.

Covered on the SQL engines: ``--metric errors`` with ``--unit span`` or ``origin``.
Anything else is refused (exit 2) by :func:`check_covered`, never computed by loading the
spans into this process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from pyflare_cli.analysis.rca.dimensions import Dimension
from pyflare_cli.analysis.rca.passes import TERMS
from pyflare_cli.analysis.rca.scan import scan_cube
from pyflare_cli.analysis.rca.units import unit_metric, windows
from pyflare_cli.engine import rca_sql
from pyflare_cli.engine.base import SqlEngine, unsupported
from pyflare_cli.engine.polars_engine import PolarsEngine

Engine = PolarsEngine | SqlEngine
Window = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class Part:
    """The spans of ``window`` for which ``predicate`` (SQL, never NULL; it may hold window
    functions) holds, or, ``keep`` False, does not: a side of ``--vs-rest --select``.
    ``columns``: the span columns the predicate reads."""

    window: Window
    predicate: str
    columns: tuple[str, ...]
    keep: bool


Side = Window | Part
"""What a side of the comparison reads: a time window, or a part of one."""


def relation(engine: SqlEngine, side: Side, columns: Sequence[str]) -> str:
    """The ``SELECT`` of ``columns`` (and ``start_ns``, ``end_ns``) of ``side``'s spans."""
    if not isinstance(side, Part):
        return engine.spans(*side, columns)
    wanted = list(dict.fromkeys([*columns, *side.columns]))
    test = side.predicate if side.keep else f"NOT ({side.predicate})"
    inner = engine.spans(*side.window, wanted)
    kept = ", ".join([*dict.fromkeys(columns), "start_ns", "end_ns"])
    return f"SELECT {kept} FROM (SELECT s.*, {test} AS p_in FROM ({inner}) AS s) AS p WHERE p_in"


def check_covered(engine: Engine, metric: str, unit: str) -> None:
    """Exit 2 (one line naming the option) when ``engine`` cannot count this rca yet."""
    if isinstance(engine, PolarsEngine):
        return
    if metric not in rca_sql.METRICS:
        raise unsupported(engine.name, f"rca --metric {metric}")
    if unit not in rca_sql.UNITS:
        raise unsupported(engine.name, f"rca --unit {unit}")


def probe(engine: Engine, target: Side, baseline: Side, n: int) -> pl.DataFrame:
    """Up to ``n`` rows of each window's attribute maps (what dimensions are found in)."""
    maps = list(rca_sql.MAPS)
    if isinstance(engine, PolarsEngine):
        windows = [_window(w) for w in (target, baseline)]
        heads = [engine.spans(*w, maps).head(n).collect(engine="streaming") for w in windows]
    else:
        queries = [
            rca_sql.probe_sql(relation(engine, w, maps), maps, n) for w in (target, baseline)
        ]
        heads = engine.collect_all(queries)
    return pl.concat(heads, how="diagonal_relaxed")


def rca_cube(
    engine: Engine,
    target: Side,
    baseline: Side,
    dimensions: Sequence[Dimension],
    metric: str,
    unit: str,
) -> pl.DataFrame:
    """``target`` (bool), one String column per dimension and :data:`passes.TERMS`
    (Float64 sums, Int64 ``members``): the cube rca's slice search reads."""
    names = [d.name for d in dimensions]
    if isinstance(engine, PolarsEngine):
        scans = [_scan(engine, _window(w)) for w in (target, baseline)]
        spans = windows(*scans)
        source = unit_metric(spans, metric, unit)
        # rca's own path: the cube straight from the scan, no row frame
        origin_errors = metric == "errors" and unit == "origin"
        found = scan_cube(spans, list(dimensions), metric, source, origin_errors)[0].drop("first")
    else:
        check_covered(engine, metric, unit)
        columns = rca_sql.columns_needed(dimensions)
        t, b = (relation(engine, w, columns) for w in (target, baseline))
        (raw,) = engine.collect_all([rca_sql.cube_sql(engine.dialect, t, b, dimensions, unit)])
        renamed = {f"d{i}": name for i, name in enumerate(names)} | {"is_target": "target"}
        found = raw.rename(renamed)
    # in one order on every engine: a group-by's row order varies from run to run, and the
    # slice search breaks ties between slices of the same rows by the order it meets them
    return found.select(
        pl.col("target").cast(pl.Boolean),
        *(pl.col(n).cast(pl.String) for n in names),
        *(pl.col(t).cast(pl.Int64 if t == "members" else pl.Float64) for t in TERMS),
    ).sort(["target", *names])


def _window(side: Side) -> Window:
    if isinstance(side, Part):
        raise TypeError("a part of a window (--vs-rest) is for the SQL engines")
    return side


def _scan(engine: PolarsEngine, window: Window) -> pl.LazyFrame:
    from pyflare_cli.store.scan import scan_spans

    return scan_spans(engine.root, *window)
