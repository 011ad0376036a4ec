"""Facet counts beside the trace list: services, models and statuses, each a filter.

Selecting a value toggles a ``field:value`` term in the search query rather than keeping a
separate filter state, so what the list shows is always exactly what the search bar says
(and can be copied to ``--where``).
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from pyflare_cli.render.waterfall_colours import service_colour
from pyflare_cli.tui.model.facets import Facets, facet_term

__all__ = ["FacetList", "facet_term", "toggle_term"]

_TITLES = {"service": "services", "model": "models", "status": "status"}
_SEPARATOR = "\t"


def toggle_term(query: str, term: str) -> str:
    """``query`` without ``term`` when it has it as a whole word, else with it appended."""
    words = query.split()
    if term in words:
        return " ".join(w for w in words if w != term)
    return f"{query.strip()} {term}".strip()


class FacetList(OptionList):
    """Option list of facet values with trace counts; a ✓ marks values in the query.

    A value's count is what the list shows once its term is added to the query."""

    class Toggled(Message):
        """The user picked ``term`` (``field:value``)."""

        def __init__(self, term: str) -> None:
            super().__init__()
            self.term = term

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[Facets, str, Callable[[str | None], str]] | None = None

    def show(
        self,
        facets: Facets,
        query: str,
        colour: Callable[[str | None], str] = service_colour,
    ) -> None:
        """List ``facets``; values whose term is in ``query`` get a ✓."""
        self._shown = (facets, query, colour)
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        """Lay the values out for the current width (again after a resize)."""
        if self._shown is None:
            return
        facets, query, colour = self._shown
        width = self.scrollable_content_region.width or 28
        highlighted = self.highlighted
        words = set(query.split())
        options: list[Option | None] = []
        for field, values in facets.counts.items():
            if options:
                options.append(None)
            options.append(Option(Text(_TITLES.get(field, field), style="bold"), disabled=True))
            room = max(6, width - 11)
            for value, n in values:
                term = facet_term(field, value)
                label = Text()
                label.append("✓ " if term in words else "  ", style="bold green")
                style = colour(value) if field == "service" else ""
                shown = value if len(value) <= room else value[: room - 1] + "…"
                label.append(shown.ljust(room), style=style)
                label.append(f"{n:>7,}", style="dim")
                options.append(Option(label, id=f"{field}{_SEPARATOR}{value}"))
        if not any(values for values in facets.counts.values()):
            options.append(Option(Text("no values", style="dim"), disabled=True))
        self.clear_options()
        self.add_options(options)
        if highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id
        if option_id and _SEPARATOR in option_id:
            field, _, value = option_id.partition(_SEPARATOR)
            self.post_message(self.Toggled(facet_term(field, value)))
