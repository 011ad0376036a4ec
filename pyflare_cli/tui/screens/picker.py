"""A small modal list of saved (``pyflare.yaml``) and recent queries to pick from.

A saved query shows its name on one line and its text, exactly as it will be run, on the
next, under a "saved queries" heading; recent queries follow under their own heading, so
a name is never read as part of a query.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class QueryPicker(ModalScreen[str | None]):
    """Dismisses with the chosen query, or None on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Close"),
    ]

    def __init__(self, saved: list[tuple[str, str]], recent: list[str]) -> None:
        super().__init__()
        self.entries = [query for _, query in saved] + list(recent)
        self.saved = saved
        self.recent = recent

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="dialog"):
            yield Static(Text("Saved and recent queries", style="bold"))
            options: list[Option | None] = []
            if self.saved:
                options.append(Option(Text("saved queries", style="bold underline"), disabled=True))
            for i, (name, query) in enumerate(self.saved):
                prompt = Text(name, style="bold")
                prompt.append("\n  ")
                prompt.append(query, style="cyan")
                options.append(Option(prompt, id=str(i)))
            if self.recent:
                if options:
                    options.append(None)
                options.append(Option(Text("recent", style="bold underline"), disabled=True))
            for i, query in enumerate(self.recent, start=len(self.saved)):
                options.append(Option(Text(query, style="cyan"), id=str(i)))
            if not options:
                message = "No saved queries (saved_queries in pyflare.yaml) and no history yet."
                options.append(Option(Text(message, style="dim"), disabled=True))
            yield OptionList(*options, id="picker-list")
            yield Static(Text("enter: use  ·  esc: close", style="dim"))

    def on_mount(self) -> None:
        picker = self.query_one("#picker-list", OptionList)
        picker.focus()
        for index in range(picker.option_count):
            if not picker.get_option_at_index(index).disabled:
                picker.highlighted = index
                break

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(self.entries[int(event.option.id)])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
