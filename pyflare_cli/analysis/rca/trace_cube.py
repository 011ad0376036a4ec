"""``--unit trace`` on a cube: traces grouped by the span combinations they hold.

With ``--unit trace`` a slice counts distinct traces, and a trace is in a slice when one of
its spans is. The span cube (:func:`scan.scan_cube`: a row per window and combination of
dimension values) cannot tell that: it has lost which spans share a trace. But a trace's
membership in every slice depends only on the *set* of combinations its spans have (its
signature), and traces with one signature are in the same slices. So the traces of a
window are grouped by signature, their terms summed (count, sum and sums of squares of the
trace's value, a sum of trace hashes), and the *trace cube* has a row per signature and
combination of it, each carrying its signature's sums. The per-trace passes
(:mod:`passes`, ``per_trace``) group those rows by signature where they grouped span rows
by trace, OR-ing slice bits over the rows, and read the same sums: 18k signatures and 222k
rows stand for 48k traces and 689k spans on the 1M-span demo store.

Built from one more streaming pass over the spans that keeps a row per trace and
combination as two 8-byte hashes (the combination's values are the span cube's), never the
spans' strings; the traces' values come from :func:`units.unit_metric` (one grouped pass).
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.rca.dimensions import NONE, Dimension
from pyflare_cli.analysis.rca.passes import ENGINE, TERMS, terms

COMBO = "__combo"


def _combo(names: list[str]) -> pl.Expr:
    """A combination of dimension values (string columns ``names``) as one 8-byte hash."""
    return pl.struct([pl.col(n) for n in names]).hash().alias(COMBO)


def trace_cube(
    spans: pl.LazyFrame,
    dimensions: list[Dimension],
    metric: str,
    cube: pl.DataFrame,
    values: pl.LazyFrame,
) -> pl.LazyFrame:
    """The trace cube of ``spans`` (both windows, with ``target``): ``target``, ``trace_id``
    (a signature's number), a column per dimension and the :data:`passes.TERMS` of the
    signature's traces (:mod:`passes` with ``per_trace`` reads it as it read span rows).

    ``cube``: the span cube of the same spans (the combinations' values); ``values``: a
    trace's value ``y`` per ``trace_key`` (the hashed trace id), as
    :func:`units.unit_metric` gives it."""
    names = [d.name for d in dimensions]
    # a row per window, trace and combination of its spans: two hashes, never the strings
    pairs = (
        spans.select(
            "target",
            pl.col("trace_id").hash().alias("trace_key"),
            *(d.expr.cast(pl.String).fill_null(NONE).alias(d.name) for d in dimensions),
        )
        .select("target", "trace_key", _combo(names))
        .group_by("target", "trace_key", COMBO)
        .agg()
        .collect(engine=ENGINE)
    )
    traces = pairs.group_by("target", "trace_key").agg(pl.col(COMBO).sort())
    # a trace whose value is missing or not finite counts nowhere (as its span rows did not)
    valued = traces.join(values.collect(), on="trace_key", how="inner").filter(
        pl.col("y").is_not_null() & pl.col("y").is_finite()
    )
    if metric == "latency":  # the mean tests read log milliseconds, as for span rows
        valued = valued.with_columns(pl.col("y").clip(lower_bound=0).log1p().alias("z"))
    scale = "z" if metric == "latency" else "y"
    signatures = (
        valued.with_columns(terms("trace_key", scale))
        .group_by("target", COMBO)
        .agg(pl.col(TERMS).sum())
        .with_row_index("trace_id")
    )
    combos = (
        cube.select(pl.col(n).cast(pl.String) for n in names)
        .unique()
        .with_columns(_combo(names))
        .with_columns(pl.col(names).cast(pl.Categorical))
    )
    rows = signatures.explode(COMBO).join(combos, on=COMBO, how="left")
    return rows.select("target", "trace_id", *names, *TERMS).lazy()
