"""The terminal waterfall of one trace, and the table of where its time goes.

`pyflare trace show` prints :class:`Waterfall`; the TUI asks it for single rows
(:meth:`Waterfall.row`) so that it only draws what is on screen. Every mark has a glyph as
well as a colour, because output piped to a file or a CI log has no colour:
``✖`` error, ``◆`` on the critical path, ``█`` critical time on a bar, ``•`` span event,
``[orphan]`` parent missing.
"""

from __future__ import annotations

import math
import re
import zlib
from functools import lru_cache

import polars as pl
from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Span, Text

from pyflare_cli.analysis.traces.tree import (
    CriticalPath,
    TraceTree,
    build_tree,
    find_critical_path,
    span_intervals,
)
from pyflare_cli.render.units import format_duration, format_tokens

__all__ = ["Waterfall", "format_duration", "format_tokens", "render_breakdown", "service_colour"]

PALETTE = (
    "cyan",
    "green",
    "yellow",
    "blue",
    "magenta",
    "bright_cyan",
    "bright_green",
    "bright_blue",
    "bright_magenta",
    "dark_orange",
    "orchid",
    "steel_blue1",
)
ERROR = "bold red"
BAR, CRITICAL, EVENT = "━", "█", "•"
DURATION_WIDTH = 8
MARK_WIDTH = 3
LEGEND = (
    ("error", "✖ error"),
    ("path", "◆ critical path  █ critical time  ━ span"),
    ("event", "• event"),
    ("orphan", "[orphan] parent missing"),
    ("dup", "[dup] duplicate span id"),
)
_BOLD_RUN = re.compile(rb"\x01+")
_CONTROL = {i: " " for i in (*range(32), 127)}


def _clean(value: object) -> str:
    """User text made safe for one terminal line (no newlines or escape codes)."""
    if value is None:
        return ""
    text = str(value)
    return text if text.isprintable() else text.translate(_CONTROL)


@lru_cache(maxsize=1024)
def service_colour(service: str | None) -> str:
    """A colour per service name, the same in every run (never red: red means error)."""
    if not service:
        return "white"
    return PALETTE[zlib.crc32(service.encode()) % len(PALETTE)]


