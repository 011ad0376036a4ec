"""The panes around the trace list: the facets beside it and the scatter above it.

A base of :class:`~pyflare_cli.tui.screens.trace_list.TraceListScreen` apart from its
loading and paging: which panes show at which terminal size (and what ``f``/``d`` chose),
moving the focus between them, and writing a selection on the scatter into the query.
"""

from __future__ import annotations

from pyflare_cli.tui.model.scatter import with_range
from pyflare_cli.tui.screens.base import PyflareScreen
from pyflare_cli.tui.widgets.facets import FacetList
from pyflare_cli.tui.widgets.query_bar import QueryBar
from pyflare_cli.tui.widgets.scatter import TraceScatter
from pyflare_cli.tui.widgets.trace_table import TraceTable

FACETS_MIN_WIDTH = 110
"""Facets show from this many columns on (unless ``f`` said otherwise)."""
SCATTER_MIN_HEIGHT = 28
"""The scatter shows from this many rows on (unless ``d`` said otherwise)."""


class ListPanes(PyflareScreen[None]):
    """The list's facets and scatter; the subclass loads and pages the list."""

    query_text: str
    """The query the list shows (the subclass keeps it)."""

    def __init__(self) -> None:
        super().__init__()
        self._facets_shown: bool | None = None
        """What ``f`` chose; None: facets show when the terminal is wide enough."""
        self._scatter_shown: bool | None = None
        """What ``d`` chose; None: the scatter shows when the terminal is tall enough."""
        self.range_terms: list[str] = []
        """The terms the last selection on the scatter wrote into the query."""

    def reload(self, keep: str | None = None) -> None:
        raise NotImplementedError

    @property
    def table(self) -> TraceTable:
        return self.query_one(TraceTable)

    @property
    def bar(self) -> QueryBar:
        return self.query_one(QueryBar)

    @property
    def scatter(self) -> TraceScatter:
        return self.query_one(TraceScatter)

    # -- panes -------------------------------------------------------------------------

    def action_switch_pane(self) -> None:
        """Tab: from the list (or the search bar) to the facets and back; shows them."""
        facets = self.query_one(FacetList)
        if facets.has_focus:
            self.table.focus()
            return
        if self.has_class("-no-facets"):
            self._facets_shown = True
            self._fit_facets()
        facets.focus()

    def action_toggle_facets(self) -> None:
        self._facets_shown = self.has_class("-no-facets")
        self._fit_facets()

    def on_resize(self) -> None:
        self._fit_facets()

    def _fit_facets(self) -> None:
        """Facets beside the list from FACETS_MIN_WIDTH columns on, unless ``f`` said; the
        scatter above it from SCATTER_MIN_HEIGHT rows on, unless ``d`` said."""
        shown = self._facets_shown
        if shown is None:
            shown = self.app.size.width >= FACETS_MIN_WIDTH
        self.set_class(not shown, "-no-facets")
        graph = self._scatter_shown
        if graph is None:
            graph = self.app.size.height >= SCATTER_MIN_HEIGHT
        self.scatter.display = graph

    # -- the scatter --------------------------------------------------------------------

    def action_toggle_scatter(self) -> None:
        self._scatter_shown = not self.scatter.display
        self._fit_facets()
        if not self.scatter.display:
            self.table.focus()

    def action_focus_scatter(self) -> None:
        self._scatter_shown = True
        self._fit_facets()
        self.scatter.focus()

    def on_trace_scatter_selected(self, event: TraceScatter.Selected) -> None:
        self._set_range(event.terms)

    def on_trace_scatter_cleared(self, event: TraceScatter.Cleared) -> None:
        self._set_range([])

    def on_trace_scatter_left(self, event: TraceScatter.Left) -> None:
        self.table.focus()

    def _set_range(self, terms: list[str]) -> None:
        """Write the selection's terms into the query, in place of the last selection's."""
        query = with_range(self.query_text, self.range_terms, terms)
        self.range_terms = terms
        if query == self.query_text:
            return
        self.query_text = query
        self.bar.set_value(query)
        self.pyflare.history.add(query)
        self.table.focus()
        self.reload()
