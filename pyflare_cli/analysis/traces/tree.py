"""The structure of one trace: its span tree, critical path, self times and time breakdown.

`pyflare trace show` and the TUI waterfall both draw a trace from these results, so the
tree walk and the timing rules live here once, free of I/O and rendering. Real traces are
messy (lost parents, duplicated span ids, even cycles); every function here accepts them
and stays O(n log n), because the TUI redraws 10,000-span traces interactively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

__all__ = [
    "CriticalPath",
    "CriticalSegment",
    "SpanNode",
    "TraceTree",
    "breakdown",
    "build_tree",
    "critical_path",
    "find_critical_path",
    "self_times",
    "span_intervals",
    "trace_intervals",
]

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class SpanNode:
    """One span placed in the tree; ``parent`` and ``children`` index ``TraceTree.nodes``."""

    row: int
    span_id: str
    parent: int | None
    depth: int
    children: tuple[int, ...]
    is_orphan: bool
    """``parent_span_id`` is set but unusable: not in the trace, the span itself, or a cycle."""
    is_duplicate: bool
    """An earlier row has the same ``span_id``; children attach to that first row."""


@dataclass(frozen=True, slots=True)
class TraceTree:
    """The spans of one trace in depth-first display order, children sorted by start time."""

    nodes: tuple[SpanNode, ...]
    roots: tuple[int, ...]
    node_of_row: tuple[int, ...]
    """Row index in the input frame -> index in ``nodes``."""

    @property
    def rows(self) -> list[int]:
        """Input row indices in display order."""
        return [node.row for node in self.nodes]

    def parent_rows(self) -> list[int | None]:
        """For every input row, the row of its parent in the tree (None for a root)."""
        return [
            None if (p := self.nodes[ni].parent) is None else self.nodes[p].row
            for ni in self.node_of_row
        ]


@dataclass(frozen=True, slots=True)
class CriticalSegment:
    """A stretch of time during which ``span_id`` (input row ``row``) is on the critical path."""

    span_id: str
    row: int
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """The spans the critical-path walk passes through and the time each contributes."""

    rows: tuple[int, ...]
    """Input rows on the path, in display order (the root first)."""
    span_ids: tuple[str, ...]
    segments: tuple[CriticalSegment, ...]
    """Non-empty segments in chronological order; they tile the root's duration."""


def span_intervals(spans: pl.DataFrame) -> tuple[IntArray, IntArray]:
    """Start and end of every row in epoch nanoseconds, repaired so that start <= end.

    A missing end takes the start and vice versa; a span with neither sits at the trace's
    earliest start, so bad rows neither crash nor stretch the time axis.
    """
    s = pl.col("start_time").dt.epoch("ns")
    e = pl.col("end_time").dt.epoch("ns")
    start = pl.coalesce(s, e)
    start = start.fill_null(start.min()).fill_null(0)
    frame = spans.select(start.alias("s"), pl.coalesce(e, s).alias("e")).with_columns(
        pl.max_horizontal("s", pl.col("e").fill_null(pl.col("s"))).alias("e")
    )
    return frame["s"].to_numpy().astype(np.int64), frame["e"].to_numpy().astype(np.int64)


def trace_intervals(spans: pl.DataFrame, trace: str = "trace_id") -> tuple[IntArray, IntArray]:
    """:func:`span_intervals` of the spans of many traces at once (one select, not one per
    trace): a span with neither start nor end sits at its own trace's earliest start."""
    s = pl.col("start_time").dt.epoch("ns")
    e = pl.col("end_time").dt.epoch("ns")
    start = pl.coalesce(s, e)
    start = start.fill_null(start.min().over(trace)).fill_null(0)
    frame = spans.select(start.alias("s"), pl.coalesce(e, s).alias("e")).with_columns(
        pl.max_horizontal("s", pl.col("e").fill_null(pl.col("s"))).alias("e")
    )
    return frame["s"].to_numpy().astype(np.int64), frame["e"].to_numpy().astype(np.int64)


def _column(spans: pl.DataFrame, name: str) -> list[str | None]:
    if name not in spans.columns:
        return [None] * spans.height
    return spans[name].cast(pl.String).to_list()