def _ticks(total_ns: int, bar_width: int) -> list[tuple[int, str]]:
    """(cell, label) pairs of a 1-2-2.5-5 ruler over ``total_ns`` spread across the bar."""
    raw = max(1.0, total_ns / max(2, bar_width // 12))
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    unit, scale = next(
        ((u, s) for u, s in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)) if total_ns >= 2 * s),
        ("ns", 1.0),
    )
    ticks: list[tuple[int, str]] = []
    free = 0
    for k in range(int(total_ns // step) + 1):
        cell = round(k * step / total_ns * bar_width)
        label = f"{k * step / scale:.3f}".rstrip("0").rstrip(".") + unit
        if cell >= free and cell + len(label) <= bar_width:
            ticks.append((cell, label))
            free = cell + len(label) + 1
    return ticks


class Waterfall:
    """A Rich renderable: one row per span in tree order, bars on a shared time ruler."""

    def __init__(
        self,
        spans: pl.DataFrame,
        *,
        tree: TraceTree | None = None,
        critical: CriticalPath | None = None,
        max_rows: int | None = None,
        width: int | None = None,
        legend: bool = True,
    ) -> None:
        self.tree = tree if tree is not None else build_tree(spans)
        self.critical = critical if critical is not None else find_critical_path(self.tree, spans)
        self.max_rows = max_rows
        self.width = width
        self.legend = legend
        self._start, self._end = span_intervals(spans)
        self._t0 = int(self._start.min()) if spans.height else 0
        self._total = max(1, int(self._end.max()) - self._t0) if spans.height else 1

        def column(name: str) -> list[object]:
            return spans[name].to_list() if name in spans.columns else [None] * spans.height

        self._service = column("service_name")
        self._name = column("name")
        self._model = column("model")
        self._tokens_in = column("input_tokens")
        self._tokens_out = column("output_tokens")
        self._error = [isinstance(s, str) and s.lower() == "error" for s in column("status_code")]
        self._events: list[list[int] | None] = (
            spans.select(
                pl.col("events").list.eval(pl.element().struct.field("time").dt.epoch("ns"))
            )
            .to_series()
            .to_list()
            if "events" in spans.columns
            else [None] * spans.height
        )
        self._on_path = set(self.critical.rows)
        self._segments: dict[int, list[tuple[int, int]]] = {}
        for seg in self.critical.segments:
            self._segments.setdefault(seg.row, []).append((seg.start_ns, seg.end_ns))
        self._guides: dict[int, list[str]] = {}
        self._present = {
            "error": any(self._error),
            "path": bool(self.tree.nodes),
            "event": any(self._events),
            "orphan": any(node.is_orphan for node in self.tree.nodes),
            "dup": any(node.is_duplicate for node in self.tree.nodes),
        }

    @property
    def shown(self) -> int:
        """How many span rows are drawn (``max_rows`` caps it)."""
        n = len(self.tree.nodes)
        return n if self.max_rows is None else max(0, min(n, self.max_rows))

    def _layout(self, width: int) -> tuple[int, int]:
        """Cells for the label and for the bar at this total width."""
        fixed = MARK_WIDTH + DURATION_WIDTH + 2
        label = max(16, min(60, (width - fixed) * 2 // 5))
        bar = max(8, width - fixed - label)
        return max(8, width - fixed - bar), bar

    def _guide(self, node_index: int, label_width: int) -> str:
        """Tree guide (``│ ├─ └─``); deep trees keep only the innermost levels, after ``…``."""
        keep = max(2, label_width // 3) & ~1
        if keep not in self._guides:
            nodes = self.tree.nodes
            cont = [""] * len(nodes)
            guides = [""] * len(nodes)
            for ni, node in enumerate(nodes):
                if node.parent is None:
                    continue
                last = nodes[node.parent].children[-1] == ni
                base = cont[node.parent]
                guides[ni] = base + ("└─" if last else "├─")
                cont[ni] = (base + ("  " if last else "│ "))[-keep:]
            self._guides[keep] = guides
        guide = self._guides[keep][node_index]
        return "…" + guide[-(keep - 1) :] if len(guide) > keep else guide

    def header(self, width: int) -> list[Text]:
        """The ruler: tick labels, then tick marks, aligned with the bars."""
        label_width, bar_width = self._layout(width)
        lead = Text(" " * MARK_WIDTH + "span".ljust(label_width) + " ", style="bold")
        lead.append("duration".rjust(DURATION_WIDTH) + " ")
        labels = [" "] * bar_width
        rule = ["─"] * bar_width
        for cell, label in _ticks(self._total, bar_width):
            labels[cell : cell + len(label)] = label
            rule[cell] = "┬" if cell < bar_width - 1 else "┐"
        rule[0] = "┌" if rule[0] == "─" else rule[0]
        top = lead + Text("".join(labels), style="bold")
        bottom = Text(" " * (width - bar_width)) + Text("".join(rule), style="dim")
        return [top, bottom]

    def _cells(self, start_ns: int, end_ns: int, bar_width: int) -> tuple[int, int]:
        scale = bar_width / self._total
        c0 = min(bar_width - 1, max(0, int((start_ns - self._t0) * scale + 0.5)))
        c1 = min(bar_width, max(c0 + 1, int((end_ns - self._t0) * scale + 0.5)))
        return c0, c1

    def _label(self, node_index: int, width: int) -> list[tuple[str, str]]:
        """Guide, flags, service, name and model/tokens, cut or padded to ``width`` cells."""
        node = self.tree.nodes[node_index]
        r = node.row
        service = _clean(self._service[r])
        runs = [(self._guide(node_index, width), "dim")]
        if node.is_orphan:
            runs.append(("[orphan] ", "yellow"))
        if node.is_duplicate:
            runs.append(("[dup] ", "yellow"))
        runs.append((f"{service or '?'} ", service_colour(service)))
        name_style = ERROR if self._error[r] else "bold" if r in self._on_path else ""
        runs.append((_clean(self._name[r]) or "?", name_style))
        model, t_in, t_out = self._model[r], self._tokens_in[r], self._tokens_out[r]
        if model is not None or t_in is not None or t_out is not None:
            runs.append((f" {_clean(model) or '?'}", "magenta"))
            if t_in is not None or t_out is not None:
                tokens = (format_tokens(t) if isinstance(t, int) else "?" for t in (t_in, t_out))
                runs.append((" " + "→".join(tokens), "dim"))
        total = sum(cell_len(text) for text, _ in runs)
        if total <= width:
            return [*runs, (" " * (width - total), "")]
        fitted: list[tuple[str, str]] = []
        room = width - 1
        for text, style in runs:
            cells = cell_len(text)
            if cells >= room:
                fitted.append((set_cell_size(text, room) + "…", style))
                break
            fitted.append((text, style))
            room -= cells
        return fitted

    def _runs(self, node_index: int, width: int) -> list[tuple[str, str]]:
        """The line of one span as (text, style) pieces exactly ``width`` cells wide."""
        label_width, bar_width = self._layout(width)
        r = self.tree.nodes[node_index].row
        error = self._error[r]
        service = self._service[r]
        colour = "red" if error else service_colour(service if isinstance(service, str) else None)
        duration = format_duration(int(self._end[r] - self._start[r]))
        runs = [
            ("✖" if error else " ", ERROR),
            ("◆ " if r in self._on_path else "  ", "bold"),
            *self._label(node_index, label_width),
            (f" {duration:>{DURATION_WIDTH}} ", ERROR if error else "dim"),
        ]

        c0, c1 = self._cells(int(self._start[r]), int(self._end[r]), bar_width)
        bar = [" "] * bar_width
        bar[c0:c1] = BAR * (c1 - c0)
        bold = bytearray(bar_width)
        for s, e in self._segments.get(r, ()):
            a, b = self._cells(s, e, bar_width)
            bar[a:b] = CRITICAL * (b - a)
            bold[a:b] = b"\x01" * (b - a)
        for t in self._events[r] or ():
            if t is not None:
                cell = min(bar_width - 1, max(0, int((t - self._t0) * bar_width / self._total)))
                bar[cell] = EVENT
                bold[cell] = 1
        plain = "".join(bar)
        at = 0
        for match in _BOLD_RUN.finditer(bold):
            runs.append((plain[at : match.start()], colour))
            runs.append((plain[match.start() : match.end()], f"bold {colour}"))
            at = match.end()
        runs.append((plain[at:], colour))
        return runs

    def row(self, node_index: int, width: int) -> Text:
        """The line of one span (``node_index`` into ``tree.nodes``) at this total width."""
        runs = self._runs(node_index, width)
        spans: list[Span] = []
        at = 0
        for text, style in runs:
            if style and text:
                spans.append(Span(at, at + len(text), style))
            at += len(text)
        plain = "".join(text for text, _ in runs)
        return Text(plain, no_wrap=True, overflow="crop", end="", spans=spans)

    def row_segments(self, node_index: int, width: int) -> list[Segment]:
        """:meth:`row` as Rich segments, the cheap form for a line-by-line TUI widget."""
        parse = Style.parse
        return [
            Segment(text, parse(style)) for text, style in self._runs(node_index, width) if text
        ]

    def footer(self) -> list[Text]:
        """The truncation notice and the legend of the marks that occur."""
        lines: list[Text] = []
        total, shown = len(self.tree.nodes), self.shown
        if total > shown:
            more = f"… {total - shown:,} more spans ({shown:,} of {total:,} shown)"
            lines.append(Text(more, style="dim"))
        if self.legend:
            keys = "  ".join(text for key, text in LEGEND if self._present[key])
            if keys:
                lines.append(Text(keys, style="dim"))
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = min(self.width or options.max_width, options.max_width)
        for line in self.header(width):
            line.truncate(width)
            yield from line.render(console)
            yield Segment.line()
        for ni in range(self.shown):
            yield from self.row_segments(ni, width)
            yield Segment.line()
        for notice in self.footer():
            yield from console.render(notice, options.update_width(width))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = min(self.width or options.max_width, options.max_width)
        return Measurement(min(width, 40), width)


def _share_bar(share: float, width: int = 10) -> str:
    """A bar of ``share`` (0..1) in eighth blocks, for sub-cell precision."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[part]).ljust(width)


def render_breakdown(frame: pl.DataFrame, *, title: str | None = None) -> Table:
    """The table of :func:`~pyflare_cli.analysis.traces.tree.breakdown` (service or operation).

    Names give way (with an ellipsis) on narrow consoles; the numbers never do.
    """
    by_operation = "name" in frame.columns
    names: list[list[Text]] = []
    numbers: list[list[Text]] = []
    for row in frame.iter_rows(named=True):
        service = row["service_name"]
        names.append([Text(_clean(service) or "?", style=service_colour(service))])
        if by_operation:
            names[-1].append(Text(_clean(row["name"]) or "?"))
        share = float(row["share"] or 0.0)
        errors = int(row["errors"] or 0)
        numbers.append(
            [
                Text(f"{row['count']:,}"),
                Text(format_duration(int(row["total_ns"] or 0))),
                Text(format_duration(int(row["self_ns"] or 0))),
                Text(f"{share * 100:.1f}%"),
                Text(f"✖ {errors:,}", style=ERROR) if errors else Text("0", style="dim"),
                Text(_share_bar(share), style="cyan"),
            ]
        )

    table = Table(title=title, title_justify="left", box=None, header_style="bold")
    table.add_column("service", no_wrap=True, overflow="ellipsis", min_width=7)
    if by_operation:
        table.add_column("operation", no_wrap=True, overflow="ellipsis", min_width=9)
    for i, heading in enumerate(("spans", "total", "self", "share", "errors")):
        widest = max((cells[i].cell_len for cells in numbers), default=0)
        table.add_column(
            heading, justify="right", no_wrap=True, min_width=max(len(heading), widest)
        )
    table.add_column("", no_wrap=True, overflow="crop")
    for name_cells, number_cells in zip(names, numbers, strict=True):
        table.add_row(*name_cells, *number_cells)
    return table
