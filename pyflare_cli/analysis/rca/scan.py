"""rca read straight from the span scan: memory bounded by the answer, not by the windows.

One grouped pass over both windows gives the *cube* (:mod:`passes`: a row per window and
combination of dimension values, with the sums the tests read and the first start time of
its rows) and, in the same group-by, the error rows: an error span is a group of its own
(keyed by its trace and span id), so the pass holds a few thousand cube rows plus one row
per error, never a row per span. The cube is then the error groups folded into their
combination's row.

The few other answers the report needs (:class:`rows.RowReader`) are small projected queries
over the target window's unit rows: a new value's example traces and a slice's worst traces
(a sort with a limit, which the streaming engine runs as a top-k), and the lead slices'
counts split at a deployment's time (a grouped pass). ``--unit trace`` counts distinct
traces, which a cube of span combinations cannot tell; its slice passes read the trace cube
(:mod:`trace_cube`), its other answers come from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from pyflare_cli.analysis.rca.dimensions import Dimension
from pyflare_cli.analysis.rca.failures import error_message
from pyflare_cli.analysis.rca.passes import ENGINE, TERMS, slice_counts, terms
from pyflare_cli.analysis.rca.rows import (
    ERROR_ORDER,
    EXAMPLE_ORDER,
    Conditions,
    Sighting,
    first_before,
    slice_condition,
    slice_examples,
)
from pyflare_cli.analysis.rca.units import Metric, unit_rows

ERROR_TRACE, ERROR_SPAN, MESSAGE = "__error_trace", "__error_span", "__message"
EXAMPLES = 3
"""Example traces per value or slice."""
FIRST_K = 32
"""Rows first read for a slice's examples (more when they hold fewer than three traces)."""


def _error_columns() -> list[pl.Expr]:
    """For an error span its trace id, span id and message; nulls for every other span."""
    failed = pl.col("status_code") == "error"
    return [
        pl.when(failed).then(pl.col("trace_id").cast(pl.String)).alias(ERROR_TRACE),
        pl.when(failed).then(pl.col("span_id")).alias(ERROR_SPAN),
        pl.when(failed).then(error_message()).alias(MESSAGE),
    ]


def _hashed(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Span ids as the 8-byte hash :func:`units.compact` keeps (the cube's ``members`` are
    sums of hashes of these)."""
    if rows.collect_schema()["span_id"] == pl.UInt64:
        return rows
    return rows.with_columns(pl.col("span_id").hash())


def scan_cube(
    spans: pl.LazyFrame,
    dimensions: list[Dimension],
    metric: str,
    source: Metric,
    origin_errors: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The cube of ``spans`` (both windows, with ``target``) with a ``first`` start time per
    row, and the error rows (:meth:`rows.RowReader.error_rows`, every dimension), from one
    streaming group-by. ``origin_errors``: only the errors that count (``y > 0``)."""
    names = [d.name for d in dimensions]
    rows = _hashed(unit_rows(spans, dimensions, metric, source, _error_columns()))
    keys = ["target", *names, ERROR_TRACE, ERROR_SPAN]
    fine = (
        rows.with_columns(terms("span_id", "z" if metric == "latency" else "y"))
        .group_by(keys)
        .agg(
            pl.col(TERMS).sum(),
            pl.col("start_time").min().alias("first"),
            pl.col(MESSAGE).first(),
        )
        # both windows may be one scan filtered two ways (--vs-rest): shared, the scan
        # would be held whole for both branches
        .collect(engine=ENGINE, optimizations=pl.QueryOptFlags(comm_subplan_elim=False))
    )
    cube = fine.group_by(["target", *names]).agg(pl.col(TERMS).sum(), pl.col("first").min())
    errors = fine.filter(pl.col(ERROR_SPAN).is_not_null()).with_columns(
        (pl.col("st") + pl.col("sb")).alias("y")
    )
    if origin_errors:
        errors = errors.filter(pl.col("y") > 0)
    errors = errors.select(
        "target",
        pl.col(ERROR_TRACE).alias("trace_id"),
        pl.col("first").alias("start_time"),
        "y",
        *(pl.col(n).cast(pl.String) for n in names),
        pl.col(ERROR_SPAN).alias("span_id"),
        pl.col(MESSAGE).alias("message"),
    ).sort(ERROR_ORDER)
    return cube, errors


def worst_traces(rows: pl.LazyFrame, by: list[str], descending: list[bool]) -> list[str]:
    """The first :data:`EXAMPLES` distinct trace ids of ``rows`` sorted by ``by``: a sort
    with a limit (a top-k in the streaming engine), widened while the rows read hold fewer
    traces than wanted."""
    k = FIRST_K
    while True:
        top = rows.sort(by, descending=descending).head(k).select("trace_id")
        found = top.collect(engine=ENGINE).get_column("trace_id")
        ids = found.cast(pl.String).unique(maintain_order=True).head(EXAMPLES)
        if ids.len() >= EXAMPLES or found.len() < k:
            return ids.to_list()
        k *= 8


class ScanRows:
    """:class:`rows.RowReader` over the target's unit rows (lazy, read from the store per
    question), the cube (first sightings) and the error rows of :func:`scan_cube`;
    ``per_trace``: the split at a deployment counts distinct traces (``--unit trace``)."""

    def __init__(
        self,
        target: pl.LazyFrame,
        cube: pl.DataFrame,
        errors: pl.DataFrame,
        history: pl.LazyFrame | None,
        binary: bool,
        per_trace: bool = False,
    ) -> None:
        self.target, self.cube, self.errors = _hashed(target), cube, errors
        self.history, self.binary, self.per_trace = history, binary, per_trace

    def sightings(self, pairs: Sequence[tuple[Dimension, str]]) -> list[Sighting]:
        found = []
        for dim, value in pairs:
            mine = self.cube.filter(pl.col("target") & (pl.col(dim.name) == value))
            first = mine.select(pl.col("first").min()).item() if mine.height else None
            worst = self.target.filter(pl.col(dim.name) == value)
            examples = worst_traces(worst, ["y", "start_time"], [True, False])
            before = first_before(self.history, dim, value)
            found.append(Sighting(first, before, examples))
        return found

    def error_rows(self, dimensions: Sequence[Dimension]) -> pl.DataFrame:
        names = [d.name for d in dimensions]
        return self.errors.select(
            "target", "trace_id", "start_time", "y", *names, "span_id", "message"
        )

    def examples(self, slices: pl.DataFrame, errors: pl.DataFrame) -> dict[str, list[str]]:
        if self.binary:
            return slice_examples(errors.lazy(), slices)
        found: dict[str, list[str]] = {}
        for name, conditions in slices.select("slice", "conditions").iter_rows():
            worst = self.target.filter(slice_condition(conditions))
            found[name] = worst_traces(worst, EXAMPLE_ORDER, [True, False, False])
        return found

    def split_counts(
        self, at: datetime, conditions: Conditions, dimensions: Sequence[Dimension]
    ) -> pl.DataFrame:
        target = self.target.with_columns(
            (pl.col("start_time") >= at).alias("after"),
            # before/after take the places of baseline/target in the sums
            (pl.col("start_time") >= at).alias("target"),
        )
        return slice_counts(target, conditions, self.per_trace, ["after"])
