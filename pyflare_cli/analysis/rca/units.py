"""What rca counts, as one lazy frame: a row per span, its window, its metric, its slices.

``--unit`` picks what a failure (or a slow or costly thing) is:

- ``origin`` (default): errors where they start (:mod:`origin`): an error span counts only
  when no descendant failed; latency is a span's self time; cost is the span's own cost.
- ``span``: every error span counts, latency is the span's duration.
- ``trace``: a trace fails when its root fails, its latency and cost are the whole trace's;
  every span row carries its trace's value and slices count distinct traces (a trace is in
  a slice when one of its spans is).

The result stays lazy: ``target`` (bool), ``trace_id``, ``span_id``, ``start_time``, the
metric ``y`` and one string column per dimension (``(none)`` when missing). Only the error
rows and the parent links of failing traces are collected (for the origin rule); the
slices module reads the rest in grouped passes.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.rca.dimensions import NONE, Dimension, metric_expr
from pyflare_cli.analysis.rca.origin import origin_error_spans, self_time_ms

UNITS = ("origin", "span", "trace")
KEYS = ["trace_id", "span_id"]


def windows(target: pl.LazyFrame, baseline: pl.LazyFrame) -> pl.LazyFrame:
    """Both windows in one lazy frame, told apart by the bool column ``target``."""
    return pl.concat(
        [
            target.with_columns(pl.lit(True).alias("target")),
            baseline.with_columns(pl.lit(False).alias("target")),
        ],
        how="diagonal_relaxed",
    )


def per_trace(unit: str) -> bool:
    """Whether slices count distinct traces (``trace``) rather than rows."""
    return unit == "trace"


def unit_frame(
    spans: pl.LazyFrame, dimensions: list[Dimension], metric: str, unit: str
) -> pl.LazyFrame:
    """``spans`` (both windows, with ``target``) reduced to the unit's metric and dimensions."""
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}: use origin, span or trace")
    y = _metric(spans, metric, unit)
    frame = spans.with_columns(y.alias("y")) if isinstance(y, pl.Expr) else y
    return frame.select(
        "target",
        "trace_id",
        "span_id",
        "start_time",
        "y",
        *(d.expr.cast(pl.String).fill_null(NONE).alias(d.name) for d in dimensions),
    ).filter(pl.col("y").is_not_null() & pl.col("y").is_finite())


def _metric(spans: pl.LazyFrame, metric: str, unit: str) -> pl.Expr | pl.LazyFrame:
    """The per-row metric as an expression, or ``spans`` joined with it."""
    if unit == "span" or (unit == "origin" and metric not in ("errors", "latency")):
        return metric_expr(metric)
    if unit == "origin" and metric == "errors":
        origins = origin_error_spans(spans).with_columns(pl.lit(1.0).alias("y"))
        return spans.join(origins.lazy(), on=KEYS, how="left").with_columns(
            pl.col("y").fill_null(0.0)
        )
    if unit == "origin":  # latency: self time
        return spans.join(self_time_ms(spans), on=KEYS, how="left").rename({"self_ms": "y"})
    return spans.join(_trace_metric(spans, metric), on="trace_id", how="left")


def _trace_metric(spans: pl.LazyFrame, metric: str) -> pl.LazyFrame:
    """Per trace: whether its root failed, its duration, or its summed metric, as ``y``."""
    root = pl.col("parent_span_id").is_null()
    if metric == "errors":
        failed = (pl.col("status_code") == "error").filter(root).any()
        value = failed.cast(pl.Float64)
    elif metric == "latency":
        value = (pl.col("end_time").max() - pl.col("start_time").min()).dt.total_nanoseconds()
        value = value.cast(pl.Float64) / 1e6
    else:
        value = metric_expr(metric).sum()
    return spans.group_by("trace_id").agg(value.alias("y"))
