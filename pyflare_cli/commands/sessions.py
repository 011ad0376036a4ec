"""``pyflare sessions``, ``pyflare session show`` and ``pyflare users``: per-session and
per-user views of the store.

Thin: options become a span query, :mod:`query.sessions` computes the tables,
:mod:`render.sessions` prints them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import (
    ConfigOption,
    FormatOption,
    OutputFormat,
    StoreOption,
    UntilOption,
    WhereOption,
    WindowStartOption,
)
from pyflare_cli.errors import UsageError
from pyflare_cli.store.layout import read_store

if TYPE_CHECKING:
    from pyflare_cli.analysis.cost.price_rules import PriceRule
    from pyflare_cli.config.file import Config
    from pyflare_cli.query.spans import SpanQuery
    from pyflare_cli.query.windows import Window

SESSION_SORTS = (
    *("start", "duration", "traces", "turns", "input_tokens", "output_tokens"),
    *("cost", "errors", "user", "session"),
)
"""``analysis.stats.sessions.SESSION_SORTS``, here so that help needs no Polars."""
USER_SORTS = ("last_seen", "sessions", "requests", "turns", "cost", "error_rate", "user")

SESSIONS_HELP = """Sessions: user, start, duration, traces, turns, models, tools, tokens, cost.

One row per session of the window (a span belongs to its trace's session when it names
none itself); a turn is an LLM call, errors count failed traces. Sorted by any column.

Example:

    pyflare sessions --user user-0042 --since 7d --sort cost
"""
USERS_HELP = """Users: sessions, requests, turns, cost, error rate, first and last seen.

Example:

    pyflare users --since 30d --sort cost
"""
session_app = typer.Typer(
    help="Look at one session: its traces in time order and its conversation.\n\n"
    "Example:\n\n    pyflare session show sess_9d7e534fec14",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

Ascending = Annotated[bool, typer.Option("--asc", help="Smallest (earliest) first.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=0, help="At most this many (0: all).")]


class _Window(NamedTuple):
    """What every view here starts from: the clock, the window, the store, the config."""

    at: datetime
    window: Window
    root: Path
    config: Config
    rules: tuple[PriceRule, ...]

    def query(self, where: str | None = None) -> SpanQuery:
        from pyflare_cli.query.spans import SpanQuery

        return SpanQuery(*self.window.query_bounds, where)


def _window(since: str, until: str | None, store: Path | None, config: Path | None) -> _Window:
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.prices import price_rules
    from pyflare_cli.query.windows import current_window

    at = now()
    window = current_window(since, until, at)
    root = read_store(store)
    cfg = load_config(config)
    rules, _ = price_rules(cfg)
    return _Window(at, window, root, cfg, rules)


def register(app: typer.Typer) -> None:
    app.command("sessions", help=SESSIONS_HELP)(sessions)
    app.command("users", help=USERS_HELP)(users)
    app.add_typer(session_app, name="session")


def sessions(
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's.")] = None,
    sort: Annotated[
        str, typer.Option("--sort", help=f"Sort by: {', '.join(SESSION_SORTS)}.")
    ] = "start",
    ascending: Ascending = False,
    limit: Limit = 50,
    since: WindowStartOption = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    from pyflare_cli.query.sessions import list_sessions
    from pyflare_cli.render.output import console
    from pyflare_cli.render.sessions import emit_rows

    if sort not in SESSION_SORTS:
        raise UsageError(f"--sort {sort!r}: use {', '.join(SESSION_SORTS)}")
    w = _window(since, until, store, config)
    frame = list_sessions(w.root, w.query(where), w.at, w.rules, user, sort, ascending)
    if frame.is_empty():
        who = f" of user {user!r}" if user else ""
        raise UsageError(f"no sessions{who} in {w.window.label()}")
    emit_rows(console(), frame.head(limit) if limit else frame, fmt.value)


def users(
    sort: Annotated[
        str, typer.Option("--sort", help=f"Sort by: {', '.join(USER_SORTS)}.")
    ] = "last_seen",
    ascending: Ascending = False,
    limit: Limit = 50,
    since: WindowStartOption = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    from pyflare_cli.query.sessions import list_users
    from pyflare_cli.render.output import console
    from pyflare_cli.render.sessions import emit_rows

    if sort not in USER_SORTS:
        raise UsageError(f"--sort {sort!r}: use {', '.join(USER_SORTS)}")
    w = _window(since, until, store, config)
    frame = list_users(w.root, w.query(where), w.at, w.rules, sort, ascending)
    if frame.is_empty():
        raise UsageError(f"no users in {w.window.label()}")
    emit_rows(console(), frame.head(limit) if limit else frame, fmt.value)


@session_app.command("show")
def show(
    session: Annotated[str, typer.Argument(help="A session id, as `pyflare sessions` lists.")],
    full: Annotated[bool, typer.Option("--full", help="Whole prompts and answers.")] = False,
    since: WindowStartOption = "30d",
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A session's traces in time order (root, duration, cost, outcome) and its conversation.

    Text is redacted with the `redaction` section of pyflare.yaml when it has one.

    Example:

        pyflare session show sess_9d7e534fec14 --full
    """
    from pyflare_cli.query.sessions import show_session
    from pyflare_cli.render.output import console
    from pyflare_cli.render.sessions import emit_session

    w = _window(since, None, store, config)
    found = show_session(w.root, session, w.query(), w.at, w.rules, w.config.redaction)
    emit_session(console(), found, fmt.value, full)
