"""``pyflare tui``: open the interactive trace explorer (the app lives in ``pyflare_cli.tui``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pyflare_cli.commands.options import ConfigOption, SinceOption, StoreOption, WhereOption
from pyflare_cli.errors import UsageError

HELP = """Explore traces in the terminal: the trace list, waterfalls, span details,
per-trace statistics and comparisons.

The list is sortable, searchable with the query language (as `--where`), filtered by
facets and by a region of its duration-over-time scatter (d shows it, drag to select);
a trace opens as a waterfall with its critical path (f: flame graph, e: OTLP export).
Press `?` in the app for every key.

Example:

    pyflare tui --where 'status:error' --since 24h

    pyflare tui feedc0de --store ./.pyflare
"""


def register(app: typer.Typer) -> None:
    app.command("tui", help=HELP)(tui)


def is_terminal() -> bool:
    """Whether stdin and stdout are terminals (the app needs both)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def tui(
    trace_id: Annotated[
        str | None,
        typer.Argument(
            metavar="TRACE_ID",
            help="Open this trace's waterfall directly (an id or a unique prefix).",
            show_default=False,
        ),
    ] = None,
    where: WhereOption = None,
    since: SinceOption = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Follow the store: the list and an open trace show spans as they arrive.",
        ),
    ] = False,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    from pyflare_cli.tui.app import create_app, start_app

    if not is_terminal():
        # Check every option (the config too) so that the error names what is wrong.
        create_app(store, where=where, since=since, trace_id=trace_id, config=config)
        raise UsageError("pyflare tui needs a terminal; for text output use `pyflare traces`")
    app = start_app(store, where, since, trace_id, follow, config)
    app.run()
    if app.boot_error is not None:
        raise UsageError(app.boot_error)
