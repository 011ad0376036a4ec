"""The trace list table: one row per trace, formatted like ``pyflare traces``.

It only holds the pages loaded so far (the screen appends the next page when the cursor
gets near the end) and knows how to show the sort column and the trace marked for
comparison; ordering itself is the data layer's job. Columns have fixed widths (every
cell is cut to fit): the layout does not jump as pages arrive, and DataTable's deferred
auto-width pass cannot race a repaint and leave rows drawn at header width.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import polars as pl
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from pyflare_cli.render.units import count, format_duration, money
from pyflare_cli.render.waterfall import ERROR, service_colour
from pyflare_cli.tui.colours import MODEL
from pyflare_cli.tui.model.data import LIST_COLUMNS, SortKey

Colour = Callable[[str | None], str]

MARK = "mark"
_RIGHT = {"duration", "spans", "errors", "tokens", "cost"}
_ROOT_WIDTH = 38
_NARROW_ROOT_WIDTH = 24
"""Below 100 columns the root gives way so that duration, spans and errors stay visible."""
_MODELS_WIDTH = 30
_WIDTHS = {"start": 14, "duration": 8, "spans": 7, "errors": 7, "tokens": 6, "cost": 9}
_WIDTHS |= {"models": _MODELS_WIDTH, "trace": 12}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def row_cells(
    row: dict[str, Any], colour: Colour = service_colour, root_width: int = _ROOT_WIDTH
) -> dict[str, Text]:
    """The cells of one trace summary row, by column key."""
    start = row["start_time"]
    service, name = row["root_service"], row["root_name"]
    root = Text(f"{service or '?'}: ", style=colour(service))
    root.append(name or "?")
    root.truncate(root_width, overflow="ellipsis")
    errors = int(row["errors"] or 0)
    cells = {
        "start": Text(start.strftime("%m-%d %H:%M:%S") if isinstance(start, datetime) else ""),
        "root": root,
        "duration": Text(format_duration(int(row["duration_ns"] or 0))),
        "spans": Text(f"{row['spans']:,}"),
        "errors": Text(f"✖ {errors:,}", style=ERROR) if errors else Text("0", style="dim"),
        "models": Text(_cut(", ".join(row["models"] or []), _MODELS_WIDTH), style=MODEL),
        "tokens": Text(count(row["total_tokens"])),
        "cost": Text(money(row["cost_usd"])),
        "trace": Text(str(row["trace_id"])[:12], style="dim"),
    }
    for key in _RIGHT:
        cells[key].justify = "right"
    for key, width in _WIDTHS.items():
        cells[key].truncate(width, overflow="ellipsis")
    return cells


class TraceTable(DataTable[Text]):
    """Rows keyed by trace id; ``j``/``k`` and ``g``/``G`` as well as the arrows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First trace", show=False),
        Binding("G", "scroll_bottom", "Last loaded trace", show=False),
    ]

    def __init__(self, *, colour: Colour = service_colour, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.colour = colour
        self.sort_key = SortKey()
        self.marked: str | None = None
        self.fresh: set[str] = set()
        """Traces that arrived with the last follow reload (marked ``+``)."""

    def reset(self, sort: SortKey) -> None:
        """Drop all rows and show the headers with ``sort``'s arrow."""
        self.sort_key = sort
        self.clear(columns=True)
        self.add_column(Text(""), key=MARK, width=1)
        widths = _WIDTHS | {"root": self.root_width}
        for key in LIST_COLUMNS:
            label = Text(key, justify="right" if key in _RIGHT else "left")
            if key == sort.column:
                label.append(" ▼" if sort.descending else " ▲", style="bold")
            self.add_column(label, key=key, width=max(widths[key], label.cell_len))

    def _mark(self, trace_id: str) -> Text:
        if trace_id == self.marked:
            return Text("●", style="bold yellow")
        return Text("+", style="bold green") if trace_id in self.fresh else Text(" ")

    def append(self, rows: pl.DataFrame) -> None:
        for row in rows.iter_rows(named=True):
            trace_id = str(row["trace_id"])
            cells = row_cells(row, self.colour, self.root_width)
            self.add_row(self._mark(trace_id), *(cells[key] for key in LIST_COLUMNS), key=trace_id)

    def loaded_ids(self) -> list[str]:
        return [str(key.value) for key in self.rows]

    def replace(self, rows: pl.DataFrame, *, fresh: bool, previous: set[str]) -> int:
        """Show ``rows`` instead of the loaded ones; the cursor's trace keeps its place on
        screen (or the cursor its row, when that trace is gone). With ``fresh``, rows not in
        ``previous`` are marked new. The number of new rows."""
        current, row, top = self.trace_id, self.cursor_row, self.scroll_y
        ids = [str(i) for i in rows.get_column("trace_id").to_list()]
        self.fresh = {i for i in ids if i not in previous} if fresh else set()
        self.clear()
        self.append(rows)
        target = (
            self.get_row_index(current) if current is not None and current in self.rows else row
        )
        target = max(0, min(target, self.row_count - 1))
        self.move_cursor(row=target, animate=False, scroll=False)
        self.scroll_to(y=max(0.0, top + target - row), animate=False, immediate=True)
        return len(self.fresh)

    @property
    def root_width(self) -> int:
        return _NARROW_ROOT_WIDTH if self.app.size.width < 100 else _ROOT_WIDTH

    @property
    def trace_id(self) -> str | None:
        """The trace under the cursor."""
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def set_marked(self, trace_id: str | None) -> None:
        """Show ``●`` beside the trace marked for comparison (None clears it)."""
        for key in (self.marked, trace_id):
            if key is not None and key in self.rows:
                mark = "●" if key == trace_id else " "
                self.update_cell(key, MARK, Text(mark, style="bold yellow"))
        self.marked = trace_id

    def select_trace(self, trace_id: str) -> bool:
        """Move the cursor to ``trace_id`` if it is loaded."""
        if trace_id not in self.rows:
            return False
        self.move_cursor(row=self.get_row_index(trace_id), animate=False)
        return True
