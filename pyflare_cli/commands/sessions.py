"""``pyflare sessions``, ``pyflare session show`` and ``pyflare users``: per-session and
per-user views of the store.

Thin: options become a span query, :mod:`query.sessions` computes the tables,
:mod:`render.sessions` prints them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import (
    ConfigOption,
    FormatOption,
    OutputFormat,
    StoreOption,
    UntilOption,
    WhereOption,
)
from pyflare_cli.errors import UsageError
from pyflare_cli.store.layout import read_store

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

Since = Annotated[str, typer.Option("--since", help="Window start: 30m, 24h, 7d or an ISO date.")]
Ascending = Annotated[bool, typer.Option("--asc", help="Smallest (earliest) first.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=0, help="At most this many (0: all).")]


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
    since: Since = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.prices import price_rules
    from pyflare_cli.query.sessions import list_sessions
    from pyflare_cli.query.spans import SpanQuery
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console
    from pyflare_cli.render.sessions import emit_rows

    if sort not in SESSION_SORTS:
        raise UsageError(f"--sort {sort!r}: use {', '.join(SESSION_SORTS)}")
    at = now()
    window = current_window(since, until, at)
    root = read_store(store)
    rules, _ = price_rules(load_config(config))
    query = SpanQuery(*window.query_bounds, where)
    frame = list_sessions(root, query, at, rules, user, sort, ascending)
    if frame.is_empty():
        who = f" of user {user!r}" if user else ""
        raise UsageError(f"no sessions{who} in {window.label()}")
    emit_rows(console(), frame.head(limit) if limit else frame, fmt.value)


def users(
    sort: Annotated[
        str, typer.Option("--sort", help=f"Sort by: {', '.join(USER_SORTS)}.")
    ] = "last_seen",
    ascending: Ascending = False,
    limit: Limit = 50,
    since: Since = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.prices import price_rules
    from pyflare_cli.query.sessions import list_users
    from pyflare_cli.query.spans import SpanQuery
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console
    from pyflare_cli.render.sessions import emit_rows

    if sort not in USER_SORTS:
        raise UsageError(f"--sort {sort!r}: use {', '.join(USER_SORTS)}")
    at = now()
    window = current_window(since, until, at)
    root = read_store(store)
    rules, _ = price_rules(load_config(config))
    frame = list_users(root, SpanQuery(*window.query_bounds, where), at, rules, sort, ascending)
    if frame.is_empty():
        raise UsageError(f"no users in {window.label()}")
    emit_rows(console(), frame.head(limit) if limit else frame, fmt.value)


@session_app.command("show")
def show(
    session: Annotated[str, typer.Argument(help="A session id, as `pyflare sessions` lists.")],
    full: Annotated[bool, typer.Option("--full", help="Whole prompts and answers.")] = False,
    since: Since = "30d",
    store: StoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A session's traces in time order (root, duration, cost, outcome) and its conversation.

    Text is redacted with the `redaction` section of pyflare.yaml when it has one.

    Example:

        pyflare session show sess_9d7e534fec14 --full
    """
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.prices import price_rules
    from pyflare_cli.query.sessions import show_session
    from pyflare_cli.query.spans import SpanQuery
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console
    from pyflare_cli.render.sessions import emit_session

    at = now()
    window = current_window(since, None, at)
    root = read_store(store)
    cfg = load_config(config)
    rules, _ = price_rules(cfg)
    found = show_session(root, session, SpanQuery(*window.query_bounds), at, rules, cfg.redaction)
    emit_session(console(), found, fmt.value, full)
