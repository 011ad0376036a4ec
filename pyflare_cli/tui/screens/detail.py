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

from pyflare_cli.render.units import format_duration, money
from pyflare_cli.render.waterfall import ERROR
from pyflare_cli.tui.messages import OpenTrace
from pyflare_cli.tui.model.span_info import describe, group_attributes, pretty_text
from pyflare_cli.tui.model.waterfall import WaterfallModel
from pyflare_cli.tui.widgets.span_view import key_values, pretty

TABS = ("overview", "attributes", "events", "links", "text")

_OVERVIEW = (
    ("trace", "trace_id"),
    ("span", "span_id"),
    ("parent", "parent_span_id"),
    ("kind", "kind"),
    ("service", "service_name"),
    ("version", "service_version"),
    ("environment", "environment"),
    ("scope", "scope_name"),
    ("start", "start_time"),
    ("end", "end_time"),
)
_AI = (
    ("type", "ai_kind"),
    ("provider", "provider"),
    ("model", "model"),
    ("request model", "request_model"),
    ("input tokens", "input_tokens"),
    ("output tokens", "output_tokens"),
    ("total tokens", "total_tokens"),
    ("cache read", "cache_read_tokens"),
    ("cache write", "cache_write_tokens"),
    ("reasoning", "reasoning_tokens"),
    ("finish reason", "finish_reason"),
    ("tool", "tool_name"),
    ("agent", "agent_name"),
    ("user", "user_id"),
    ("session", "session_id"),
)


def _pairs(row: dict[str, Any], fields: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return [(label, describe(row.get(c))) for label, c in fields if row.get(c) is not None]


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
        row, m = self.row, self.model
        r = m.rows[self.node]
        status = str(row.get("status_code") or "unset")
        timing = [
            ("duration", format_duration(int(m.end[r] - m.start[r]))),
            ("self time", format_duration(int(m.self_time()[r]))),
            ("critical path", "yes" if r in m.on_path else "no"),
        ]
        parts: list[RenderableType] = []
        if status == "error":
            error = Text("✖ error", style=ERROR)
            for column in ("error_type", "error_message", "status_message"):
                if row.get(column):
                    error.append(f"\n  {column.replace('_', ' ')}: {row[column]}", style="red")
            parts.append(error)
        else:
            parts.append(Text(f"status {status}", style="green" if status == "ok" else "dim"))
        parts.append(key_values(_pairs(row, _OVERVIEW) + timing, title="span"))
        ai = _pairs(row, _AI)
        cost = row.get("cost_usd")
        if cost is not None:
            ai.append(("cost", f"{money(cost)} ({row.get('cost_source') or 'price'})"))
        elif row.get("input_tokens") is not None:
            ai.append(("cost", "unpriced (no price known for this model)"))
        if ai:
            parts.append(key_values(ai, title="GenAI / LLM"))
        return Group(*parts)

    def _attributes(self) -> RenderableType:
        groups = group_attributes(self.row.get("attributes"))
        resource = sorted((self.row.get("resource_attributes") or {}).items())
        return Group(
            *(key_values(pairs, title=name) for name, pairs in groups.items()),
            key_values([(k, str(v)) for k, v in resource], title="resource"),
        )

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
