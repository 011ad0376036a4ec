"""The relational part of the slice search: grouped passes over the unit frame.

Single slices: one group-by per dimension (``dimension = value``), plus the totals.
Crossings of seed slices with every dimension, reference counts of many slices, and the
exact overlaps of candidate slices: each row carries a bit per slice (Int64 mask columns,
62 slices each) and rows are grouped by their bits, so a row in many slices is read once;
a slice's sums are the sums over the bit combinations that have its bit. Each group keeps
count, sum and sum of squares of the metric per window, which is all the tests need;
``members`` (a sum of row hashes) tells identical slices apart. With ``per_trace`` a trace
counts once per slice (its bits OR-ed over its rows).

Rows that agree on the window and every dimension are one row of the *cube*
(:func:`cube`), their terms summed: a day of a million spans is a few thousand distinct
combinations, and every later pass reads those instead of the spans (counting traces,
``per_trace``, needs the rows themselves).

Only filter, group-by, bitwise OR and sums: the same queries can run on another engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import polars as pl

ALL = "__all__"
"""A pseudo-dimension with one value: its group is the windows' totals."""
ENGINE: Literal["auto", "streaming"] = "streaming"
TERMS = ("nt", "st", "qt", "nb", "sb", "qb", "zt", "zqt", "zb", "zqb", "members")
"""Per window (``t`` target, ``b`` baseline): count, sum and sum of squares of the metric
``y`` (what a slice's excess is in), sum and sum of squares of ``z``, the scale the mean
tests run on (log milliseconds for latency; ``y`` itself when a frame has no ``z``), and
``members``, a sum of row hashes."""


def terms(id_column: str, scale: str = "y") -> list[pl.Expr]:
    """The :data:`TERMS` of one row; ``scale``: the column the tests read."""
    t = pl.col("target").cast(pl.Float64)
    y = pl.col("y").cast(pl.Float64)
    z = pl.col(scale).cast(pl.Float64)
    return [
        t.alias("nt"),
        (y * t).alias("st"),
        (y * y * t).alias("qt"),
        (1.0 - t).alias("nb"),
        (y * (1.0 - t)).alias("sb"),
        (y * y * (1.0 - t)).alias("qb"),
        (z * t).alias("zt"),
        (z * z * t).alias("zqt"),
        (z * (1.0 - t)).alias("zb"),
        (z * z * (1.0 - t)).alias("zqb"),
        (pl.col(id_column).hash() % 2_147_483_647).cast(pl.Int64).alias("members"),
    ]


def _scale(frame: pl.LazyFrame) -> str:
    return "z" if "z" in frame.collect_schema() else "y"


ROW_COLUMNS = ("target", "y", "z", "span_id", "trace_id")
"""Columns of a row frame that the passes read (a cube has only ``target``)."""


def _present(frame: pl.LazyFrame, extra: list[str] | None = None) -> list[str]:
    """The row columns and carried terms ``frame`` has, then ``extra``."""
    schema = frame.collect_schema()
    rest = [t for t in TERMS if t in schema and t not in (extra or [])]
    return [c for c in ROW_COLUMNS if c in schema] + rest + list(extra or [])


def cube(frame: pl.LazyFrame | pl.DataFrame, dimensions: list[str]) -> pl.DataFrame:
    """One row per window and combination of dimension values, with the summed terms of
    its rows (``members`` included: a sum of row hashes stays a sum). Every pass gives the
    same sums on the cube as on the rows it came from, for slices of rows, not traces."""
    lazy = frame.lazy()
    if "members" not in lazy.collect_schema():
        lazy = lazy.with_columns(terms("span_id", _scale(lazy)))
    return lazy.group_by(["target", *dimensions]).agg(pl.col(TERMS).sum()).collect(engine=ENGINE)


TRACE = ["trace_id", "target"]


