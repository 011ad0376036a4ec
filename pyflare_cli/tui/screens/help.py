"""The ``?`` screen: every key of every screen, read from the bindings themselves.

The list is generated from the ``BINDINGS`` of the app, screens and widgets, so it cannot
drift from what the keys really do; a few mouse and built-in keys are added by hand. The
app's own keys are read from the running app, so that this screen need not import it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "plus": "+",
    "minus": "-",
    "equals_sign": "=",
    "comma": ",",
    "full_stop": ".",
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "escape": "esc",
    "pagedown": "pgdn",
    "pageup": "pgup",
    "down": "↓",
    "up": "↑",
    "left": "←",
    "right": "→",
}


MARKS = [
    ("✖", "An error span (red bar)"),
    ("◆", "On the critical path"),
    ("█ / ━", "Time on the critical path / the rest of the span"),
    ("•", "A span event"),
    ("◂ ▸", "The span lies before / after the zoomed window"),
    ("▾ ▸", "Unfolded / folded span (space toggles)"),
    ("+N  ✖N", "Spans a fold hides, and how many of them failed"),
    ("[orphan] [dup]", "Parent missing / duplicate span id"),
]
"""The waterfall's marks, for the ``?`` screen (the waterfall shows the ones it uses)."""


def key_names(key: str) -> str:
    """``"down,j"`` as ``"↓ j"``."""
    return " ".join(_NAMES.get(k, k) for k in key.split(","))


def describe(bindings: list[BindingType]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for binding in bindings:
        if isinstance(binding, Binding):
            out.append((key_names(binding.key), binding.description))
        elif len(binding) >= 3:
            out.append((key_names(binding[0]), binding[2]))
    return out


def key_groups(app_bindings: list[BindingType]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(screen, [(keys, what they do)]) for the whole app, whose own keys are ``app_bindings``."""
    from pyflare_cli.tui.screens.compare import CompareScreen
    from pyflare_cli.tui.screens.detail import DetailScreen
    from pyflare_cli.tui.screens.stats import StatsScreen
    from pyflare_cli.tui.screens.trace_list import TraceListScreen
    from pyflare_cli.tui.screens.waterfall import WaterfallScreen
    from pyflare_cli.tui.widgets.query_bar import QueryInput
    from pyflare_cli.tui.widgets.scatter import TraceScatter
    from pyflare_cli.tui.widgets.trace_table import TraceTable
    from pyflare_cli.tui.widgets.waterfall_view import WaterfallView

    return [
        (
            "everywhere",
            [*describe(app_bindings), ("ctrl+p", "Commands (theme: light/dark)")],
        ),
        (
            "trace list",
            [
                ("↑ ↓ j k", "Move"),
                *describe(TraceTable.BINDINGS)[2:],
                ("pgup pgdn", "Page (more traces load as you go)"),
                ("enter / click", "Open the trace"),
                ("click header", "Sort by that column (again: reverse)"),
                *describe(TraceListScreen.BINDINGS),
                ("enter (facets)", "Add/remove the facet's filter"),
            ],
        ),
        (
            "search bar",
            [
                ("enter", "Run the query"),
                *describe(QueryInput.BINDINGS),
                ("→", "Accept the completion"),
                ("esc", "Back to the list"),
            ],
        ),
        (
            "waterfall",
            [
                *describe(WaterfallScreen.BINDINGS),
                *describe(WaterfallView.BINDINGS),
                ("click / double click", "Select / open detail"),
            ],
        ),
        (
            "scatter (D, or drag on it)",
            [
                ("← → ↑ ↓", "Move the cursor (shift+← →: 8 columns)"),
                *describe(TraceScatter.BINDINGS)[6:],
                ("drag", "Select a region and filter to it"),
            ],
        ),
        ("waterfall marks", MARKS),
        ("span detail", [*describe(DetailScreen.BINDINGS), ("enter (links)", "Open the link")]),
        ("statistics", describe(StatsScreen.BINDINGS)),
        ("compare", describe(CompareScreen.BINDINGS)),
    ]


def help_table(title: str, keys: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.title = title
    table.title_justify = "left"
    table.title_style = "bold"
    table.add_column(style="bold cyan", no_wrap=True, width=22)
    table.add_column()
    for key, description in keys:
        table.add_row(key, description)
    return table


class HelpScreen(ModalScreen[None]):
    """All keys, grouped by screen; any of esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        parts: list[RenderableType] = [Text("pyflare tui: keys", style="bold")]
        for title, keys in key_groups(self.app.BINDINGS):
            parts += [Text(""), help_table(title, keys)]
        with VerticalScroll(id="help", classes="dialog"):
            yield Static(Group(*parts))

    def on_mount(self) -> None:
        self.query_one("#help").focus()

    def action_close(self) -> None:
        self.dismiss()
