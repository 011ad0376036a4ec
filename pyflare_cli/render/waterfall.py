"""The terminal waterfall of one trace, and the table of where its time goes.

`pyflare trace show` prints :class:`Waterfall`. The TUI draws its rows one at a time with
the same pieces (:func:`ruler`, :func:`row_runs`, :func:`fit`) over the same geometry
(:mod:`pyflare_cli.render.waterfall_geometry`), adding zoom and folding. Every mark has a
glyph as well as a colour, because output piped to a file or a CI log has no colour:
``✖`` error, ``◆`` on the critical path, ``█`` critical time on a bar, ``•`` span event,
``[orphan]`` parent missing.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import polars as pl
from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Span, Text

from pyflare_cli.analysis.traces.tree import CriticalPath, TraceTree
from pyflare_cli.render.units import format_duration, format_tokens
from pyflare_cli.render.waterfall_colours import ERROR, PALETTE, service_colour
from pyflare_cli.render.waterfall_geometry import (
    DURATION_WIDTH,
    MARK_WIDTH,
    Layout,
    TraceColumns,
    bar,
    clean,
    layout,
    ticks,
)

__all__ = [
    "ERROR",
    "PALETTE",
    "Waterfall",
    "format_duration",
    "format_tokens",
    "render_breakdown",
    "service_colour",
]

LABEL_SHARE = Fraction(2, 5)
"""The printed waterfall's labels take 2/5 of the free width (the TUI's, denser, 1/2)."""
TICK_SPACING = 12
"""About one ruler tick every 12 cells (the TUI's, 10)."""
LEGEND = (
    ("error", "✖ error"),
    ("path", "◆ critical path  █ critical time  ━ span"),
    ("event", "• event"),
    ("orphan", "[orphan] parent missing"),
    ("dup", "[dup] duplicate span id"),
)

Run = tuple[str, str]
"""A piece of a line: text and a Rich style."""


def fit(runs: list[Run], width: int) -> list[Run]:
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


def tokens_text(tokens_in: object, tokens_out: object) -> str | None:
    """``1.2k→340`` (``?`` for a missing side), or None when both are missing."""
    if tokens_in is None and tokens_out is None:
        return None
    return "→".join(
        format_tokens(t) if isinstance(t, int) else "?" for t in (tokens_in, tokens_out)
    )


def ruler(lay: Layout, start_ns: int, end_ns: int, spacing: int) -> list[list[Run]]:
    """The two ruler lines over [start_ns, end_ns] (relative to the trace): column titles
    and tick labels, then tick marks aligned with the bars."""
    labels = [" "] * lay.bar
    rule = ["─"] * lay.bar
    for cell, label in ticks(start_ns, end_ns, lay.bar, spacing):
        labels[cell : cell + len(label)] = label
        rule[cell] = "┬"
    lead = " " * MARK_WIDTH + "span".ljust(lay.label) + " " + "duration".rjust(DURATION_WIDTH)
    top = [(lead + " ", "bold"), ("".join(labels), "bold")]
    bottom = [(" " * lay.bar_start, ""), ("".join(rule), "dim")]
    return [top, bottom]


def row_runs(
    columns: TraceColumns,
    ni: int,
    lay: Layout,
    label: list[Run],
    window: tuple[int, int],
    colour: Callable[[str | None], str],
) -> list[Run]:
    """The line of node ``ni``: marks, ``label`` (``lay.label`` cells), duration and the bar
    of ``window``, coloured by service (``colour``) or red for an error."""
    r = columns.rows[ni]
    error = columns.error[r]
    tint = "red" if error else colour(columns.service[r])
    start, end = int(columns.start[r]), int(columns.end[r])
    drawn = bar(start, end, window, lay.bar, columns.segments.get(r, []), columns.events[r])
    return [
        ("✖" if error else " ", ERROR),
        ("◆ " if r in columns.on_path else "  ", "bold"),
        *label,
        (f" {format_duration(end - start):>{DURATION_WIDTH}} ", ERROR if error else "dim"),
        *((text, f"bold {tint}" if strong else tint) for text, strong in drawn),
    ]


def segments(runs: list[Run]) -> list[Segment]:
    """Runs as Rich segments, the cheap form for a line-by-line widget."""
    parse = Style.parse
    return [Segment(text, parse(style)) for text, style in runs if text]


def text(runs: list[Run]) -> Text:
    """Runs as one line of Rich text."""
    spans: list[Span] = []
    at = 0
    for piece, style in runs:
        if style and piece:
            spans.append(Span(at, at + len(piece), style))
        at += len(piece)
    plain = "".join(piece for piece, _ in runs)
    return Text(plain, no_wrap=True, overflow="crop", end="", spans=spans)


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
        self.columns = columns = TraceColumns(spans, tree=tree, critical=critical)
        self.tree = columns.tree
        self.critical = columns.path
        self.max_rows = max_rows
        self.width = width
        self.legend = legend
        self._window = t0, t1 = columns.t0, columns.t1
        if any(not t0 <= t <= t1 for times in columns.events for t in times):
            # Printed, every event shows: one outside the trace's time sits at the bar's edge.
            columns.events = [[min(max(t, t0), t1) for t in times] for times in columns.events]
        self._present = {
            "error": any(columns.error),
            "path": bool(self.tree.nodes),
            "event": any(columns.events),
            "orphan": any(node.is_orphan for node in self.tree.nodes),
            "dup": any(node.is_duplicate for node in self.tree.nodes),
        }

    @property
    def shown(self) -> int:
        """How many span rows are drawn (``max_rows`` caps it)."""
        n = len(self.tree.nodes)
        return n if self.max_rows is None else max(0, min(n, self.max_rows))

    def header(self, width: int) -> list[Text]:
        """The ruler: tick labels, then tick marks, aligned with the bars."""
        total = self.columns.t1 - self.columns.t0
        return [text(line) for line in ruler(layout(width, LABEL_SHARE), 0, total, TICK_SPACING)]

    def _label(self, ni: int, width: int) -> list[Run]:
        """Guide, flags, service, name and model/tokens, cut or padded to ``width`` cells."""
        c = self.columns
        node = self.tree.nodes[ni]
        r = node.row
        service = clean(c.service[r])
        runs = [(c.guide(ni, max(1, width // 6)), "dim")]
        if node.is_orphan:
            runs.append(("[orphan] ", "yellow"))
        if node.is_duplicate:
            runs.append(("[dup] ", "yellow"))
        runs.append((f"{service or '?'} ", service_colour(service)))
        name_style = ERROR if c.error[r] else "bold" if r in c.on_path else ""
        runs.append((clean(c.name[r]) or "?", name_style))
        model, tokens = c.model[r], tokens_text(c.input_tokens[r], c.output_tokens[r])
        if model is not None or tokens is not None:
            runs.append((f" {clean(model) or '?'}", "magenta"))
            if tokens is not None:
                runs.append((" " + tokens, "dim"))
        return fit(runs, width)

    def _runs(self, ni: int, width: int) -> list[Run]:
        """The line of one span as (text, style) pieces exactly ``width`` cells wide."""
        lay = layout(width, LABEL_SHARE)
        label = self._label(ni, lay.label)
        return row_runs(self.columns, ni, lay, label, self._window, service_colour)

    def row(self, node_index: int, width: int) -> Text:
        """The line of one span (``node_index`` into ``tree.nodes``) at this total width."""
        return text(self._runs(node_index, width))

    def row_segments(self, node_index: int, width: int) -> list[Segment]:
        """:meth:`row` as Rich segments, the cheap form for a line-by-line TUI widget."""
        return segments(self._runs(node_index, width))

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
        names.append([Text(clean(service) or "?", style=service_colour(service))])
        if by_operation:
            names[-1].append(Text(clean(row["name"]) or "?"))
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
