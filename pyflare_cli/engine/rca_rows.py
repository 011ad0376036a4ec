"""``pyflare rca`` on DuckDB, Spark or ClickHouse: the whole report, the spans left where
they are.

The slice search reads the cube (:mod:`engine.rca`); the rest of the report asks the few
questions of ``analysis.rca.rows.RowReader``, answered here by small queries
(:mod:`engine.rca_sql`): a new value's first sighting in the window and before it with its
example traces, the failing rows with their messages (the failure templates and the
example traces of slices), and the lead slices' cube split at a deploy's time. Only those
small answers come back; the statistics that read them
(``analysis.rca.report.report_of``) are the same code as on Polars.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from pyflare_cli.analysis.rca.dimensions import Dimension
from pyflare_cli.analysis.rca.model import RcaReport, RcaSettings
from pyflare_cli.analysis.rca.passes import TERMS, slice_counts
from pyflare_cli.analysis.rca.report import PROBE, dimensions_of, report_of
from pyflare_cli.analysis.rca.rows import ERROR_ORDER, Conditions, Sighting, slice_examples
from pyflare_cli.engine import rca_sql
from pyflare_cli.engine.base import SqlEngine
from pyflare_cli.engine.parquet import ns
from pyflare_cli.engine.rca import Side, Window, check_covered, probe, rca_cube, relation


def _moment(column: str) -> pl.Expr:
    """Integer nanoseconds since the epoch as the store's ``Datetime(ns, UTC)``."""
    return pl.from_epoch(pl.col(column).cast(pl.Int64), "ns").dt.replace_time_zone("UTC")


class SqlRows:
    """:class:`analysis.rca.rows.RowReader` answered by a SQL engine's queries."""

    def __init__(
        self, engine: SqlEngine, target: Side, baseline: Side, history: Window | None, unit: str
    ) -> None:
        self.engine, self.unit = engine, unit
        self.target, self.baseline, self.history = target, baseline, history

    def _windows(self, columns: Sequence[str]) -> tuple[str, str]:
        e = self.engine
        return relation(e, self.target, columns), relation(e, self.baseline, columns)

    def sightings(self, pairs: Sequence[tuple[Dimension, str]]) -> list[Sighting]:
        d = self.engine.dialect
        queries = []
        for dim, value in pairs:
            columns = rca_sql.columns_needed([dim])
            queries.append(rca_sql.sighting_sql(d, *self._windows(columns), dim, value, self.unit))
            if self.history is not None:
                history = self.engine.spans(*self.history, columns)
                queries.append(rca_sql.seen_before_sql(d, history, dim, value))
        answers = iter(self.engine.collect_all(queries))
        found = []
        for _ in pairs:
            mine = next(answers)
            first = mine.select(_moment("first_ns")).to_series().min() if mine.height else None
            before = None
            if self.history is not None:
                seen = next(answers)
                before = seen.select(_moment("first_ns")).item() if seen["n"].sum() else None
            examples = [str(t) for t in mine.get_column("trace_id").to_list()]
            found.append(Sighting(first, before, examples))  # type: ignore[arg-type]
        return found

    def error_rows(self, dimensions: Sequence[Dimension]) -> pl.DataFrame:
        d = self.engine.dialect
        columns = [*rca_sql.columns_needed(dimensions), *rca_sql.MESSAGE_COLUMNS]
        query = rca_sql.errors_sql(d, *self._windows(columns), dimensions, self.unit)
        (raw,) = self.engine.collect_all([query])
        names = [dim.name for dim in dimensions]
        return raw.select(
            pl.col("is_target").cast(pl.Boolean).alias("target"),
            pl.col("trace_id").cast(pl.String),
            _moment("start_ns").alias("start_time"),
            pl.col("y").cast(pl.Float64),
            *(pl.col(f"d{i}").cast(pl.String).alias(n) for i, n in enumerate(names)),
            pl.col("span_id").cast(pl.String),
            pl.col("message").cast(pl.String),
        ).sort(ERROR_ORDER)

    def examples(self, slices: pl.DataFrame, errors: pl.DataFrame) -> dict[str, list[str]]:
        return slice_examples(errors.lazy(), slices)  # errors only: y is what failed

    def split_counts(
        self, at: datetime, conditions: Conditions, dimensions: Sequence[Dimension]
    ) -> pl.DataFrame:
        d = self.engine.dialect
        columns = rca_sql.columns_needed(dimensions)
        windows = self._windows(columns)
        query = rca_sql.split_cube_sql(d, *windows, dimensions, self.unit, ns(at))
        (raw,) = self.engine.collect_all([query])
        names = {f"d{i}": dim.name for i, dim in enumerate(dimensions)}
        cube = raw.rename(names).select(
            pl.col("after").cast(pl.Boolean),
            *(pl.col(n).cast(pl.String) for n in names.values()),
            *(pl.col(t).cast(pl.Int64 if t == "members" else pl.Float64) for t in TERMS),
        )
        return slice_counts(cube.lazy(), conditions, False, ["after"])


def analyse_on(
    engine: SqlEngine,
    target: Side,
    baseline: Side,
    history: Window | None,
    settings: RcaSettings,
) -> RcaReport:
    """rca's report for ``target`` against ``baseline``, counted by ``engine``; a new value's
    first sighting is looked up in ``history`` (spans before the target; None: not)."""
    check_covered(engine, settings.metric, settings.unit)
    dimensions = dimensions_of(probe(engine, target, baseline, PROBE), settings)
    cube = rca_cube(engine, target, baseline, dimensions, settings.metric, settings.unit)
    rows = SqlRows(engine, target, baseline, history, settings.unit)
    return report_of(cube.lazy(), dimensions, settings, rows)


def window_counts(engine: SqlEngine, sides: Sequence[Side]) -> list[int]:
    """Spans on each side (one query each, run together)."""
    counted = [relation(engine, side, ["span_id"]) for side in sides]
    queries = [f"SELECT count(*) AS n FROM ({r}) AS c" for r in counted]
    return [int(f.item()) for f in engine.collect_all(queries)]
