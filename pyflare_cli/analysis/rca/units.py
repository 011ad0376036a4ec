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

from collections.abc import Sequence

import polars as pl

from pyflare_cli.analysis.rca.dimensions import NONE, Dimension, metric_expr
from pyflare_cli.analysis.rca.origin import covered_ns, keys, origin_error_spans, self_ms_of

UNITS = ("origin", "span", "trace")
SELF_TIME_ROWS = 2_000_000
"""Spans per part of the self-time walk (a part's traces whole): the walk holds ~150 bytes
a span of its part."""
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
    spans: pl.LazyFrame,
    dimensions: list[Dimension],
    metric: str,
    unit: str,
    carry: Sequence[pl.Expr] = (),
) -> pl.LazyFrame:
    """``spans`` (both windows, with ``target``) reduced to the unit's metric and dimensions
    (and the ``carry`` expressions, read from the spans).

    The spans are projected first (ids, start, dimensions), so a metric that needs a join
    (self time, a trace's value) joins narrow rows, never whole spans."""
    return unit_rows(spans, dimensions, metric, unit_metric(spans, metric, unit), carry)


Metric = pl.Expr | tuple[pl.LazyFrame, list[str], pl.Expr]
"""A unit's metric: an expression over span columns, or a small collected frame to join
(by hashed ``trace_key`` [and ``span_id``]) and the expression of ``y`` after the join."""


def unit_metric(spans: pl.LazyFrame, metric: str, unit: str) -> Metric:
    """What :func:`unit_rows` needs to give each row its metric: computed once from both
    windows (origin errors, children's covered time, a trace's value), so later passes over
    the spans, of one window or both, read the same values."""
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}: use origin, span or trace")
    if unit == "span" or (unit == "origin" and metric not in ("errors", "latency")):
        return metric_expr(metric)
    if unit == "origin" and metric == "errors":
        # a membership test, not a join: the span rows stream past a small set of keys
        origins = origin_error_spans(spans).select(_key().alias("key")).get_column("key")
        failed = pl.col("status_code") == "error"
        return (failed & _key().is_in(origins.implode())).cast(pl.Float64)
    if unit == "origin":
        # latency: self time, its duration less the time its children cover; only the
        # spans with children are held (their covered time), the rest stream past
        needed = spans.select(
            "trace_id", "span_id", "parent_span_id", "start_time", "end_time", "duration_ns"
        )
        # traces split into parts of about SELF_TIME_ROWS spans: the walk holds one part
        rows = needed.select(pl.len()).collect(engine="streaming").item()
        parts = max(1, -(-rows // SELF_TIME_ROWS))
        pieces = [
            covered_ns(needed.filter(pl.col("trace_id").hash() % parts == i)) for i in range(parts)
        ]
        return self_ms_of(pl.concat(pieces))
    return _trace_metric(spans, metric), ["trace_key"], pl.col("y")


def unit_rows(
    spans: pl.LazyFrame,
    dimensions: list[Dimension],
    metric: str,
    source: Metric,
    carry: Sequence[pl.Expr] = (),
) -> pl.LazyFrame:
    """:func:`unit_frame` with the metric's ``source`` (:func:`unit_metric`) computed before:
    the rows of any span frame (``target`` included), lazy."""
    columns = [
        pl.col("target"),
        pl.col("trace_id"),
        pl.col("span_id"),
        pl.col("start_time"),
        *(d.expr.cast(pl.String).fill_null(NONE).alias(d.name) for d in dimensions),
    ]
    extra = [e.meta.output_name() for e in carry]
    if isinstance(source, pl.Expr):
        frame = spans.select(*columns, *carry, source.alias("y"))
    else:
        # The narrow rows (dimensions as categoricals, ids compact) are projected before
        # the join, so the scan streams into it without the attribute maps; the metric
        # (small, by hashed key) is the join's build side. Collecting the rows first held
        # them twice (measured: 452 -> 388 MiB peak for latency on 690k spans).
        # Ids are held as a categorical and a hash (what compact keeps), not as strings.
        y, on, value = source
        base = spans.select(*columns, *carry, keys()[0], "duration_ns").with_columns(
            pl.col("trace_id").cast(pl.Categorical),
            pl.col("span_id").hash(),
            *(pl.col(d.name).cast(pl.Categorical) for d in dimensions),
        )
        frame = base.join(y, on=on, how="left").with_columns(value.alias("y"))
    names = ["target", "trace_id", "span_id", "start_time", "y", *(d.name for d in dimensions)]
    kept = frame.select(*names, *extra).filter(pl.col("y").is_not_null() & pl.col("y").is_finite())
    if metric == "latency":  # heavy-tailed: the mean tests read log milliseconds (``z``)
        kept = kept.with_columns(pl.col("y").clip(lower_bound=0).log1p().alias("z"))
    return kept


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
