"""Everything about one span, in tabs: overview, attributes, events, links, text.

Links are selectable: choosing one asks the app to open the linked trace at the linked
span (or to move the cursor when the link points into the same trace).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from pyflare_cli.render.units import format_duration
from pyflare_cli.render.waterfall import ERROR
from pyflare_cli.tui.messages import OpenTrace
from pyflare_cli.tui.model.span_info import pretty_text
from pyflare_cli.tui.model.waterfall import WaterfallModel
from pyflare_cli.tui.widgets.span_summary import span_attributes, span_overview
from pyflare_cli.tui.widgets.span_view import pretty

TABS = ("overview", "attributes", "events", "links", "text")


class DetailScreen(Screen[None]):
    """The detail of node ``node`` of ``model``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        *(
            Binding(str(i), f"tab('{tab}')", tab.capitalize(), show=i < 3)
            for i, tab in enumerate(TABS, start=1)
        ),
    ]

    def __init__(self, model: WaterfallModel, node: int) -> None:
        super().__init__()
        self.model = model
        self.node = node
        self.row: dict[str, Any] = model.spans.row(model.rows[node], named=True)

    def compose(self) -> ComposeResult:
        row = self.row
        title = Text(f"{row.get('service_name') or '?'}: {row.get('name') or '?'}", style="bold")
        title.append(f" · span {row.get('span_id')}", style="dim")
        yield Static(title, classes="title")
        with TabbedContent(id="detail-tabs"):
            with TabPane("1 overview", id="overview"), VerticalScroll():
                yield Static(self._overview())
            with TabPane("2 attributes", id="attributes"), VerticalScroll():
                yield Static(self._attributes())
            with TabPane("3 events", id="events"), VerticalScroll():
                yield Static(self._events())
            with TabPane("4 links", id="links"):
                yield self._links()
            with TabPane("5 text", id="text"), VerticalScroll():
                yield Static(self._text())
        yield Footer()

    def _overview(self) -> RenderableType:
        return span_overview(self.model, self.node, self.row)

    def _attributes(self) -> RenderableType:
        return span_attributes(self.row)

    def _events(self) -> RenderableType:
        events = self.row.get("events") or []
        if not events:
            return Text("no events", style="dim")
        start = self.row.get("start_time")
        table = Table(box=None, header_style="bold", expand=True)
        table.add_column("at", justify="right", no_wrap=True)
        table.add_column("event", no_wrap=True)
        table.add_column("attributes", overflow="fold")
        for event in events:
            time = event.get("time")
            at = format_duration(int((time - start).total_seconds() * 1e9)) if time else ""
            attrs = "\n".join(
                f"{k}={v}" for k, v in sorted((event.get("attributes") or {}).items())
            )
            name = str(event.get("name") or "")
            style = ERROR if name == "exception" else "bold"
            table.add_row(Text(f"+{at}"), Text(name, style=style), Text(attrs))
        return table

    def _links(self) -> OptionList:
        links = self.row.get("links") or []
        options: list[Option] = []
        for i, link in enumerate(links):
            prompt = Text(f"trace {link.get('trace_id')}  span {link.get('span_id')}", style="bold")
            for key, value in sorted((link.get("attributes") or {}).items()):
                prompt.append(f"\n   {key}={value}", style="dim")
            options.append(Option(prompt, id=str(i)))
        if not options:
            options.append(Option(Text("no links", style="dim"), disabled=True))
        return OptionList(*options, id="detail-links")

    def _text(self) -> RenderableType:
        parts: list[RenderableType] = []
        for label, column in (("input", "input_text"), ("output", "output_text")):
            parts.append(Text(label, style="bold underline"))
            parts.append(pretty(pretty_text(self.row.get(column))))
            parts.append(Text(""))
        return Group(*parts)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is None:
            return
        link = (self.row.get("links") or [])[int(event.option.id)]
        self.post_message(OpenTrace(str(link.get("trace_id")), str(link.get("span_id"))))

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_back(self) -> None:
        self.dismiss()
