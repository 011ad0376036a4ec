"""A small modal list of saved (``pyflare.yaml``) and recent queries to pick from."""

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

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="dialog"):
            yield Static(Text("Saved and recent queries", style="bold"))
            options: list[Option] = []
            for i, (label, query) in enumerate(self.entries):
                prompt = Text(f"{label:<16} ", style="dim")
                prompt.append(query)
                options.append(Option(prompt, id=str(i)))
            if not options:
                message = "No saved queries (saved_queries in pyflare.yaml) and no history yet."
                options.append(Option(Text(message, style="dim"), disabled=True))
            yield OptionList(*options, id="picker-list")
            yield Static(Text("enter: use  ·  esc: close", style="dim"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(self.entries[int(event.option.id)][1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
