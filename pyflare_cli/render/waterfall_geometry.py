"""The geometry of a waterfall, without Rich: what both waterfalls draw, computed once.

``pyflare trace show`` (:mod:`pyflare_cli.render.waterfall`) and the TUI
(:mod:`pyflare_cli.tui.widgets.waterfall_rows`, over
:class:`~pyflare_cli.tui.model.waterfall.WaterfallModel`) draw the same trace the same
way: the per-span columns in tree order (:class:`TraceColumns`), the split of a line
between label and bar (:func:`layout`), the tree guides, the ruler's ticks and the cells a
bar covers within a time window. The TUI's model is headless, so this module imports no
Rich; the Rich drawing shared by both is in :mod:`pyflare_cli.render.waterfall`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from pyflare_cli.analysis.traces.tree import (
    CriticalPath,
    TraceTree,
    build_tree,
    find_critical_path,
    span_intervals,
)

MARK_WIDTH = 3
"""Cells before the label: the error mark, the critical-path mark and a space."""
DURATION_WIDTH = 8
BAR, CRITICAL, EVENT = "━", "█", "•"
BEFORE, AFTER = "◂", "▸"
"""Drawn at the bar's edge for a span that lies wholly before or after the time window."""

_CONTROL = {i: " " for i in (*range(32), 127)}


def clean(value: object) -> str:
    """User text made safe for one terminal line (no newlines, tabs or escape codes)."""
    if value is None:
        return ""
    text = str(value)
    return text if text.isprintable() else text.translate(_CONTROL)


def _values(spans: pl.DataFrame, name: str) -> list[object]:
    return spans[name].to_list() if name in spans.columns else [None] * spans.height


def _text(values: list[object]) -> list[str | None]:
    return [None if v is None else str(v) for v in values]


class TraceColumns:
    """One trace's spans as a waterfall reads them: tree order, times, marks and labels.

    Per node (an index into ``tree.nodes``): ``rows`` (its row in ``spans``), ``parent``,
    ``depth``, ``is_last`` (last child of its parent). Per row: ``start``/``end`` (epoch ns),
    ``service``, ``name``, ``model``, tokens, ``error``, ``events`` (epoch ns). The trace
    runs from ``t0`` to ``t1`` (at least 1 ns); ``segments`` are the critical path's parts
    per row, ``on_path`` its rows.
    """

    def __init__(
        self,
        spans: pl.DataFrame,
        *,
        tree: TraceTree | None = None,
        critical: CriticalPath | None = None,
    ) -> None:
        self.spans = spans
        self.tree = tree if tree is not None else build_tree(spans)
        self.path = critical if critical is not None else find_critical_path(self.tree, spans)
        self.start, self.end = span_intervals(spans)
        nodes = self.tree.nodes
        n = len(nodes)
        self.t0 = int(self.start.min()) if n else 0
        self.t1 = max(self.t0 + 1, int(self.end.max())) if n else 1
        self.rows = [node.row for node in nodes]
        self.parent = [node.parent for node in nodes]
        self.depth = [node.depth for node in nodes]
        self.is_last = [
            node.parent is None or nodes[node.parent].children[-1] == ni
            for ni, node in enumerate(nodes)
        ]

        self.service = _text(_values(spans, "service_name"))
        self.name = _text(_values(spans, "name"))
        self.model = _text(_values(spans, "model"))
        self.input_tokens = _values(spans, "input_tokens")
        self.output_tokens = _values(spans, "output_tokens")
        self.error = [
            isinstance(s, str) and s.lower() == "error" for s in _values(spans, "status_code")
        ]
        self.events: list[list[int]] = (
            [
                [t for t in times if t is not None] if times else []
                for times in spans.select(
                    pl.col("events").list.eval(pl.element().struct.field("time").dt.epoch("ns"))
                )
                .to_series()
                .to_list()
            ]
            if "events" in spans.columns
            else [[] for _ in range(spans.height)]
        )
        self.on_path = set(self.path.rows)
        self.segments: dict[int, list[tuple[int, int]]] = {}
        for seg in self.path.segments:
            self.segments.setdefault(seg.row, []).append((seg.start_ns, seg.end_ns))

    def __len__(self) -> int:
        return len(self.rows)

    def guide(self, ni: int, levels: int) -> str:
        """Tree guide of node ``ni`` (``│ ├─ └─``); deeper than ``levels`` levels, only the
        innermost ones show, after ``…``."""
        parent = self.parent[ni]
        if parent is None:
            return ""
        parts = ["└─" if self.is_last[ni] else "├─"]
        a: int | None = parent
        while a is not None and self.parent[a] is not None and len(parts) < levels:
            parts.append("  " if self.is_last[a] else "│ ")
            a = self.parent[a]
        guide = "".join(reversed(parts))
        if a is not None and self.parent[a] is not None:
            guide = "…" + guide[1:]
        return guide


