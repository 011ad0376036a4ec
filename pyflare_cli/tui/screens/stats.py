"""Where a trace's time goes: per service and per operation, with self time and share.

The numbers are :func:`~pyflare_cli.analysis.traces.tree.breakdown` with the model's self
times, drawn by the same table renderer as ``pyflare trace show``.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from pyflare_cli.render.waterfall import render_breakdown
from pyflare_cli.tui.model.waterfall import WaterfallModel


class StatsScreen(Screen[None]):
    """Per-service and per-operation statistics of one trace."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, model: WaterfallModel) -> None:
        super().__init__()
        self.model = model

    def compose(self) -> ComposeResult:
        m = self.model
        trace = str(m.spans["trace_id"][0]) if m.spans.height else "?"
        title = Text(f"statistics of trace {trace}", style="bold")
        title.append(f" · {len(m):,} spans · self time = duration minus children", style="dim")
        yield Static(title, classes="title")
        with VerticalScroll(id="stats"):
            yield Static(
                Group(
                    render_breakdown(m.breakdown("service"), title="per service"),
                    Text(""),
                    render_breakdown(m.breakdown("operation"), title="per operation"),
                )
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stats").focus()

    def action_back(self) -> None:
        self.dismiss()