def _per_trace_values(long: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """A row per trace (and window) with what every row of it carries (its value, or its
    terms in a trace cube): read once, joined to the trace's distinct keys."""
    carried = [c for c in long.collect_schema() if c not in {*keys, *TRACE}]
    return long.group_by(TRACE).agg(pl.col(carried).first())


def _grouped(
    long: pl.LazyFrame, keys: list[str], per_trace: bool, values: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """Sums per ``keys``; distinct traces when ``per_trace`` (every row of a trace carries
    the trace's value; ``values``: :func:`_per_trace_values`, when known)."""
    id_column = "trace_id" if per_trace else "span_id"
    if per_trace:
        # One row per trace and key: a trace is in a slice when one of its rows is, so its
        # slice bits are OR-ed over its rows (counting it once per bit combination of its
        # rows would count it once per span). The trace's value is joined to its distinct
        # keys: carrying it through the group-by (``first`` of every column) cost twice
        # the time and a third more memory.
        masks = [k for k in keys if MASK.fullmatch(k)]
        rest = [k for k in keys if k not in masks]
        if values is None:
            values = _per_trace_values(long, keys)
        if masks:
            distinct = long.group_by([*rest, *TRACE]).agg(pl.col(masks).bitwise_or())
        else:
            distinct = long.select(*rest, *TRACE).unique()
        long = distinct.join(values, on=TRACE, how="inner")
    if "members" not in long.collect_schema():  # a compact frame carries them already
        long = long.with_columns(terms(id_column, _scale(long)))
    return long.group_by(keys).agg(pl.col(TERMS).sum())


def _by_dimension(
    frame: pl.LazyFrame, dimensions: list[str], keys: list[str], per_trace: bool
) -> pl.DataFrame:
    """Sums per ``keys``, ``dimension`` and ``value`` for every dimension: one group-by per
    dimension (run together), each over the narrow columns it needs. Unpivoting the rows
    into one long frame would hold rows x dimensions at once."""
    index = _present(frame, keys)
    values = None
    if per_trace:  # every dimension's pass joins the same values of the traces
        values = _per_trace_values(frame.select(index), keys).collect(engine=ENGINE).lazy()
    queries = [
        _grouped(
            frame.select(*index, pl.col(d).cast(pl.String).alias("value")),
            [*keys, "value"],
            per_trace,
            values,
        ).with_columns(pl.lit(d).alias("dimension"))
        for d in dimensions
    ]
    if not queries:
        return pl.DataFrame(
            schema={
                **dict.fromkeys([*keys, "value", "dimension"], pl.String),
                **dict.fromkeys(TERMS, pl.Float64),
            }
        )
    # a few at a time: each holds its narrow copy of the rows while it runs
    done: list[pl.DataFrame] = []
    for start in range(0, len(queries), AT_ONCE):
        done += pl.collect_all(queries[start : start + AT_ONCE], engine=ENGINE)
    return pl.concat(done, how="vertical_relaxed")


def single_counts(frame: pl.LazyFrame, dimensions: list[str], per_trace: bool) -> pl.DataFrame:
    """``dimension``, ``value`` and the sums of every single slice, plus the totals (the
    ``__all__`` row)."""
    with_all = frame.with_columns(pl.lit("all").alias(ALL))
    return _by_dimension(with_all, [*dimensions, ALL], [], per_trace)


AT_ONCE = 2
"""Group-bys run together (the machine's two cores)."""
MASK = re.compile(r"m\d+|mask")
BITS = 62
"""Slices per mask column: bit ``i % BITS`` of column ``m{i // BITS}`` marks slice ``i``."""


def _masks(slices: Sequence[Sequence[tuple[str, str]]]) -> list[pl.Expr]:
    """Int64 columns whose bits say which of ``slices`` a row is in (a slice without
    conditions holds every row)."""
    columns = []
    for start in range(0, len(slices), BITS):
        bits = [
            pl.all_horizontal([pl.lit(True), *(pl.col(k) == v for k, v in conditions)]).cast(
                pl.Int64
            )
            * (1 << i)
            for i, conditions in enumerate(slices[start : start + BITS])
        ]
        columns.append(pl.sum_horizontal(bits).alias(f"m{start // BITS}"))
    return columns


def _per_slice(grouped: pl.DataFrame, count: int, keys: list[str]) -> pl.DataFrame:
    """Sums per mask combination -> sums per slice (``seed``) and ``keys``: a slice's sum
    is the sum over the combinations that have its bit."""
    parts = []
    for i in range(count):
        bit = (pl.col(f"m{i // BITS}") // (1 << (i % BITS))) % 2 == 1
        part = grouped.filter(bit)
        if part.height:
            summed = (
                part.group_by(keys).agg(pl.col(TERMS).sum())
                if keys
                else part.select(pl.col(TERMS).sum())
            )
            parts.append(summed.with_columns(pl.lit(i, pl.Int64).alias("seed")))
    if not parts:
        schema = {"seed": pl.Int64, **dict.fromkeys(keys, pl.String)}
        return pl.DataFrame(schema={**schema, **dict.fromkeys(TERMS, pl.Float64)})
    return pl.concat(parts, how="diagonal_relaxed")


def crossing_counts(
    frame: pl.LazyFrame,
    seeds: Sequence[Sequence[tuple[str, str]]],
    dimensions: list[str],
    per_trace: bool,
) -> pl.DataFrame:
    """``seed`` (index into ``seeds``), ``dimension``, ``value`` and the sums of each seed
    crossed with every dimension, in one pass (a seed's own dimensions included; drop them).

    Rows carry a bit per seed, so the pass costs one unpivot of the rows in any seed,
    however many seeds hold them (tagging a row once per seed multiplied the rows)."""
    masks = _masks(seeds)
    names = [f"m{i}" for i in range(len(masks))]
    tagged = frame.with_columns(*masks).filter(pl.any_horizontal([pl.col(m) > 0 for m in names]))
    grouped = _by_dimension(tagged, dimensions, names, per_trace)
    return _per_slice(grouped, len(seeds), ["dimension", "value"])


def membership_counts(
    frame: pl.LazyFrame, slices: Sequence[Sequence[tuple[str, str]]], per_trace: bool
) -> pl.DataFrame:
    """Sums per ``mask``: bit ``i`` set for rows in ``slices[i]`` (at most 62 slices), in one
    pass. Any union, intersection or difference of the slices is a sum over masks."""
    mask = pl.sum_horizontal(
        [
            pl.all_horizontal([pl.col(k) == v for k, v in conditions]).cast(pl.Int64) * (1 << i)
            for i, conditions in enumerate(slices)
        ]
    ).alias("mask")
    rows = frame.select(*_present(frame), mask)
    rows = rows.filter(pl.col("mask") > 0)
    return _grouped(rows, ["mask"], per_trace).collect(engine=ENGINE)


def slice_counts(
    frame: pl.LazyFrame,
    slices: Sequence[Sequence[tuple[str, str]]],
    per_trace: bool,
    by: list[str] | None = None,
) -> pl.DataFrame:
    """``seed`` (index into ``slices``) and the sums of each slice (per ``by`` columns of
    ``frame`` too), in one pass; a slice without conditions is everything."""
    index = _present(frame, list(by or []))
    masks = _masks(slices)
    names = [f"m{i}" for i in range(len(masks))]
    tagged = frame.select(*index, *masks).filter(pl.any_horizontal([pl.col(m) > 0 for m in names]))
    grouped = _grouped(tagged, [*names, *(by or [])], per_trace).collect(engine=ENGINE)
    return _per_slice(grouped, len(slices), list(by or []))
