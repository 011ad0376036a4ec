"""Navigation requests that any screen can post and the app fulfils.

Screens do not know about each other: the trace list, a link in the span detail and the
compare view all ask for "open this trace (at this span)" with a message that bubbles up
to :class:`~pyflare_cli.tui.app.PyflareApp`, which decides which screen to push.
"""

from __future__ import annotations

from textual.message import Message


class OpenTrace(Message):
    """Show the waterfall of ``trace_id`` (an id or unique prefix), with ``span_id`` selected."""

    def __init__(self, trace_id: str, span_id: str | None = None) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.span_id = span_id


class CompareTraces(Message):
    """Show traces ``first`` and ``second`` side by side."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__()
        self.first = first
        self.second = second
