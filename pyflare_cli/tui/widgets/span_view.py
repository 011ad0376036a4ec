"""The span detail's Rich pieces: key/value tables and prompt or completion text.

What to show is computed headless in :mod:`pyflare_cli.tui.model.span_info`; this module
only draws it, for :mod:`pyflare_cli.tui.screens.detail`.
"""

from __future__ import annotations

from rich.highlighter import JSONHighlighter
from rich.table import Table
from rich.text import Text

from pyflare_cli.tui.model.span_info import PrettyText


def key_values(pairs: list[tuple[str, str]], *, title: str | None = None) -> Table:
    """A two-column table of (key, value); long values wrap."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    if title:
        table.title = title
        table.title_justify = "left"
        table.title_style = "bold"
    for key, value in pairs:
        table.add_row(Text(key), Text(value))
    if not pairs:
        table.add_row(Text("none", style="dim"), "")
    return table


def pretty(block: PrettyText) -> Text:
    """``block`` drawn: highlighted JSON (as Rich's ``JSON`` draws it), plain text, or a dim
    "none"."""
    if block.text is None:
        return Text("none", style="dim")
    if not block.json:
        return Text(block.text, overflow="fold")
    # Long prompts wrap (words, then long tokens folded) so that all of them can be read.
    text = JSONHighlighter()(Text(block.text))
    text.no_wrap = False
    text.overflow = "fold"
    return text
