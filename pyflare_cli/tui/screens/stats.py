"""Trace statistics: per service, operation or attribute value, count, total, average,
minimum, maximum and self time, sortable by any column.

The numbers are :func:`~pyflare_cli.tui.model.trace_stats.span_stats` over the waterfall
model's spans and self times (headless, tested); this screen only draws them in a table.
``g`` switches between services and operations, ``a`` groups by a span attribute (with
completion of the trace's attribute keys), ``s``/``S`` or a header click sort.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Footer, Input, Static

from pyflare_cli.render.units import format_duration
from pyflare_cli.tui.model.trace_stats import (
    GROUPINGS,
    STAT_COLUMNS,
    StatsView,
    attribute_keys,
    fit_columns,
    group_keys,
    span_stats,
)
from pyflare_cli.tui.model.waterfall import WaterfallModel

_HEADERS = {
    "count": "count",
    "total_ns": "total",
    "avg_ns": "avg",
    "min_ns": "min",
    "max_ns": "max",
    "self_ns": "self",
    "share": "self %",
    "errors": "errors",
}


def _shown(column: str, value: float | None) -> str:
    if column.endswith("_ns"):
        return format_duration(round(value or 0))
    if column == "share":
        return f"{value or 0:.1%}"
    return f"{value or 0:,}"


def _widest(header: str, values: list[str]) -> int:
    return max([cell_len(header), *(cell_len(v) for v in values)])


def _cut(value: str, width: int) -> Text:
    """``value`` in ``width`` cells, ending in ``…`` when longer (data, so plain text)."""
    text = Text(value)
    text.truncate(width, overflow="ellipsis")
    return text


class StatsScreen(Screen[None]):
    """Statistics of one trace's spans, grouped and sorted as the user asks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("g", "next_group", "Service/operation"),
        Binding("a", "attribute", "Group by attribute"),
        Binding("s", "next_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False),
    ]

    def __init__(self, model: WaterfallModel) -> None:
        super().__init__()
        self.model = model
        self.view = StatsView()
        self.keys = attribute_keys(model.spans)
        self.hidden: list[str] = []
        """Statistics left out because the terminal is too narrow."""

    def compose(self) -> ComposeResult:
        yield Static(id="stats-title", classes="title")
        yield Input(
            placeholder="group by attribute key (enter; empty: operations)",
            suggester=SuggestFromList(self.keys, case_sensitive=False),
            id="stats-attr",
        )
        yield DataTable(id="stats", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stats-attr").display = False
        self._draw()
        self.query_one("#stats").focus()

    def _draw(self) -> None:
        m, view = self.model, self.view
        table = self.query_one("#stats", DataTable)
        frame = span_stats(m.spans, m.self_time(), view)
        keys = group_keys(view.group)
        table.clear(columns=True)
        arrow = " ▼" if view.descending else " ▲"
        rows = [
            ([str(row[k]) for k in keys], [_shown(c, row[c]) for c in STAT_COLUMNS])
            for row in frame.iter_rows(named=True)
        ]
        heads = {c: _HEADERS.get(c, c) + (arrow if view.sort == c else "") for c in keys}
        heads |= {c: _HEADERS[c] + (arrow if view.sort == c else "") for c in STAT_COLUMNS}
        key_cells = [(k, _widest(heads[k], [r[0][i] for r in rows])) for i, k in enumerate(keys)]
        stat_cells = [
            (c, _widest(heads[c], [r[1][i] for r in rows])) for i, c in enumerate(STAT_COLUMNS)
        ]
        key_widths, shown = fit_columns(self.size.width - 2, key_cells, stat_cells)
        self.hidden = [c for c in STAT_COLUMNS if c not in shown]
        for key in keys:
            table.add_column(_cut(heads[key], key_widths[key]), key=key, width=key_widths[key])
        for column in shown:
            table.add_column(Text(heads[column], justify="right"), key=column)
        at = [STAT_COLUMNS.index(c) for c in shown]
        for (values, numbers), row in zip(rows, frame.iter_rows(named=True), strict=True):
            cells = [_cut(v, key_widths[k]) for k, v in zip(keys, values, strict=True)]
            for i in at:
                column = STAT_COLUMNS[i]
                style = "bold red" if column == "errors" and row[column] else ""
                cells.append(Text(numbers[i], justify="right", style=style))
            table.add_row(*cells)
        trace = str(m.spans["trace_id"][0]) if m.spans.height else "?"
        title = Text(f"statistics of trace {trace}", style="bold")
        if self.hidden:  # first, since the title is cut at the right on a narrow screen
            names = ", ".join(_HEADERS[c] for c in self.hidden)
            title.append(f" · {names} hidden (narrow)", style="yellow")
        grouping = view.group.replace("attr:", "attribute ")
        title.append(
            f" · {len(m):,} spans in {frame.height:,} groups by {grouping} · self: minus children",
            style="dim",
        )

        self.query_one("#stats-title", Static).update(title)

    def on_resize(self) -> None:
        self._draw()

    def _set(self, view: StatsView) -> None:
        self.view = view
        self._draw()

    def _columns(self) -> list[str]:
        return [*group_keys(self.view.group), *STAT_COLUMNS]

    def _measure(self) -> str:
        """The sort column when the grouping changes (a key column may not exist there)."""
        return self.view.sort if self.view.sort in STAT_COLUMNS else "self_ns"

    def action_next_group(self) -> None:
        group = self.view.group
        at = GROUPINGS.index(group) + 1 if group in GROUPINGS else 0
        following = GROUPINGS[at % len(GROUPINGS)]
        self._set(StatsView(following, self._measure(), self.view.descending))

    def action_attribute(self) -> None:
        box = self.query_one("#stats-attr", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        key = event.value.strip()
        event.input.display = False
        self.query_one("#stats").focus()
        group = f"attr:{key}" if key else "operation"
        self._set(StatsView(group, self._measure(), self.view.descending))

    def action_next_sort(self) -> None:
        columns = self._columns()
        at = columns.index(self.view.sort) if self.view.sort in columns else -1
        column = columns[(at + 1) % len(columns)]
        self._set(StatsView(self.view.group, column, column in STAT_COLUMNS))

    def action_reverse_sort(self) -> None:
        self._set(StatsView(self.view.group, self.view.sort, not self.view.descending))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = event.column_key.value
        if column is None:
            return
        if column == self.view.sort:
            self.action_reverse_sort()
        else:
            self._set(StatsView(self.view.group, column, column in STAT_COLUMNS))

    def action_back(self) -> None:
        box = self.query_one("#stats-attr", Input)
        if box.has_focus:
            box.display = False
            self.query_one("#stats").focus()
            return
        self.dismiss()