@dataclass(frozen=True)
class Layout:
    """Cells for the label and the bar at a total width."""

    width: int
    label: int
    bar: int

    @property
    def bar_start(self) -> int:
        return self.width - self.bar


def layout(width: int, label_share: Fraction) -> Layout:
    """``label_share`` of the free width for labels (16 to 60 cells), the rest for bars."""
    fixed = MARK_WIDTH + DURATION_WIDTH + 2
    label = max(16, min(60, math.floor((width - fixed) * label_share)))
    bar = max(8, width - fixed - label)
    return Layout(width, max(8, width - fixed - bar), bar)


def ticks(start_ns: int, end_ns: int, bar_width: int, spacing: int) -> list[tuple[int, str]]:
    """(cell, label) of a 1-2-2.5-5 ruler over [start_ns, end_ns] (relative to the trace),
    about one tick every ``spacing`` cells; labels never overlap or overflow."""
    span = max(1, end_ns - start_ns)
    raw = max(1.0, span / max(2, bar_width // spacing))
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    unit, scale = next(
        ((u, s) for u, s in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)) if end_ns >= 2 * s),
        ("ns", 1.0),
    )
    out: list[tuple[int, str]] = []
    free = 0
    for k in range(math.ceil(start_ns / step), math.floor(end_ns / step) + 1):
        at = k * step
        cell = round((at - start_ns) / span * bar_width)
        label = f"{at / scale:.3f}".rstrip("0").rstrip(".") + unit
        if cell >= free and cell + len(label) <= bar_width:
            out.append((cell, label))
            free = cell + len(label) + 1
    return out


def bar(
    start: int,
    end: int,
    window: tuple[int, int],
    width: int,
    segments: list[tuple[int, int]],
    events: list[int],
) -> list[tuple[str, bool]]:
    """The bar of a span from ``start`` to ``end`` (epoch ns) in ``width`` cells showing
    ``window``, as (text, emphasised) runs: ``━`` the span, ``█`` its ``segments`` on the
    critical path, ``•`` its ``events`` inside the window; an arrow at the edge when the
    span lies outside the window. Emphasised runs (critical time, events, arrows) are bold.
    """
    v0, v1 = window
    scale = width / max(1, v1 - v0)
    cells = [" "] * width
    bold = [False] * width
    if end < v0:
        cells[0], bold[0] = BEFORE, True
    elif start > v1:
        cells[-1], bold[-1] = AFTER, True
    else:

        def span_cells(a: int, b: int) -> tuple[int, int]:
            c0 = min(width - 1, max(0, int((a - v0) * scale + 0.5)))
            return c0, min(width, max(c0 + 1, int((b - v0) * scale + 0.5)))

        c0, c1 = span_cells(max(start, v0), min(end, v1))
        cells[c0:c1] = BAR * (c1 - c0)
        for a, b in segments:
            if b >= v0 and a <= v1:
                x0, x1 = span_cells(max(a, v0), min(b, v1))
                cells[x0:x1] = CRITICAL * (x1 - x0)
                bold[x0:x1] = [True] * (x1 - x0)
        for t in events:
            if v0 <= t <= v1:
                x = min(width - 1, max(0, int((t - v0) * width / max(1, v1 - v0))))
                cells[x], bold[x] = EVENT, True
    runs: list[tuple[str, bool]] = []
    at = 0
    for i in range(1, width + 1):
        if i == width or bold[i] != bold[at]:
            runs.append(("".join(cells[at:i]), bold[at]))
            at = i
    return runs
