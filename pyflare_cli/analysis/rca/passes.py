"""The relational part of the slice search: grouped passes over the lazy unit frame.

Two queries, each one pass over both windows, never holding them: the counts of every
single slice (``dimension = value``) of every dimension at once (the dimensions unpivoted
into long rows and grouped), and the counts of the crossings of a list of seed slices with
every other dimension (rows matching a seed tagged with its index, exploded, unpivoted,
grouped). Each group keeps count, sum and sum of squares of the metric per window, which
is all the tests need; ``members`` (a sum of row hashes) tells identical slices apart.

Only filter, unpivot, group-by and sums: the same queries can run on another engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import polars as pl

ALL = "__all__"
"""A pseudo-dimension with one value: its group is the windows' totals."""
ENGINE: Literal["auto", "streaming"] = "streaming"
TERMS = ("nt", "st", "qt", "nb", "sb", "qb", "members")


def _terms(id_column: str) -> list[pl.Expr]:
    t = pl.col("target").cast(pl.Float64)
    y = pl.col("y").cast(pl.Float64)
    return [
        t.alias("nt"),
        (y * t).alias("st"),
        (y * y * t).alias("qt"),
        (1.0 - t).alias("nb"),
        (y * (1.0 - t)).alias("sb"),
        (y * y * (1.0 - t)).alias("qb"),
        (pl.col(id_column).hash() % 2_147_483_647).cast(pl.Int64).alias("members"),
    ]


def _grouped(long: pl.LazyFrame, keys: list[str], per_trace: bool) -> pl.DataFrame:
    """Sums per ``keys`` of long rows (one per row and dimension); distinct traces when
    ``per_trace`` (every row of a trace carries the trace's value)."""
    id_column = "trace_id" if per_trace else "span_id"
    if per_trace:
        long = long.unique([*keys, "trace_id", "target"])
    return (
        long.with_columns(_terms(id_column))
        .group_by(keys)
        .agg(pl.col(TERMS).sum())
        .collect(engine=ENGINE)
    )


def single_counts(frame: pl.LazyFrame, dimensions: list[str], per_trace: bool) -> pl.DataFrame:
    """``dimension``, ``value`` and the sums of every single slice, plus the totals (the
    ``__all__`` row), in one pass."""
    index = ["target", "y", "span_id", "trace_id"]
    long = frame.select(*index, *dimensions, pl.lit("all").alias(ALL)).unpivot(
        on=[*dimensions, ALL], index=index, variable_name="dimension", value_name="value"
    )
    return _grouped(long, ["dimension", "value"], per_trace)


def crossing_counts(
    frame: pl.LazyFrame,
    seeds: Sequence[Sequence[tuple[str, str]]],
    dimensions: list[str],
    per_trace: bool,
) -> pl.DataFrame:
    """``seed`` (index into ``seeds``), ``dimension``, ``value`` and the sums of each seed
    crossed with every dimension, in one pass (a seed's own dimensions included; drop them)."""
    index = ["target", "y", "span_id", "trace_id"]
    tags = [
        pl.when(pl.all_horizontal([pl.col(k) == v for k, v in conditions])).then(pl.lit(i))
        for i, conditions in enumerate(seeds)
    ]
    tagged = (
        frame.select(*index, *dimensions, pl.concat_list(tags).list.drop_nulls().alias("seed"))
        .filter(pl.col("seed").list.len() > 0)
        .explode("seed")
    )
    long = tagged.unpivot(
        on=dimensions, index=[*index, "seed"], variable_name="dimension", value_name="value"
    )
    return _grouped(long, ["seed", "dimension", "value"], per_trace)


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
    rows = frame.select("target", "y", "span_id", "trace_id", mask).filter(pl.col("mask") > 0)
    return _grouped(rows, ["mask"], per_trace)


def slice_counts(
    frame: pl.LazyFrame,
    slices: Sequence[Sequence[tuple[str, str]]],
    per_trace: bool,
    by: list[str] | None = None,
) -> pl.DataFrame:
    """``seed`` (index into ``slices``) and the sums of each slice (per ``by`` columns of
    ``frame`` too), in one pass; a slice without conditions is everything."""
    index = ["target", "y", "span_id", "trace_id", *(by or [])]
    tags = [
        pl.when(pl.all_horizontal([pl.lit(True), *(pl.col(k) == v for k, v in conditions)])).then(
            pl.lit(i)
        )
        for i, conditions in enumerate(slices)
    ]
    tagged = (
        frame.select(*index, pl.concat_list(tags).list.drop_nulls().alias("seed"))
        .filter(pl.col("seed").list.len() > 0)
        .explode("seed")
    )
    return _grouped(tagged, ["seed", *(by or [])], per_trace)
