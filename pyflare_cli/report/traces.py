"""The per-trace sections: each trace the other sections point at, drawn as a waterfall.

The spans are placed by :func:`analysis.traces.tree.build_tree` (the tree of ``pyflare
trace show`` and the TUI): depth-first, children by start time; each bar runs from the
span's start to its end in milliseconds after the trace's first span.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pyflare_cli.report import charts, text
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Chart, TraceView, anchor

if TYPE_CHECKING:
    import polars as pl

INDENT = "\u00b7 "
"""One level of the tree in a label: Vega trims leading spaces, so a middle dot shows it."""
MAX_SPANS = 60
"""Spans drawn per waterfall; a larger trace shows its first ones in tree order."""
COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "service_name",
    "start_time",
    "end_time",
    "duration_ns",
    "status_code",
    "model",
    "cost_usd",
)


def trace_views(ctx: ReportContext, trace_ids: list[str]) -> list[TraceView]:
    """The waterfalls of ``trace_ids`` (at most ``ctx.waterfalls``), in the given order."""
    import polars as pl

    from pyflare_cli.query.spans import SpanQuery, load_spans

    chosen = list(dict.fromkeys(trace_ids))[: ctx.waterfalls]
    if not chosen:
        return []
    since, until = ctx.window.previous().query_bounds[0], ctx.window.query_bounds[1]
    spans = (
        load_spans(ctx.root, SpanQuery(since, until), ctx.now, ctx.rules)
        .filter(pl.col("trace_id").is_in(chosen))
        .select(COLUMNS)
        .collect()
    )
    views = []
    for trace_id in chosen:
        frame = spans.filter(pl.col("trace_id") == trace_id)
        if frame.height:
            views.append(_view(trace_id, frame))
    return views


def _view(trace_id: str, frame: pl.DataFrame) -> TraceView:
    import polars as pl

    from pyflare_cli.analysis.traces.tree import build_tree

    frame = frame.sort("start_time")
    tree = build_tree(frame)
    t0: datetime = frame.get_column("start_time").min()  # type: ignore[assignment]
    offsets = frame.select(
        ((pl.col("start_time") - t0).dt.total_microseconds() / 1000).alias("start_ms"),
        ((pl.col("end_time") - t0).dt.total_microseconds() / 1000).alias("end_ms"),
    )
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for order, node in enumerate(tree.nodes[:MAX_SPANS]):
        span = frame.row(node.row, named=True)
        times = offsets.row(node.row, named=True)
        label = f"{INDENT * min(node.depth, 8)}{span['name'] or '?'}"
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} ({seen[label]})"
        rows.append(
            {
                "order": order,
                "label": label,
                "span_id": span["span_id"],
                "service": span["service_name"],
                "model": span["model"],
                "start_ms": times["start_ms"],
                "end_ms": max(times["end_ms"], times["start_ms"]),
                "status": "error" if span["status_code"] == "error" else "ok",
                "cost_usd": text.jsonable(span["cost_usd"]),
            }
        )
    root = frame.row(tree.nodes[0].row, named=True) if tree.nodes else frame.row(0, named=True)
    errors = int((frame.get_column("status_code") == "error").sum())
    duration = max(r["end_ms"] for r in rows) if rows else 0.0
    cost = float(frame.get_column("cost_usd").sum() or 0)
    facts = [
        f"{frame.height:,} spans"
        + (f" (first {MAX_SPANS} drawn)" if frame.height > MAX_SPANS else ""),
        f"{duration:,.0f} ms",
        f"{errors} error span(s)" if errors else "no errors",
        text.usd(cost) if cost else "no cost",
        f"starts {t0:%Y-%m-%d %H:%M:%S} UTC",
    ]
    title = f"{root['service_name'] or '?'}: {root['name'] or '?'}"
    chart = Chart(anchor(trace_id) + "-waterfall", "Waterfall", charts.waterfall(len(rows)), rows)
    return TraceView(trace_id, title, facts, chart)
