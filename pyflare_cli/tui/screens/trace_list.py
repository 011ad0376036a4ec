"""The first screen: the trace list with its search bar, facets, sorting and live refresh.

Loading happens in worker threads, page by page (the next page when the cursor nears the
end), so the screen paints at once and stays responsive on a store of a million spans.
A generation counter drops results that arrive after the query or sort changed. Facet
counts load after the first page, so that they never delay it.

With ``--follow`` the screen checks the store's part list every tick (a few ``stat``
calls) and reloads only when it changed: then the rows already loaded are replaced in one
go by as many rows of the new ranking, the cursor stays on its trace at the same place on
screen, new traces are marked ``+``, and facets are counted again. An unchanged store
costs no scan, no repaint and no "loading…".
"""

from __future__ import annotations

from typing import ClassVar

import polars as pl
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from pyflare_cli.errors import PyflareError
from pyflare_cli.tui.messages import CompareTraces, OpenTrace
from pyflare_cli.tui.model.data import LIST_COLUMNS, Facets, SortKey, TracePage
from pyflare_cli.tui.screens.list_panes import ListPanes
from pyflare_cli.tui.screens.picker import QueryPicker
from pyflare_cli.tui.widgets.facets import FacetList, toggle_term
from pyflare_cli.tui.widgets.query_bar import QueryBar
from pyflare_cli.tui.widgets.scatter import TraceScatter
from pyflare_cli.tui.widgets.trace_table import MARK, TraceTable

PAGE_SIZE = 200
PREFETCH = 20
ALL_ROWS = 1 << 40
"""Load the next page when the cursor is this close to the last loaded row."""
ASCENDING_FIRST = {"root", "models", "trace"}
"""Columns whose first click sorts A to Z; the others start largest (or latest) first."""
SEARCH_PLACEHOLDER = "all traces · / to search, e.g.  status:error  duration:>1s  model:gpt-4o*"
"""Shown (dimmed) while the query is empty: it says nothing is filtered, then how to."""


