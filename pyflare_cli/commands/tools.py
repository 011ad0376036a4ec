"""``pyflare tools sequences``: the tool call sequences agents run most, with success rates.

Thin: :mod:`query.tools` finds the sequences, :mod:`render.output` prints them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import (
    FormatOption,
    OutputFormat,
    StoreOption,
    UntilOption,
    WhereOption,
    WindowStartOption,
)
from pyflare_cli.errors import UsageError
from pyflare_cli.store.layout import read_store

tools_app = typer.Typer(
    help="Tools and agents: the tool call sequences each agent runs most.\n\n"
    "Example:\n\n    pyflare tools sequences --agent support-agent",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def register(app: typer.Typer) -> None:
    app.add_typer(tools_app, name="tools")


@tools_app.command("sequences")
def sequences_cmd(
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Only this agent.")] = None,
    length: Annotated[
        int, typer.Option("--length", "-k", min=1, max=10, help="Tool calls per sequence.")
    ] = 2,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="At most this many per agent (0: all).")
    ] = 10,
    since: WindowStartOption = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The most common sequences of LENGTH consecutive tool calls per agent run, with how
    many runs contain them and how often none of their calls failed.

    A run is an agent run (a span naming the agent), or the trace for tools called under
    no agent; its tool calls are the tools directly under it, in start order.

    Example:

        pyflare tools sequences --agent support-agent --length 3
    """
    import polars as pl

    from pyflare_cli.query.spans import SpanQuery
    from pyflare_cli.query.tools import tool_sequences
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.render.output import console, emit

    at = now()
    window = current_window(since, until, at)
    found = tool_sequences(
        read_store(store), SpanQuery(*window.query_bounds, where), at, length, agent
    )
    if found.is_empty():
        who = f" by agent {agent!r}" if agent else ""
        raise UsageError(f"no sequences of {length} tool call(s){who} in {window.label()}")
    if limit:
        found = found.filter(pl.int_range(pl.len()).over("agent") < limit)
    if fmt is OutputFormat.table:
        found = found.with_columns(
            pl.col("success_rate").map_elements(lambda v: f"{v:.1%}", return_dtype=pl.String),
            pl.col("share").map_elements(lambda v: f"{v:.1%}", return_dtype=pl.String),
        )
    emit(found, fmt.value, console())
