"""The trace list table: one row per trace, formatted like ``pyflare traces``.

It only holds the pages loaded so far (the screen appends the next page when the cursor
gets near the end) and knows how to show the sort column and the trace marked for
comparison; ordering itself is the data layer's job. Columns have fixed widths (every
cell is cut to fit): the layout does not jump as pages arrive, and DataTable's deferred
auto-width pass cannot race a repaint and leave rows drawn at header width.

The widths come from the table's own width (:func:`fit_columns`): columns are taken in
order of priority (the trace id first, the span count last) while they fit, and the
space left widens the root and models columns, whose long values end in an ellipsis. A
resize that changes the fit redraws the loaded rows.
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
from pyflare_cli.render.waterfall_colours import ERROR, service_colour
from pyflare_cli.tui.colours import MODEL
from pyflare_cli.tui.model.data import LIST_COLUMNS, SortKey

Colour = Callable[[str | None], str]

MARK = "mark"
_RIGHT = {"duration", "spans", "errors", "tokens", "cost"}
_ROOT_WIDTH = 38
_MODELS_WIDTH = 30
_WIDTHS = {"start": 14, "duration": 8, "spans": 7, "errors": 7, "tokens": 6, "cost": 9}
_WIDTHS |= {"models": _MODELS_WIDTH, "trace": 12}
PRIORITY = ("trace", "root", "duration", "errors", "start", "cost", "tokens", "models", "spans")
"""Which columns stay when the table is narrow: the first ones."""
_MIN = {"root": 18, "models": 10}
_MAX = {"root": 64, "models": 40}
_PAD = 2
"""DataTable pads every cell with one space on each side."""


def fit_columns(width: int, sorted_by: str = "") -> dict[str, int]:
    """Column widths (display order) for a table ``width`` cells wide.

    Columns join by :data:`PRIORITY` while their widths (the root and models at their
    minimum) fit; what is left goes to the root up to 38 cells, then to the models up to
    30, then to both up to their maximum. The trace id is always there; the sort column
    is at least as wide as its header with the arrow.
    """
    free = width - (1 + _PAD) - 1  # the mark column, and a cell for the scrollbar's edge
    chosen: dict[str, int] = {}
    for key in PRIORITY:
        need = (_MIN[key] if key in _MIN else _WIDTHS[key]) + _PAD
        need = max(need, len(key) + 2 + _PAD) if key == sorted_by else need
        if need > free and chosen:
            break  # a less important column never takes the place of a more important one
        chosen[key] = need - _PAD
        free -= need
    for key, upto in (("root", _ROOT_WIDTH), ("models", _MODELS_WIDTH), ("root", _MAX["root"])):
        if key in chosen and free > 0:
            extra = min(free, upto - chosen[key])
            if extra > 0:
                chosen[key] += extra
                free -= extra
    if "models" in chosen and free > 0:
        chosen["models"] += min(free, _MAX["models"] - chosen["models"])
    return {key: chosen[key] for key in LIST_COLUMNS if key in chosen}


def row_cells(
    row: dict[str, Any], colour: Colour = service_colour, widths: dict[str, int] | None = None
) -> dict[str, Text]:
    """The cells of one trace summary row, by column key."""
    start = row["start_time"]
    service, name = row["root_service"], row["root_name"]
    root = Text(f"{service or '?'}: ", style=colour(service))
    root.append(name or "?")
    widths = widths or (_WIDTHS | {"root": _ROOT_WIDTH})
    errors = int(row["errors"] or 0)
    cells = {
        "start": Text(start.strftime("%m-%d %H:%M:%S") if isinstance(start, datetime) else ""),
        "root": root,
        "duration": Text(format_duration(int(row["duration_ns"] or 0))),
        "spans": Text(f"{row['spans']:,}"),
        "errors": Text(f"✖ {errors:,}", style=ERROR) if errors else Text("0", style="dim"),
        "models": Text(", ".join(row["models"] or []), style=MODEL),
        "tokens": Text(count(row["total_tokens"])),
        "cost": Text(money(row["cost_usd"])),
        "trace": Text(str(row["trace_id"])[:12], style="dim"),
    }
    for key in _RIGHT:
        cells[key].justify = "right"
    for key, width in widths.items():
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
        self.widths: dict[str, int] = {}
        self._rows: list[dict[str, Any]] = []
        """Traces that arrived with the last follow reload (marked ``+``)."""

    def reset(self, sort: SortKey) -> None:
        """Drop all rows and show the headers with ``sort``'s arrow."""
        self.sort_key = sort
        self._rows = []
        self.clear(columns=True)
        self.widths = fit_columns(self.size.width or self.app.size.width, sort.column)
        self.add_column(Text(""), key=MARK, width=1)
        for key, width in self.widths.items():
            label = Text(key, justify="right" if key in _RIGHT else "left")
            if key == sort.column:
                label.append(" ▼" if sort.descending else " ▲", style="bold")
            label.truncate(width, overflow="crop")
            self.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        """Refit the columns; redraw the loaded rows when the fit changed."""
        if not self.widths or fit_columns(self.size.width, self.sort_key.column) == self.widths:
            return
        rows, current, offset = self._rows, self.trace_id, self.cursor_row - self.scroll_y
        self.reset(self.sort_key)
        self._add(rows)
        if current is not None and current in self.rows:
            target = self.get_row_index(current)
            self.move_cursor(row=target, animate=False, scroll=False)
            self.scroll_to(y=max(0.0, target - offset), animate=False, immediate=True)

    def _mark(self, trace_id: str) -> Text:
        if trace_id == self.marked:
            return Text("●", style="bold yellow")
        return Text("+", style="bold green") if trace_id in self.fresh else Text(" ")

    def append(self, rows: pl.DataFrame) -> None:
        self._add(list(rows.iter_rows(named=True)))

    def _add(self, rows: list[dict[str, Any]]) -> None:
        self._rows.extend(rows)
        for row in rows:
            trace_id = str(row["trace_id"])
            cells = row_cells(row, self.colour, self.widths)
            self.add_row(self._mark(trace_id), *(cells[key] for key in self.widths), key=trace_id)

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
        self._rows = []
        self.append(rows)
        target = (
            self.get_row_index(current) if current is not None and current in self.rows else row
        )
        target = max(0, min(target, self.row_count - 1))
        self.move_cursor(row=target, animate=False, scroll=False)
        self.scroll_to(y=max(0.0, top + target - row), animate=False, immediate=True)
        return len(self.fresh)

    @property
    def trace_id(self) -> str | None:
        """The trace under the cursor."""
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def set_marked(self, trace_id: str | None) -> None:
        """Show ``●`` beside the trace marked for comparison (None clears it)."""
        before, self.marked = self.marked, trace_id
        for key in (before, trace_id):
            if key is not None and key in self.rows:
                self.update_cell(key, MARK, self._mark(key))

    def select_trace(self, trace_id: str) -> bool:
        """Move the cursor to ``trace_id`` if it is loaded."""
        if trace_id not in self.rows:
            return False
        self.move_cursor(row=self.get_row_index(trace_id), animate=False)
        return True
