"""The search bar: the query language with inline errors, field completion and history.

The query is parsed on every keystroke (parsing needs no data), so a mistake shows at
once under the bar with its line:column, the offending token highlighted and the parser's
hint; only a valid query is submitted. Up/down recall recent queries; the suggester
completes field names and enum values (status, kind, type) from the parser's own table,
and services, models, operations, agents, tools and attribute keys from the store.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from pyflare_cli.analysis.search.compile import FIELDS, parse
from pyflare_cli.errors import PyflareError, QuerySyntaxError
from pyflare_cli.tui.model.facets import facet_term
from pyflare_cli.tui.model.history import QueryHistory

_NAMES = sorted(
    {name for f in FIELDS.values() if not f.name.endswith(".*") for name in (f.name, *f.aliases)}
    | {"attr.", "resource."}
)
_BY_NAME = {
    name: f for f in FIELDS.values() if not f.name.endswith(".*") for name in (f.name, *f.aliases)
}


class QuerySuggester(Suggester):
    """Completes the last term: a field name, an enum value, or a value from the store."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.values: dict[str, list[str]] = {}
        """Per field (``service``, ``model``, ``name``, ``attr``...), the store's values,
        most common first; filled once they are loaded."""

    async def get_suggestion(self, value: str) -> str | None:
        return suggest(value, self.values)


def suggest(value: str, values: dict[str, list[str]] | None = None) -> str | None:
    """``value`` with its last term completed, or None (pure, for tests).

    Field names and enum values come from the parser's table; the values of services,
    models, operations, agents, tools and the attribute keys from ``values`` (the store's).
    The completion always extends what was typed (the input shows the rest dimmed); a value
    that needs quotes is completed once a quote is typed.
    """
    cut = _last_term_start(value)
    prefix, last = value[:cut], value[cut:]
    word = last.lstrip("-(")
    lead = last[: len(last) - len(word)]
    if not word:
        return None
    field, colon, typed = word.partition(":")
    known = values or {}
    if not colon:
        lower = word.lower()
        scope, dot, key = lower.partition(".")
        if dot and scope in ("attr", "resource"):
            for name in known.get(scope, ()):
                if name.lower().startswith(key) and name.lower() != key:
                    return value + name[len(key) :] + ":"
        for name in _NAMES:
            if name.startswith(lower) and name != lower:
                return prefix + lead + name + ("" if name.endswith(".") else ":")
        return None
    spec = _BY_NAME.get(field.lower())
    if spec is None or not typed:
        return None
    if spec.values:
        for allowed in spec.values:
            if allowed.startswith(typed.lower()) and allowed != typed.lower():
                return prefix + lead + field + ":" + allowed
        return None
    quoted = typed.startswith('"')
    bare = typed[1:].lower() if quoted else typed.lower()
    for candidate in known.get(spec.name, ()):
        if not candidate.lower().startswith(bare) or candidate.lower() == bare:
            continue
        rest = candidate[len(bare) :]
        if quoted:
            return value + rest.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if facet_term(field, candidate) == f"{field}:{candidate}":
            return value + rest
    return None


def _last_term_start(value: str) -> int:
    """Where the last term starts: after the last space outside double quotes."""
    start, quoted, escaped = 0, False, False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = quoted
        elif ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            start = i + 1
    return start


def error_text(query: str, error: PyflareError) -> Text:
    """``✖ reason at line:column; hint`` and the query with the bad token highlighted."""
    text = Text("✖ ", style="bold red")
    text.append(error.message, style="red")
    if isinstance(error, QuerySyntaxError):
        lines = query.split("\n")
        if 1 <= error.line <= len(lines):
            line = lines[error.line - 1]
            at = max(0, min(len(line), error.column - 1))
            end = at
            while end < len(line) and not line[end].isspace():
                end += 1
            text.append("\n  ")
            text.append(line[:at], style="dim")
            text.append(line[at : max(end, at + 1)] or " ", style="bold reverse red")
            text.append(line[max(end, at + 1) :], style="dim")
    return text


class QueryInput(Input):
    """An input that recalls history with up/down."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "older", "Older query", show=False),
        Binding("down", "newer", "Newer query", show=False),
    ]

    def __init__(self, history: QueryHistory, value: str, placeholder: str, id: str) -> None:
        super().__init__(value=value, placeholder=placeholder, id=id, suggester=QuerySuggester())
        self.history = history

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.cursor_blink = False  # stable screenshots

    def action_older(self) -> None:
        query = self.history.older()
        if query is not None:
            self.value = query
            self.cursor_position = len(query)

    def action_newer(self) -> None:
        query = self.history.newer()
        if query is not None:
            self.value = query
            self.cursor_position = len(query)


class QueryBar(Vertical):
    """A query input and the line under it that explains what is wrong with the query."""

    DEFAULT_CSS = """
    QueryBar { height: auto; }
    QueryBar > Static.query-error { height: auto; max-height: 3; padding: 0 1; display: none; }
    QueryBar.-invalid > Static.query-error { display: block; }
    QueryBar.-invalid > Input { border: tall $error; }
    """

    class Submitted(Message):
        """A valid query was entered."""

        def __init__(self, bar: QueryBar, query: str) -> None:
            super().__init__()
            self.bar = bar
            self.query = query

        @property
        def control(self) -> QueryBar:
            return self.bar

    def __init__(
        self, history: QueryHistory, *, value: str = "", placeholder: str = "", id: str
    ) -> None:
        super().__init__(id=id)
        self.history = history
        self._initial = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield QueryInput(self.history, self._initial, self._placeholder, id=f"{self.id}-input")
        yield Static(classes="query-error")

    def on_mount(self) -> None:
        self.validate(self._initial)

    @property
    def input(self) -> QueryInput:
        return self.query_one(QueryInput)

    @property
    def value(self) -> str:
        return self.input.value

    def set_completions(self, values: dict[str, list[str]]) -> None:
        """The store's values for completion (see :func:`suggest`)."""
        suggester = self.input.suggester
        if isinstance(suggester, QuerySuggester):
            suggester.values = values

    def set_value(self, query: str) -> None:
        self.input.value = query
        self.input.cursor_position = len(query)
        self.validate(query)

    def validate(self, query: str) -> bool:
        """Parse ``query``; show what is wrong with it. Whether it is valid."""
        try:
            parse(query)
        except PyflareError as exc:
            self.show_error(query, exc)
            return False
        self.remove_class("-invalid")
        return True

    def show_error(self, query: str, error: PyflareError) -> None:
        self.query_one(".query-error", Static).update(error_text(query, error))
        self.add_class("-invalid")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.validate(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.validate(event.value):
            self.app.bell()
            return
        self.history.add(event.value)
        self.post_message(self.Submitted(self, event.value))