def build_tree(
    spans: pl.DataFrame, intervals: tuple[IntArray, IntArray] | None = None
) -> TraceTree:
    """Arrange the spans of one trace as a forest in depth-first display order.

    Roots are spans without a parent, spans whose parent is missing (orphans) and one span
    of every parent cycle (also flagged orphan); roots and siblings are ordered by start
    time, then by row. ``intervals``: the rows' :func:`span_intervals`, when at hand.
    """
    n = spans.height
    ids = _column(spans, "span_id")
    parents = _column(spans, "parent_span_id")
    start, _ = intervals if intervals is not None else span_intervals(spans)

    first_row: dict[str, int] = {}
    duplicate = [False] * n
    for r, sid in enumerate(ids):
        if sid:
            if sid in first_row:
                duplicate[r] = True
            else:
                first_row[sid] = r

    parent_row = [-1] * n
    orphan = [False] * n
    for r, pid in enumerate(parents):
        if pid:
            pr = first_row.get(pid, -1)
            if pr == -1 or pr == r:
                orphan[r] = True
            else:
                parent_row[r] = pr

    order = np.lexsort((np.arange(n), start)).tolist()
    kids: list[list[int]] = [[] for _ in range(n)]
    root_rows: list[int] = []
    for r in order:
        if parent_row[r] == -1:
            root_rows.append(r)
        else:
            kids[parent_row[r]].append(r)

    node_of_row = [-1] * n
    node_rows: list[int] = []
    node_parent: list[int] = []
    node_depth: list[int] = []
    node_kids: list[list[int]] = []
    roots: list[int] = []

    def place(root: int) -> None:
        roots.append(len(node_rows))
        stack = [(root, -1, 0)]
        while stack:
            r, pn, depth = stack.pop()
            ni = len(node_rows)
            node_of_row[r] = ni
            node_rows.append(r)
            node_parent.append(pn)
            node_depth.append(depth)
            node_kids.append([])
            if pn >= 0:
                node_kids[pn].append(ni)
            stack.extend((c, ni, depth + 1) for c in reversed(kids[r]) if node_of_row[c] == -1)

    for r in root_rows:
        place(r)
    for r in order:
        if node_of_row[r] != -1:
            continue
        # Unreached rows hang off a parent cycle: walk up to a row on the cycle and cut there.
        seen: set[int] = set()
        while r not in seen:
            seen.add(r)
            r = parent_row[r]
        orphan[r] = True
        place(r)

    nodes = tuple(
        SpanNode(
            row=r,
            span_id=ids[r] or "",
            parent=None if node_parent[ni] < 0 else node_parent[ni],
            depth=node_depth[ni],
            children=tuple(node_kids[ni]),
            is_orphan=orphan[r],
            is_duplicate=duplicate[r],
        )
        for ni, r in enumerate(node_rows)
    )
    return TraceTree(nodes=nodes, roots=tuple(roots), node_of_row=tuple(node_of_row))


def find_critical_path(
    tree: TraceTree, spans: pl.DataFrame, intervals: tuple[IntArray, IntArray] | None = None
) -> CriticalPath:
    """The critical path of the longest root, as Jaeger computes it.

    Children are first clipped to their parent (children starting after it ends are ignored).
    From the root, with the cut-off at its end: take the not yet used child that finishes
    last at or before the cut-off; the parent owns the gap from that child's end to the
    cut-off; descend into the child with the cut-off at its end. A span with no such child
    owns the time from its start to the cut-off, and the walk returns to its parent with the
    cut-off moved to that span's start. The walk ends back at the root. ``intervals``: the
    rows' :func:`span_intervals`, when at hand.
    """
    if not tree.nodes:
        return CriticalPath(rows=(), span_ids=(), segments=())
    start, end = intervals if intervals is not None else span_intervals(spans)
    n = len(tree.nodes)
    cs = [0] * n
    ce = [0] * n
    live = [True] * n
    for ni, node in enumerate(tree.nodes):
        s, e = int(start[node.row]), int(end[node.row])
        p = node.parent
        if p is not None:
            if not live[p] or s > ce[p] or e < cs[p]:
                live[ni] = False
                continue
            s, e = max(s, cs[p]), min(e, ce[p])
        cs[ni], ce[ni] = s, e

    root = min(tree.roots, key=lambda ni: (cs[ni] - ce[ni], ni))
    by_end: dict[int, list[int]] = {}
    cursor: dict[int, int] = {}
    visited = [root]
    segments: list[tuple[int, int, int]] = []

    cur, cutoff = root, ce[root]
    while True:
        if cur not in by_end:
            by_end[cur] = sorted(
                (c for c in tree.nodes[cur].children if live[c]), key=lambda c: -ce[c]
            )
            cursor[cur] = 0
        candidates, i = by_end[cur], cursor[cur]
        # The cut-off only moves back in time, so children skipped here never qualify later.
        while i < len(candidates) and ce[candidates[i]] > cutoff:
            i += 1
        if i < len(candidates):
            child = candidates[i]
            cursor[cur] = i + 1
            segments.append((cur, ce[child], cutoff))
            cur, cutoff = child, ce[child]
            if ce[child] > cs[child]:
                visited.append(child)
            continue
        cursor[cur] = i
        segments.append((cur, cs[cur], cutoff))
        parent = tree.nodes[cur].parent
        if cur == root or parent is None:
            break
        cur, cutoff = parent, cs[cur]

    visited.sort()
    return CriticalPath(
        rows=tuple(tree.nodes[ni].row for ni in visited),
        span_ids=tuple(tree.nodes[ni].span_id for ni in visited),
        segments=tuple(
            CriticalSegment(tree.nodes[ni].span_id, tree.nodes[ni].row, s, e)
            for ni, s, e in reversed(segments)
            if e > s
        ),
    )


