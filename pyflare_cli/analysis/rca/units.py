"""What rca counts, as one lazy frame: a row per span, its window, its metric, its slices.

``--unit`` picks what a failure (or a slow or costly thing) is:

- ``origin`` (default): errors where they start (:mod:`origin`): an error span counts only
  when no descendant failed; latency is a span's self time; cost is the span's own cost.
- ``span``: every error span counts, latency is the span's duration.
- ``trace``: a trace fails when its root fails, its latency and cost are the whole trace's;
  every span row carries its trace's value and slices count distinct traces (a trace is in
  a slice when one of its spans is).

The result stays lazy: ``target`` (bool), ``trace_id``, ``span_id``, ``start_time``, the
metric ``y`` (with ``z``, log1p of milliseconds, for latency: the scale its mean tests
read) and one string column per dimension (``(none)`` when missing). Only the error
rows and the parent links of failing traces are collected (for the origin rule); the
slices module reads the rest in grouped passes.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.rca.dimensions import NONE, Dimension, metric_expr
from pyflare_cli.analysis.rca.origin import keys, origin_error_spans, self_time_ms

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
    """``spans`` (both windows, with ``target``) reduced to the unit's metric and dimensions.

    The spans are projected first (ids, start, dimensions), so a metric that needs a join
    (self time, a trace's value) joins narrow rows, never whole spans."""
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}: use origin, span or trace")
    columns = [
        pl.col("target"),
        pl.col("trace_id"),
        pl.col("span_id"),
        pl.col("start_time"),
        *(d.expr.cast(pl.String).fill_null(NONE).alias(d.name) for d in dimensions),
    ]
    y = _metric(spans, metric, unit)
    if isinstance(y, pl.Expr):
        frame = spans.select(*columns, y.alias("y"))
    else:
        # The narrow rows (dimensions as categoricals, ids compact) are projected before
        # the join, so the scan streams into it without the attribute maps; the metric
        # (small, by hashed key) is the join's build side. Collecting the rows first held
        # them twice (measured: 452 -> 388 MiB peak for latency on 690k spans).
        # Ids are held as a categorical and a hash (what compact keeps), not as strings.
        if "span_key" in y.collect_schema():
            y, on = y.rename({"span_key": "span_id"}), ["trace_key", "span_id"]
        else:
            on = ["trace_key"]
        base = spans.select(*columns, keys()[0]).with_columns(
            pl.col("trace_id").cast(pl.Categorical),
            pl.col("span_id").hash(),
            *(pl.col(d.name).cast(pl.Categorical) for d in dimensions),
        )
        frame = base.join(y, on=on, how="left")
    names = ["target", "trace_id", "span_id", "start_time", "y", *(d.name for d in dimensions)]
    kept = frame.select(names).filter(pl.col("y").is_not_null() & pl.col("y").is_finite())
    if metric == "latency":  # heavy-tailed: the mean tests read log milliseconds (``z``)
        kept = kept.with_columns(pl.col("y").clip(lower_bound=0).log1p().alias("z"))
    return kept


def _metric(spans: pl.LazyFrame, metric: str, unit: str) -> pl.Expr | pl.LazyFrame:
    """The per-row metric as an expression, or a frame of it by span or by trace."""
    if unit == "span" or (unit == "origin" and metric not in ("errors", "latency")):
        return metric_expr(metric)
    if unit == "origin" and metric == "errors":
        # a membership test, not a join: the span rows stream past a small set of keys
        origins = origin_error_spans(spans).select(_key().alias("key")).get_column("key")
        failed = pl.col("status_code") == "error"
        return (failed & _key().is_in(origins.implode())).cast(pl.Float64)
    if unit == "origin":  # latency: self time, computed apart on the five columns it needs
        needed = spans.select(
            "trace_id", "span_id", "parent_span_id", "start_time", "end_time", "duration_ns"
        )
        return self_time_ms(needed).rename({"self_ms": "y"}).collect(engine="streaming").lazy()
    return _trace_metric(spans, metric)


def _key() -> pl.Expr:
    """One string per span: its trace and span ids."""
    return pl.concat_str([pl.col("trace_id"), pl.col("span_id")], separator="/")


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
    trace = pl.col("trace_id").hash().alias("trace_key")
    return spans.group_by(trace).agg(value.alias("y")).collect(engine="streaming").lazy()


def compact(frame: pl.LazyFrame, dimensions: list[str], traces: bool = False) -> pl.LazyFrame:
    """The unit frame read from the store once, into a compact in-memory form that every
    later pass reads instead of the store: dimensions and trace ids as categoricals (a
    4-byte code a row, each string once), span ids as 8-byte hashes. About 100 bytes a
    span with two dozen dimensions, against kilobytes for the spans themselves."""
    hashed = frame.collect_schema()["span_id"] == pl.UInt64  # by unit_frame's join path
    return (
        frame.select(
            "target",
            pl.col("trace_id").cast(pl.Categorical),
            pl.col("span_id") if hashed else pl.col("span_id").hash(),
            "start_time",
            "y",
            *(["z"] if "z" in frame.collect_schema() else []),
            *(pl.col(d).cast(pl.Categorical) for d in dimensions),
        )
        .collect(engine="streaming")
        .lazy()
    )
