"""Trace statistics as Jaeger's "trace statistics" view shows them, headless and sortable.

Per group of spans of one trace: how many, their total, average, minimum and maximum
duration, their summed self time (duration minus the union of the children, from
:func:`pyflare_cli.analysis.traces.tree.self_times`, the waterfall's own numbers), its
share of the trace's self time, and the errors. A group is a service, an operation
(service and span name), or the value of any span attribute (``attr:http.route``);
spans without that attribute form one group, shown as ``(none)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

GROUPINGS = ("service", "operation")
"""The built-in groupings; ``attr:<key>`` groups by a span attribute."""
STAT_COLUMNS = ("count", "total_ns", "avg_ns", "min_ns", "max_ns", "self_ns", "share", "errors")
"""The measures, each a sort column."""
NONE = "(none)"


@dataclass(frozen=True)
class StatsView:
    """What the statistics table shows: a grouping and a sort."""

    group: str = "operation"
    sort: str = "self_ns"
    descending: bool = True


def group_keys(group: str) -> list[str]:
    """The key columns of a grouping."""
    if group == "service":
        return ["service"]
    if group == "operation":
        return ["service", "operation"]
    if group.startswith("attr:") and group[5:]:
        return [group[5:]]
    raise ValueError(f"unknown grouping {group!r}: service, operation or attr:<key>")


def span_stats(spans: pl.DataFrame, self_time: pl.Series, view: StatsView) -> pl.DataFrame:
    """One row per group: its keys (see :func:`group_keys`) and :data:`STAT_COLUMNS`,
    sorted by ``view.sort`` (ties by the keys). ``self_time`` is aligned with ``spans``."""
    keys = group_keys(view.group)
    duration = (pl.col("end_time") - pl.col("start_time")).dt.total_nanoseconds().clip(0)
    if view.group.startswith("attr:"):
        key_exprs = [pl.col("attributes").map.get(keys[0]).fill_null(NONE).alias(keys[0])]
    else:
        key_exprs = [pl.col("service_name").fill_null(NONE).alias("service")]
        if view.group == "operation":
            key_exprs.append(pl.col("name").fill_null(NONE).alias("operation"))
    frame = spans.select(
        *key_exprs,
        duration.alias("d"),
        self_time.cast(pl.Int64).alias("s"),
        pl.col("status_code").str.to_lowercase().eq("error").fill_null(False).alias("e"),
    )
    table = (
        frame.group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("d").sum().alias("total_ns"),
            pl.col("d").mean().alias("avg_ns"),
            pl.col("d").min().alias("min_ns"),
            pl.col("d").max().alias("max_ns"),
            pl.col("s").sum().alias("self_ns"),
            pl.col("e").sum().cast(pl.Int64).alias("errors"),
        )
        .with_columns(
            pl.when(pl.col("self_ns").sum() > 0)
            .then(pl.col("self_ns") / pl.col("self_ns").sum())
            .otherwise(0.0)
            .alias("share")
        )
        .select(*keys, *STAT_COLUMNS)
    )
    columns = [view.sort, *keys]
    descending = [view.descending] + [False] * len(keys)
    return table.sort(columns, descending=descending, nulls_last=True)


def attribute_keys(spans: pl.DataFrame) -> list[str]:
    """The span attribute keys of a trace, most common first (to group by)."""
    keys = spans.select(pl.col("attributes").map.keys().explode().drop_nulls().alias("k"))
    counted = keys.group_by("k").len().sort(["len", "k"], descending=[True, False])
    return [str(k) for k in counted["k"].to_list()]


FIT_ORDER = ("count", "self_ns", "share", "total_ns", "errors", "avg_ns", "max_ns", "min_ns")
"""The statistics kept first when the table is too narrow for all of them."""
KEY_MIN_WIDTH = 12
"""A group key column keeps at least this many cells (less if its values are shorter)."""
CELL_PADDING = 2
"""Cells a table column adds around its content."""


def fit_columns(
    available: int, keys: list[tuple[str, int]], stats: list[tuple[str, int]]
) -> tuple[dict[str, int], list[str]]:
    """Key column widths and the statistics that fit ``available`` cells together.

    ``keys`` and ``stats`` are (column, width of its widest cell). Statistics are taken in
    :data:`FIT_ORDER` while they fit beside the keys at their least width; the space left
    widens the keys up to their widest value, the last key (the span name) first. Shown
    statistics keep their table order.
    """
    widths = dict(stats)
    least = {k: min(w, KEY_MIN_WIDTH) for k, w in keys}
    used = sum(w + CELL_PADDING for w in least.values())
    chosen: set[str] = set()
    for column in FIT_ORDER:
        if column in widths and used + widths[column] + CELL_PADDING <= available:
            chosen.add(column)
            used += widths[column] + CELL_PADDING
    key_widths = dict(least)
    for key, natural in reversed(keys):
        extra = min(natural - key_widths[key], max(0, available - used))
        key_widths[key] += extra
        used += extra
    return key_widths, [c for c, _ in stats if c in chosen]
