"""Latency attribution: which operations on the critical path account for the added time.

Over the slow traces of the target (those slower than the baseline's 90th percentile) and
a sample of baseline traces, each trace's critical path (Jaeger's, see
:mod:`pyflare_cli.analysis.traces.tree`) is split into the time each span owns on it;
summed per operation and averaged per trace,
the difference target - baseline says where the added time went. The walk per trace is a
Python loop (the tree walk demands it); traces are sampled to keep it bounded.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pyflare_cli.analysis.traces.tree import build_tree, find_critical_path, trace_intervals

SLOW_QUANTILE = 0.9
MAX_TRACES = 300

ATTRIBUTION_SCHEMA: dict[str, Any] = {
    "operation": pl.String,
    "target_ms": pl.Float64,
    "baseline_ms": pl.Float64,
    "added_ms": pl.Float64,
    "share": pl.Float64,
    "examples": pl.List(pl.String),
}


def trace_durations(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Per trace: duration (last end - first start) in ms and its root operation."""
    operation = pl.concat_str(
        [pl.col("service_name").fill_null("?"), pl.col("name")], separator=": "
    )
    return spans.group_by("trace_id").agg(
        (
            (pl.col("end_time").max() - pl.col("start_time").min()).dt.total_microseconds() / 1e3
        ).alias("duration_ms"),
        operation.filter(pl.col("parent_span_id").is_null())
        .first()
        .fill_null(operation.sort_by(pl.col("start_time")).first())
        .alias("root"),
    )


def critical_path_ms(spans: pl.DataFrame) -> pl.DataFrame:
    """Per trace and operation (``service: name``): milliseconds owned on the critical path."""
    rows: list[tuple[str, str, float]] = []
    ordered = spans.sort("start_time").with_row_index("__row")
    # every trace's intervals in one select; each trace takes its rows' slice
    start, end = trace_intervals(ordered)
    for (trace_id,), trace in ordered.group_by("trace_id", maintain_order=True):
        at = trace.get_column("__row").to_numpy()
        intervals = start[at], end[at]
        tree = build_tree(trace, intervals)
        path = find_critical_path(tree, trace, intervals)
        services = trace.get_column("service_name").to_list()
        names = trace.get_column("name").to_list()
        for segment in path.segments:
            operation = f"{services[segment.row] or '?'}: {names[segment.row]}"
            rows.append((str(trace_id), operation, (segment.end_ns - segment.start_ns) / 1e6))
    frame = pl.DataFrame(
        rows, schema={"trace_id": pl.String, "operation": pl.String, "ms": pl.Float64}, orient="row"
    )
    return frame.group_by("trace_id", "operation").agg(pl.col("ms").sum())


def _expected_ms(
    base_paths: pl.DataFrame, base_durations: pl.DataFrame, roots: pl.Series
) -> pl.DataFrame:
    """Per operation, the baseline's critical-path ms for a trace mix like the slow ones.

    Slow traces are mostly of a few kinds (long agent runs, say); each kind is compared
    with baseline traces of the same root operation, weighted by how many slow traces it has.
    """
    per_root = (
        base_paths.join(base_durations.select("trace_id", "root"), on="trace_id")
        .group_by("root", "operation")
        .agg(pl.col("ms").sum())
        .join(
            base_durations.filter(
                pl.col("trace_id").is_in(base_paths.get_column("trace_id").implode())
            )
            .group_by("root")
            .agg(pl.len().alias("traces")),
            on="root",
        )
        .with_columns((pl.col("ms") / pl.col("traces")).alias("mean_ms"))
    )
    weights = roots.value_counts(name="weight").with_columns(pl.col("weight") / roots.len())
    return (
        per_root.join(weights, left_on="root", right_on=roots.name)
        .group_by("operation")
        .agg((pl.col("mean_ms") * pl.col("weight")).sum().alias("baseline_ms"))
    )


def _sample_ids(ids: pl.Series, seed: int) -> list[str]:
    ids = ids.sort()  # a group-by's order varies from run to run; the sample must not
    chosen = ids.sample(MAX_TRACES, seed=seed) if ids.len() > MAX_TRACES else ids
    return chosen.to_list()


def latency_attribution(
    target: pl.LazyFrame | pl.DataFrame, baseline: pl.LazyFrame | pl.DataFrame, seed: int = 0
) -> tuple[pl.DataFrame, int, float]:
    """Added critical-path time per operation in slow target traces vs baseline traces.

    Returns the table (most added time first), the number of slow traces and the slow
    threshold in ms. Empty when either side has no traces.
    """
    empty = pl.DataFrame(schema=ATTRIBUTION_SCHEMA)
    target, baseline = target.lazy(), baseline.lazy()
    columns = ["trace_id", "service_name", "name", "parent_span_id", "start_time", "end_time"]
    tree = [*columns, "span_id"]  # what the critical-path walk reads: not the attributes
    base_durations, target_durations = (
        trace_durations(w.select(columns)).collect(engine="streaming") for w in (baseline, target)
    )
    if base_durations.height == 0 or target_durations.height == 0:
        return empty, 0, 0.0
    threshold = float(base_durations.get_column("duration_ms").quantile(SLOW_QUANTILE) or 0.0)
    slow = target_durations.filter(pl.col("duration_ms") > threshold).get_column("trace_id")
    if slow.len() == 0:
        return empty, 0, threshold
    slow_ids = _sample_ids(slow, seed)
    roots = target_durations.filter(pl.col("trace_id").is_in(slow_ids)).get_column("root")
    peers = base_durations.filter(pl.col("root").is_in(roots.unique().implode()))
    base_ids = _sample_ids(peers.get_column("trace_id"), seed)
    slow_spans, base_spans = (
        w.select(tree).filter(pl.col("trace_id").is_in(ids)).collect(engine="streaming")
        for w, ids in ((target, slow_ids), (baseline, base_ids))
    )
    slow_paths = critical_path_ms(slow_spans)
    base_paths = critical_path_ms(base_spans)
    target_ms = slow_paths.group_by("operation").agg(
        (pl.col("ms").sum() / len(slow_ids)).alias("target_ms")
    )
    baseline_ms = _expected_ms(base_paths, base_durations, roots)
    examples = (
        slow_paths.sort("ms", descending=True)
        .group_by("operation", maintain_order=True)
        .agg(pl.col("trace_id").head(3).alias("examples"))
    )
    table = (
        target_ms.join(baseline_ms, on="operation", how="full", coalesce=True)
        .with_columns(pl.col("target_ms", "baseline_ms").fill_null(0.0))
        .with_columns((pl.col("target_ms") - pl.col("baseline_ms")).alias("added_ms"))
        .join(examples, on="operation", how="left")
    )
    added = table.filter(pl.col("added_ms") > 0).get_column("added_ms").sum()
    table = table.with_columns(
        (pl.col("added_ms") / added if added else pl.lit(None, pl.Float64)).alias("share")
    )
    return (
        table.select(list(ATTRIBUTION_SCHEMA)).sort("added_ms", descending=True),
        int(slow.len()),
        threshold,
    )
