"""One waterfall line at a time: the ruler and a span's row as Rich segments.

The TUI draws only the rows on screen, so drawing is per row and cheap. It follows the look
of ``pyflare trace show`` (:mod:`pyflare_cli.render.waterfall`: same glyphs, units and
palette) and adds what an interactive view needs: a movable time window (zoom and
pan), fold marks with hidden-span and hidden-error counts, and arrows for spans outside
the window so that errors stay visible whatever the zoom. Labels are denser than the
printed waterfall's: a service name shows only where it changes from the parent (the bar
colour still tells), and a model only when the span name does not already say it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from pyflare_cli.render.units import format_duration, format_tokens
from pyflare_cli.render.waterfall import BAR, CRITICAL, ERROR, EVENT, service_colour
from pyflare_cli.tui.colours import MODEL
from pyflare_cli.tui.model.waterfall import WaterfallModel

MARK_WIDTH = 3
DURATION_WIDTH = 8
HEADER_LINES = 2
BEFORE, AFTER = "◂", "▸"
FOLDED, UNFOLDED = "▸", "▾"

Run = tuple[str, str]


@dataclass(frozen=True)
class Layout:
    """Cells for the label and the bar at a total width."""

    width: int
    label: int
    bar: int

    @property
    def bar_start(self) -> int:
        return self.width - self.bar

    @property
    def fold_cell_range(self) -> tuple[int, int]:
        return MARK_WIDTH, MARK_WIDTH + self.label


def layout(width: int) -> Layout:
    """Half of the free width for labels (at most 60 cells), the rest for bars."""
    fixed = MARK_WIDTH + DURATION_WIDTH + 2
    label = max(16, min(60, (width - fixed) // 2))
    bar = max(8, width - fixed - label)
    return Layout(width, max(8, width - fixed - bar), bar)


def _fit(runs: list[Run], width: int) -> list[Run]:
    """Cut or pad runs to exactly ``width`` cells, with an ellipsis when cut."""
    total = sum(cell_len(text) for text, _ in runs)
    if total <= width:
        return [*runs, (" " * (width - total), "")]
    fitted: list[Run] = []
    room = width - 1
    for text, style in runs:
        cells = cell_len(text)
        if cells >= room:
            fitted.append((set_cell_size(text, room) + "…", style))
            break
        fitted.append((text, style))
        room -= cells
    return fitted


def _segments(runs: list[Run]) -> list[Segment]:
    parse = Style.parse
    return [Segment(text, parse(style) if style else Style()) for text, style in runs if text]


def ticks(start_ns: int, end_ns: int, bar_width: int) -> list[tuple[int, str]]:
    """(cell, label) of a 1-2-2.5-5 ruler over [start_ns, end_ns] (relative to the trace)."""
    span = max(1, end_ns - start_ns)
    raw = max(1.0, span / max(2, bar_width // 10))
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


class RowPainter:
    """Draws the lines of a :class:`WaterfallModel` at a given width."""

    def __init__(
        self, model: WaterfallModel, colour: Callable[[str | None], str] = service_colour
    ) -> None:
        self.model = model
        self.colour = colour

    def ruler(self, width: int) -> list[list[Segment]]:
        """Two lines: tick labels over the bar column, then tick marks."""
        lay = layout(width)
        m = self.model
        a, b = m.window[0] - m.t0, m.window[1] - m.t0
        labels = [" "] * lay.bar
        rule = ["─"] * lay.bar
        for cell, label in ticks(a, b, lay.bar):
            labels[cell : cell + len(label)] = label
            rule[min(cell, lay.bar - 1)] = "┬"
        lead = " " * MARK_WIDTH + "span".ljust(lay.label) + " " + "duration".rjust(DURATION_WIDTH)
        top = [(lead + " ", "bold"), ("".join(labels), "bold")]
        bottom = [(" " * lay.bar_start, ""), ("".join(rule), "dim")]
        return [_segments(top), _segments(bottom)]

    def _guide(self, ni: int, levels: int) -> str:
        """Tree guide of node ``ni`` (``│ ├─ └─``), keeping the innermost ``levels``."""
        m = self.model
        parent = m.parent[ni]
        if parent is None:
            return ""
        parts = ["└─" if m.is_last[ni] else "├─"]
        a: int | None = parent
        while a is not None and m.parent[a] is not None and len(parts) < levels:
            parts.append("  " if m.is_last[a] else "│ ")
            a = m.parent[a]
        guide = "".join(reversed(parts))
        if a is not None and m.parent[a] is not None:
            guide = "…" + guide[1:]
        return guide

    def _label(self, ni: int, width: int) -> list[Run]:
        m = self.model
        r = m.rows[ni]
        node = m.tree.nodes[ni]
        levels = max(1, width // 6)
        if m.critical_only:
            runs: list[Run] = [(" " * min(m.depth[ni], levels), "")]
        else:
            runs = [(self._guide(ni, levels), "dim")]
        if m.has_children(ni):
            runs.append((FOLDED if ni in m.collapsed else UNFOLDED, "bold"))
        else:
            runs.append((" ", ""))
        runs.append((" ", ""))
        if node.is_orphan:
            runs.append(("[orphan] ", "yellow"))
        if node.is_duplicate:
            runs.append(("[dup] ", "yellow"))
        service = m.service[r]
        parent = m.parent[ni]
        if parent is None or m.service[m.rows[parent]] != service or m.critical_only:
            runs.append((f"{service or '?'} ", self.colour(service)))
        style = ERROR if m.error[r] else "bold" if r in m.on_path else ""
        name = m.name[r] or "?"
        runs.append((name, style))
        hidden = m.hidden_below(ni)
        if hidden:
            runs.append((f" +{hidden}", "dim"))
            if m.errors_below[ni]:
                runs.append((f" ✖{m.errors_below[ni]}", ERROR))
        model, t_in, t_out = m.model[r], m.input_tokens[r], m.output_tokens[r]
        if model is not None or t_in is not None or t_out is not None:
            if model is None or model not in name:
                runs.append((f" {model or '?'}", MODEL))
            if t_in is not None or t_out is not None:
                shown = (format_tokens(t) if isinstance(t, int) else "?" for t in (t_in, t_out))
                runs.append((" " + "→".join(shown), "dim"))
        return _fit([(text.replace("\n", " "), style) for text, style in runs], width)

    def _bar(self, r: int, width: int, colour: str) -> list[Run]:
        m = self.model
        v0, v1 = m.window
        scale = width / max(1, v1 - v0)
        s, e = int(m.start[r]), int(m.end[r])
        cells = [" "] * width
        bold = [False] * width
        if e < v0:
            cells[0], bold[0] = BEFORE, True
        elif s > v1:
            cells[-1], bold[-1] = AFTER, True
        else:

            def span_cells(a: int, b: int) -> tuple[int, int]:
                c0 = min(width - 1, max(0, int((a - v0) * scale + 0.5)))
                return c0, min(width, max(c0 + 1, int((b - v0) * scale + 0.5)))

            c0, c1 = span_cells(max(s, v0), min(e, v1))
            cells[c0:c1] = BAR * (c1 - c0)
            for a, b in m.segments.get(r, ()):
                if b >= v0 and a <= v1:
                    x0, x1 = span_cells(max(a, v0), min(b, v1))
                    cells[x0:x1] = CRITICAL * (x1 - x0)
                    bold[x0:x1] = [True] * (x1 - x0)
            for t in m.events[r]:
                if v0 <= t <= v1:
                    x = min(width - 1, max(0, int((t - v0) * scale)))
                    cells[x], bold[x] = EVENT, True
        runs: list[Run] = []
        at = 0
        for i in range(1, width + 1):
            if i == width or bold[i] != bold[at]:
                runs.append(("".join(cells[at:i]), f"bold {colour}" if bold[at] else colour))
                at = i
        return runs

    def row(self, ni: int, width: int) -> list[Segment]:
        """The line of node ``ni`` (an index into ``model.tree.nodes``), ``width`` cells."""
        m = self.model
        lay = layout(width)
        r = m.rows[ni]
        error = m.error[r]
        colour = "red" if error else self.colour(m.service[r])
        duration = format_duration(int(m.end[r] - m.start[r]))
        runs: list[Run] = [
            ("✖" if error else " ", ERROR),
            ("◆ " if r in m.on_path else "  ", "bold"),
            *self._label(ni, lay.label),
            (f" {duration:>{DURATION_WIDTH}} ", ERROR if error else "dim"),
            *self._bar(r, lay.bar, colour),
        ]
        return _segments(runs)