class TraceListScreen(ListPanes):
    """Traces of the store matching the query, newest first unless sorted otherwise."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", key_display="/"),
        Binding("escape", "leave_search", "Back to list", show=False),
        Binding("s", "next_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False),
        Binding("tab", "switch_pane", "Facets", key_display="tab"),
        Binding("f", "toggle_facets", "Show/hide facets", show=False),
        Binding("d", "toggle_scatter", "Graph"),
        Binding("D", "focus_scatter", "Select in graph", show=False),
        Binding("h", "pick_query", "History"),
        Binding("c", "compare", "Compare"),
        Binding("r", "refresh", "Reload", show=False),
        Binding("p", "pause", "Pause/resume live", show=False),
    ]

    def __init__(self, query: str) -> None:
        super().__init__()
        self.query_text = query
        self.sort = SortKey()
        self.total = 0
        self.busy = False
        self.paused = False
        self.generation = 0
        self.facets: Facets | None = None
        self._keep: str | None = None
        self._timer: Timer | None = None
        self._fingerprint: object = None
        self.reloads = 0
        """How many times the list was (re)loaded from the store: a follow test counts it."""
        self.new_traces = 0

    def compose(self) -> ComposeResult:
        yield Static(id="list-title", classes="title")
        yield QueryBar(
            self.pyflare.history, value=self.query_text, placeholder=SEARCH_PLACEHOLDER, id="search"
        )
        with Horizontal(id="list-body"):
            yield FacetList(id="facets")
            with Vertical(id="list-main"):
                yield TraceScatter(id="scatter")
                yield TraceTable(colour=self.pyflare.colours, id="traces")
                yield Static(id="list-message", classes="message")
        yield Static(id="list-status", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        app = self.pyflare
        self._fit_facets()
        self.table.reset(self.sort)
        self.table.focus()
        if app.follow:
            self._timer = self.set_interval(app.refresh_seconds, self._tick)
        self.reload()

    # -- loading ------------------------------------------------------------------------

    def reload(self, keep: str | None = None) -> None:
        """Start over from the first page (keeping the cursor on ``keep`` if it is there)."""
        self.generation += 1
        self._keep = keep
        source = self.pyflare.source
        if not source.has_spans():
            self.total = 0
            self.table.reset(self.sort)
            self.scatter.set_points(pl.DataFrame())
            self._message(
                f"No spans in the store {source.root}.\n"
                "Add some with `pyflare demo` or `pyflare ingest FILE`, then press r."
            )
            self._status()
            return
        if not self.bar.validate(self.query_text):
            self._message("Fix the search query to list traces (the error is shown above).")
            return
        self.busy = True
        self._status()
        self._load_page(self.generation, self.query_text, self.sort, 0)

    @work(thread=True, group="page")
    def _load_page(self, generation: int, query: str, sort: SortKey, offset: int) -> None:
        try:
            self.pyflare.prime_colours()
            if offset == 0:
                self._fingerprint = self.pyflare.source.fingerprint()
            page = self.pyflare.source.page(query, sort, offset, PAGE_SIZE)
            points = self.pyflare.source.points(query, sort) if offset == 0 else None
        except Exception as exc:  # shown in the app, never as a traceback
            self.app.call_from_thread(self._failed, generation, exc)
            return
        self.app.call_from_thread(self._show_page, generation, page, points)

    @work(thread=True, group="facets")
    def _load_facets(self, generation: int, query: str) -> None:
        try:
            self.pyflare.prime_colours()
            facets = self.pyflare.source.facets(query)
        except Exception:  # the list reports errors; facets just stay empty
            return
        self.app.call_from_thread(self._show_facets, generation, facets)

    @work(thread=True, group="completions", exclusive=True)
    def _load_completions(self) -> None:
        try:
            values = self.pyflare.source.completions()
        except Exception:  # completion is a help; the list reports store errors
            return
        self.app.call_from_thread(self.bar.set_completions, values)

    @work(thread=True, group="views", exclusive=True)
    def prepare_views(self) -> None:
        """Import the waterfall's screen (the trace tree, NumPy) while the user reads the
        list, so that neither the first page nor the first open trace waits for it."""
        from pyflare_cli.tui.screens.waterfall import WaterfallScreen  # noqa: F401

    @work(thread=True, group="follow", exclusive=True)
    def _follow(self, generation: int, query: str, sort: SortKey, rows: int, force: bool) -> None:
        """Reload the rows on screen when the store changed (or ``force``), in place."""
        source = self.pyflare.source
        fingerprint = source.fingerprint()
        if fingerprint == self._fingerprint and not force:
            return
        try:
            source.invalidate()
            page = source.page(query, sort, 0, max(rows, PAGE_SIZE))
            points = source.points(query, sort)
        except Exception as exc:  # shown in the app, never as a traceback
            self.app.call_from_thread(self._failed, generation, exc)
            return
        self.app.call_from_thread(self._replace_rows, generation, page, fingerprint, points)

    def _replace_rows(
        self, generation: int, page: TracePage, fingerprint: object, points: pl.DataFrame
    ) -> None:
        """Swap in ``page`` for the loaded rows, keeping the cursor's trace where it was."""
        if generation != self.generation:
            return
        self.scatter.set_points(points)
        self._fingerprint = fingerprint
        self.reloads += 1
        table = self.table
        before = set(table.loaded_ids())
        self.new_traces = table.replace(page.rows, fresh=bool(before), previous=before)
        self.total = page.total
        self._load_facets(generation, self.query_text)
        self._message(None if self.total else "No traces in this range.")
        self._status()

    def _show_page(self, generation: int, page: TracePage, points: pl.DataFrame | None) -> None:
        if generation != self.generation:
            return
        if points is not None:
            self.scatter.set_points(points)
        self.reloads += page.offset == 0
        self.busy = False
        self.total = page.total
        table = self.table
        if page.offset == 0:
            table.reset(self.sort)
        table.append(page.rows)
        if page.offset == 0:
            # Facets and completions after the first page, so that they do not slow it down.
            self._load_facets(generation, self.query_text)
            self._load_completions()
            self.prepare_views()
            if self._keep is not None:
                table.select_trace(self._keep)
        if self.total == 0:
            query = self.query_text.strip()
            self._message(f"No traces match {query!r}." if query else "No traces in this range.")
        else:
            self._message(None)
        self._status()

    def _show_facets(self, generation: int, facets: Facets) -> None:
        if generation == self.generation:
            self.facets = facets
            self.query_one(FacetList).show(facets, self.query_text, self.pyflare.colours)

    def _failed(self, generation: int, error: Exception) -> None:
        if generation != self.generation:
            return
        self.busy = False
        if isinstance(error, PyflareError):
            self.bar.show_error(self.query_text, error)
            text = error.message
        else:
            text = f"{type(error).__name__}: {error}"
        self._message(f"✖ could not list traces: {text}")
        self._status()

    def _message(self, text: str | None) -> None:
        message = self.query_one("#list-message", Static)
        message.update(Text(text or ""))
        message.display = bool(text)

    def _status(self) -> None:
        parts = [f"{self.table.row_count:,} of {self.total:,} traces"]
        direction = "▼" if self.sort.descending else "▲"
        parts.append(f"sort {self.sort.column} {direction}")
        if self.busy:
            parts.append("loading…")
        if self.pyflare.follow:
            parts.append("‖ paused (p resumes)" if self.paused else "● live")
            if self.new_traces:
                parts.append(f"+{self.new_traces:,} new")
        if self.table.marked:
            parts.append(f"compare: {self.table.marked[:12]} marked")
        self.query_one("#list-status", Static).update(Text(" · ".join(parts)))
        source = self.pyflare.source
        title = Text("pyflare ", style="bold")
        title.append(f"traces in {source.root.name}")
        if source.since:
            title.append(f" since {source.since}")
        self.query_one("#list-title", Static).update(title)

    def _tick(self) -> None:
        if self.paused or not self.is_current or self.busy:
            return
        self.follow_now()

    def follow_now(self, force: bool = False) -> None:
        """Check the store now; reload the loaded rows in place if it changed."""
        if not self.bar.validate(self.query_text) or not self.pyflare.source.has_spans():
            if force:
                self.reload()
            return
        rows = self.table.row_count
        # Everything was loaded: keep it so (new traces included); else as many rows.
        rows = ALL_ROWS if rows >= self.total else rows
        self._follow(self.generation, self.query_text, self.sort, rows, force)

    # -- events -------------------------------------------------------------------------

    def on_query_bar_submitted(self, event: QueryBar.Submitted) -> None:
        self.query_text = event.query
        self.table.focus()
        self.reload()

    def on_facet_list_toggled(self, event: FacetList.Toggled) -> None:
        self.query_text = toggle_term(self.query_text, event.term)
        self.bar.set_value(self.query_text)
        self.pyflare.history.add(self.query_text)
        self.reload()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = event.column_key.value
        if key is None or key == MARK:
            return
        if key == self.sort.column:
            self._set_sort(SortKey(key, not self.sort.descending))
        else:
            self._set_sort(SortKey(key, key not in ASCENDING_FIRST))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(OpenTrace(event.row_key.value))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.table
        near_end = event.cursor_row >= table.row_count - PREFETCH
        if near_end and not self.busy and table.row_count < self.total:
            self.busy = True
            self._status()
            self._load_page(self.generation, self.query_text, self.sort, table.row_count)

    # -- actions ------------------------------------------------------------------------

    def _set_sort(self, sort: SortKey) -> None:
        self.sort = sort
        self.reload()

    def action_next_sort(self) -> None:
        columns = list(LIST_COLUMNS)
        column = columns[(columns.index(self.sort.column) + 1) % len(columns)]
        self._set_sort(SortKey(column, column not in ASCENDING_FIRST))

    def action_reverse_sort(self) -> None:
        self._set_sort(SortKey(self.sort.column, not self.sort.descending))

    def action_focus_search(self) -> None:
        self.bar.input.focus()

    def action_leave_search(self) -> None:
        if self.bar.input.has_focus:
            self.table.focus()

    def action_refresh(self) -> None:
        self.follow_now(force=True)

    def action_pause(self) -> None:
        if not self.pyflare.follow:
            return
        self.paused = not self.paused
        self._status()

    def action_compare(self) -> None:
        table = self.table
        current = table.trace_id
        if current is None:
            return
        if table.marked is None or table.marked == current:
            table.set_marked(None if table.marked == current else current)
            if table.marked:
                self.notify("Marked for comparison: press c on another trace.", timeout=3)
        else:
            first = table.marked
            table.set_marked(None)
            self.post_message(CompareTraces(first, current))
        self._status()

    def action_pick_query(self) -> None:
        def chosen(query: str | None) -> None:
            if query is not None:
                self.bar.set_value(query)
                self.query_text = query
                self.pyflare.history.add(query)
                self.table.focus()
                self.reload()

        history = self.pyflare.history
        self.app.push_screen(QueryPicker(list(history.saved.items()), list(history.recent)), chosen)
