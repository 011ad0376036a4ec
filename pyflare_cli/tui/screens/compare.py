"""Two traces side by side, differences marked; the highlighted span's changes below.

Each side draws its spans on its own time scale (offset and length within its trace), so a
step that got slower, or a retry that appears in only one trace, stands out at a glance.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from pyflare_cli.errors import PyflareError
from pyflare_cli.render.units import format_duration
from pyflare_cli.render.waterfall import ERROR
from pyflare_cli.tui.colours import MODEL
from pyflare_cli.tui.messages import OpenTrace
from pyflare_cli.tui.model.diff import DiffRow, Side, TraceDiff, compare_traces
from pyflare_cli.tui.screens.base import PyflareScreen

BAR_WIDTH = 12
LABEL_WIDTH = 40
NOTE_WIDTH = 18
"""The difference column keeps room for ``slower in A 12.3x`` at any width."""


def fit(width: int) -> tuple[int, int]:
    """(label width, bar width) for a table ``width`` cells wide: the difference column
    keeps its room, the bars take up to 24 cells and at least 6, the labels the rest."""
    free = width - 2 * 4 - 1 - NOTE_WIDTH  # cell padding of four columns, scrollbar edge
    bar = max(6, min(24, (free - 40) // 2 - 8))
    label = max(12, min(60, free - 2 * (bar + 8)))
    return label, bar


_NOTES = {
    "only_a": ("only in A", "bold yellow"),
    "only_b": ("only in B", "bold cyan"),
    "slower_a": ("slower in A", "bold red"),
    "slower_b": ("slower in B", "bold red"),
}


def side_cell(side: Side | None, total_ns: int, width: int = BAR_WIDTH) -> Text:
    """``1.23s ▏ ━━━━    ▕`` for one side, or a dim dash when the span is missing."""
    if side is None:
        return Text("—".rjust(7) + " " + " " * width, style="dim")
    scale = width / max(1, total_ns)
    c0 = min(width - 1, int(side.offset_ns * scale))
    c1 = min(width, max(c0 + 1, round((side.offset_ns + side.duration_ns) * scale)))
    bar = " " * c0 + "━" * (c1 - c0) + " " * (width - c1)
    text = Text(f"{format_duration(side.duration_ns):>7} ", style=ERROR if side.error else "")
    text.append(bar, style="red" if side.error else "cyan")
    return text


def note_cell(row: DiffRow) -> Text:
    kind = row.kind
    text = Text()
    if kind in _NOTES:
        label, style = _NOTES[kind]
        text.append(label, style=style)
        if row.ratio is not None:
            ratio = row.ratio if kind == "slower_b" else 1 / max(row.ratio, 1e-9)
            text.append(f" {ratio:.1f}x", style=style)
    if row.changes:
        text.append(("  " if text else "") + f"{len(row.changes)} changed", style=MODEL)
    return text


class CompareScreen(PyflareScreen[None]):
    """Traces ``first`` (A) and ``second`` (B) aligned span by span."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("a", "open('a')", "Open A"),
        Binding("b", "open('b')", "Open B"),
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
    ]

    def __init__(self, first: str, second: str) -> None:
        super().__init__()
        self.first = first
        self.second = second
        self.diff: TraceDiff | None = None

    def compose(self) -> ComposeResult:
        waiting = f"comparing {self.first[:12]} (A) with {self.second[:12]} (B)…"
        yield Static(Text(waiting), id="cmp-title", classes="title")
        yield DataTable(id="cmp-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="cmp-changes"):
            yield Static(id="cmp-detail")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, group="compare")
    def _load(self) -> None:
        source = self.pyflare.source
        try:
            self.pyflare.prime_colours()
            a, b = source.trace(self.first), source.trace(self.second)
            diff = compare_traces(a, b)
        except Exception as exc:  # shown in the app, never as a traceback
            text = exc.message if isinstance(exc, PyflareError) else f"{type(exc).__name__}: {exc}"
            self.app.call_from_thread(self._failed, text)
            return
        self.app.call_from_thread(self._show, diff)

    def _failed(self, text: str) -> None:
        self.query_one("#cmp-title", Static).update(Text(f"✖ {text}", style="red"))

    def _show(self, diff: TraceDiff) -> None:
        self.diff = diff
        title = Text("A ", style="bold yellow")
        title.append(f"{self.first[:12]} {format_duration(diff.a_total_ns)}  ")
        title.append("B ", style="bold cyan")
        title.append(f"{self.second[:12]} {format_duration(diff.b_total_ns)}  ")
        summary = (
            f"· {diff.count('only_a')} only in A · {diff.count('only_b')} only in B · "
            f"{diff.count('slower_a') + diff.count('slower_b')} much slower · "
            f"{diff.changed} with changed values"
        )
        title.append(summary, style="dim")
        self.query_one("#cmp-title", Static).update(title)
        table = self.query_one(DataTable)
        # Fixed widths: DataTable's deferred auto-width pass can race the first paint.
        label_width, bar = fit(table.size.width or self.app.size.width)
        table.add_column("span", key="span", width=label_width)
        table.add_column(Text("A", style="bold yellow"), key="a", width=bar + 8)
        table.add_column(Text("B", style="bold cyan"), key="b", width=bar + 8)
        table.add_column("difference", key="note", width=NOTE_WIDTH)
        for i, row in enumerate(diff.rows):
            label = Text("  " * row.depth)
            label.append(f"{row.service}: ", style=self.pyflare.colours(row.service))
            label.append(row.name)
            label.truncate(label_width, overflow="ellipsis")
            table.add_row(
                label,
                side_cell(row.a, diff.a_total_ns, bar),
                side_cell(row.b, diff.b_total_ns, bar),
                note_cell(row),
                key=str(i),
            )
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.diff is None or event.row_key.value is None:
            return
        row = self.diff.rows[int(event.row_key.value)]
        text = Text(f"{row.service}: {row.name}", style="bold")
        if row.kind != "same":
            text.append(f"  {note_cell(row)}")
        if not row.changes:
            text.append("\nno differing attributes" if row.a and row.b else "", style="dim")
        for key, a, b in row.changes:
            text.append(f"\n{key}: ", style="bold cyan")
            text.append("∅" if a is None else a, style="yellow")
            text.append("  →  ", style="dim")
            text.append("∅" if b is None else b, style="cyan")
        self.query_one("#cmp-detail", Static).update(text)

    def action_open(self, which: str) -> None:
        """Open trace A or B at the span under the cursor (when it has one there)."""
        table = self.query_one(DataTable)
        span_id: str | None = None
        if self.diff is not None and table.row_count:
            row = self.diff.rows[table.cursor_row]
            side = row.a if which == "a" else row.b
            span_id = side.span_id if side is not None else None
        self.post_message(OpenTrace(self.first if which == "a" else self.second, span_id))

    def action_cursor(self, direction: str) -> None:
        table = self.query_one(DataTable)
        if direction == "down":
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_back(self) -> None:
        self.dismiss()