def critical_path(tree: TraceTree, spans: pl.DataFrame) -> list[str]:
    """Span ids on the critical path of the longest root, root first, in display order."""
    return list(find_critical_path(tree, spans).span_ids)


def self_times(tree: TraceTree, spans: pl.DataFrame) -> pl.Series:
    """Per input row: duration minus the union of its children's intervals clipped to it.

    Overlapping (parallel) children count once; the result is never negative.
    """
    start, end = span_intervals(spans)
    frame = pl.DataFrame(
        {
            "row": np.arange(spans.height, dtype=np.int64),
            "parent": pl.Series(tree.parent_rows(), dtype=pl.Int64),
            "s": start,
            "e": end,
        }
    )
    parent = frame.select(
        pl.col("row").alias("parent"), pl.col("s").alias("ps"), pl.col("e").alias("pe")
    )
    cs, ce, prev = pl.col("cs"), pl.col("ce"), pl.col("prev")
    covered = (
        frame.join(parent, on="parent")
        .select(
            "parent",
            pl.max_horizontal("s", "ps").alias("cs"),
            pl.min_horizontal("e", "pe").alias("ce"),
        )
        .filter(ce > cs)
        .sort("parent", "cs")
        .with_columns(ce.cum_max().shift(1).over("parent").alias("prev"))
        .group_by("parent")
        .agg((ce - pl.max_horizontal(cs, prev.fill_null(cs))).clip(lower_bound=0).sum())
    )
    return (
        frame.join(covered.rename({"ce": "covered"}), left_on="row", right_on="parent", how="left")
        .sort("row")
        .select(
            (pl.col("e") - pl.col("s") - pl.col("covered").fill_null(0))
            .clip(lower_bound=0)
            .alias("self_time_ns")
        )
        .to_series()
    )


def breakdown(
    spans: pl.DataFrame,
    by: Literal["service", "operation"] = "service",
    *,
    self_time: pl.Series | None = None,
) -> pl.DataFrame:
    """Where the trace's time goes, per service or per operation (service + span name).

    Columns: the keys (``service_name`` [, ``name``]), ``count``, ``total_ns`` (sum of
    durations), ``self_ns`` (sum of self times), ``share`` (of the trace's self time, sums
    to 1 unless the trace has no duration), ``errors``; sorted by ``self_ns`` descending.
    Pass ``self_time`` (aligned with ``spans``) when it is already computed.
    """
    keys = ["service_name"] if by == "service" else ["service_name", "name"]
    if self_time is None:
        self_time = self_times(build_tree(spans), spans)
    start, end = span_intervals(spans)
    is_error = (
        pl.col("status_code").str.to_lowercase().eq("error").fill_null(False)
        if "status_code" in spans.columns
        else pl.repeat(False, pl.len())
    )
    frame = spans.select(
        *(pl.col(k) if k in spans.columns else pl.lit(None, pl.String).alias(k) for k in keys),
        pl.Series("duration", end - start, dtype=pl.Int64),
        self_time.cast(pl.Int64).alias("self"),
        is_error.alias("error"),
    )
    self_ns = pl.col("self_ns")
    return (
        frame.group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("count"),
            pl.col("duration").sum().alias("total_ns"),
            pl.col("self").sum().alias("self_ns"),
            pl.col("error").sum().cast(pl.Int64).alias("errors"),
        )
        .with_columns(
            pl.when(self_ns.sum() > 0)
            .then(self_ns / self_ns.sum())
            .otherwise(0.0)
            .cast(pl.Float64)
            .alias("share")
        )
        .select(*keys, "count", "total_ns", "self_ns", "share", "errors")
        .sort(["self_ns", *keys], descending=[True] + [False] * len(keys), nulls_last=True)
    )
