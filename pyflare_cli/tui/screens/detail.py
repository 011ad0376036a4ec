"""Everything about one span, in tabs: overview, attributes, events, links, text, scores.

Links are selectable: choosing one asks the app to open the linked trace at the linked
span (or to move the cursor when the link points into the same trace).
"""

from __future__ import annotations

from typing import Any, ClassVar

import polars as pl
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from pyflare_cli.errors import PyflareError
from pyflare_cli.render.units import format_duration
from pyflare_cli.render.waterfall import ERROR
from pyflare_cli.tui.messages import OpenTrace
from pyflare_cli.tui.model.span_info import pretty_text
from pyflare_cli.tui.model.waterfall import WaterfallModel
from pyflare_cli.tui.screens.base import PyflareScreen
from pyflare_cli.tui.widgets.span_summary import span_attributes, span_overview
from pyflare_cli.tui.widgets.span_view import pretty

TABS = ("overview", "attributes", "events", "links", "text", "scores")


class DetailScreen(PyflareScreen[None]):
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
            with TabPane("6 scores", id="scores"), VerticalScroll():
                yield Static(Text("loading the evaluation results…", style="dim"), id="scores-text")
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

    def on_mount(self) -> None:
        self._load_scores(str(self.row.get("trace_id") or ""), str(self.row.get("span_id") or ""))

    @work(thread=True, group="scores")
    def _load_scores(self, trace_id: str, span_id: str) -> None:
        try:
            frame = self.pyflare.source.scores(trace_id)
        except Exception as exc:  # shown in the tab, never as a traceback
            text = exc.message if isinstance(exc, PyflareError) else f"{type(exc).__name__}: {exc}"
            shown: RenderableType = Text(f"✖ could not read the evaluations: {text}", style="red")
        else:
            shown = scores_table(frame.filter(pl.col("span_id") == span_id).to_dicts())
        self.app.call_from_thread(self.query_one("#scores-text", Static).update, shown)

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


def scores_table(scores: list[dict[str, Any]]) -> RenderableType:
    """A span's evaluation results: evaluator, score, label, explanation, where from."""
    if not scores:
        return Text("no evaluation results for this span (pyflare eval)", style="dim")
    table = Table(box=None, header_style="bold", expand=True)
    for name in ("evaluator", "score", "label", "explanation", "source"):
        table.add_column(name, overflow="fold", justify="right" if name == "score" else "left")
    for s in scores:
        score = s.get("score")
        label = str(s.get("label") or "")
        style = "red" if label.lower() in ("fail", "failed", "false") else ""
        table.add_row(
            Text(str(s.get("evaluator") or "")),
            Text("" if score is None else f"{score:.3g}"),
            Text(label, style=style),
            Text(str(s.get("explanation") or "")),
            Text(str(s.get("source") or ""), style="dim"),
        )
    return table
