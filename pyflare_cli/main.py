"""The ``pyflare`` command: the Typer root app, exit-code policy and lazy command registration.

Commands are listed from a static table (name, module, one-line help) so that ``pyflare
--version`` and ``pyflare --help`` import no command module, and ``pyflare COMMAND``
imports only that command's module: start-up stays at Typer's own cost.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer import _click as click  # Typer vendors its own Click; its classes are these
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from pyflare_cli import __version__
from pyflare_cli.errors import PyflareError

if TYPE_CHECKING:
    from typer._click.shell_completion import CompletionItem

INTERNAL_ERROR = 3
BROKEN_PIPE = 141

COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("ingest", "Ingest OTLP dumps and span exports into the store."),
    "receive": (
        "receive",
        "Receive spans over OTLP/HTTP and OTLP/gRPC into the store, until Ctrl-C or SIGTERM.",
    ),
    "traces": ("traces", "List traces, one row per trace, most interesting first."),
    "query": ("query", "Run read-only SQL over the store; the table is `spans`."),
    "rca": (
        "rca",
        "Find why errors, latency or cost rose: slices, new versions, failure templates, causes.",
    ),
    "tui": (
        "tui",
        "Explore traces in the terminal: the trace list, waterfalls, span details, "
        "per-trace statistics and comparisons.",
    ),
    "demo": ("demo", "Generate demo traces into the store (or a file) and show what to try next."),
    "store": ("store", "Inspect and maintain the span store."),
    "trace": ("traces", "Look at one trace."),
    "cost": (
        "cost",
        "LLM spend: by model, user, service or any attribute; prices; top traces; a CI gate.",
    ),
    "drift": (
        "drift",
        "Drift of a model's inputs, outputs, embeddings and error behaviour; a CI gate.",
    ),
    "alert": (
        "alert",
        "Alert rules over the span store: states, silences, notifications, rule tests.",
    ),
    "stats": (
        "stats",
        "Usage analytics per group: requests, errors, latency percentiles, tokens and cost.",
    ),
    "sessions": (
        "sessions",
        "Sessions: user, start, duration, traces, turns, models, tools, tokens, cost.",
    ),
    "session": (
        "sessions",
        "Look at one session: its traces in time order and its conversation.",
    ),
    "users": (
        "sessions",
        "Users: sessions, requests, turns, cost, error rate, first and last seen.",
    ),
    "tools": ("tools", "Tools and agents: the tool call sequences each agent runs most."),
    "metrics": (
        "metrics",
        "Prometheus metrics of the store: LLM calls, errors, tokens, cost, latency histograms.",
    ),
    "eval": (
        "eval",
        "Quality and safety of LLM outputs: scores in the traces, offline evaluators, a CI gate.",
    ),
    "report": (
        "report",
        "One self-contained HTML report with charts: overview, cost, latency, errors, drift, "
        "rca, alerts, eval, and the top traces as waterfalls.",
    ),
    "bench": (
        "bench",
        "Benchmarks of every stage on generated data, an OTLP load generator, a CI gate.",
    ),
}
"""Command name -> (module under ``pyflare_cli.commands``, the first paragraph of its help),
in the order ``pyflare --help`` lists them; tests/commands/test_startup.py checks the texts."""


def load_commands(module: str) -> dict[str, click.Command]:
    """Import one command module and convert what its ``register`` adds into Click commands."""
    holder = typer.Typer(rich_markup_mode="markdown")
    importlib.import_module(f"pyflare_cli.commands.{module}").register(holder)
    return dict(typer.main.get_group(holder).commands)


class LazyCommands(MutableMapping[str, click.Command]):
    """The root's commands: names known from :data:`COMMANDS`, modules imported on lookup."""

    def __init__(self, added: MutableMapping[str, click.Command]) -> None:
        self._loaded: dict[str, click.Command] = dict(added)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded and name in COMMANDS:
            self._loaded.update(load_commands(COMMANDS[name][0]))
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._loaded if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(name not in COMMANDS for name in self._loaded)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._loaded


class PyflareGroup(TyperGroup):
    """Maps errors to the exit codes every command shares (DESIGN.md)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PyflareError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except (Exit, Abort, TyperException):
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # The reader went away (`pyflare ... | head`): stop quietly, as a
            # SIGPIPE-killed Unix tool would, and keep the interpreter's final
            # flush from raising again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(BROKEN_PIPE)
        except Exception as exc:
            _unexpected(ctx, exc)
        except BaseException as exc:  # a Rust panic inside Polars is a BaseException
            if type(exc).__name__ != "PanicException":
                raise
            _unexpected(ctx, exc)


def _unexpected(ctx: Any, exc: BaseException) -> None:
    """Exit 2 naming the part when a read failed on a damaged store, else exit 3."""
    damage = None
    if "pyflare_cli.store.scan" in sys.modules:  # a span scan ran: a part may be damaged
        from pyflare_cli.store.scan import damage_behind

        damage = damage_behind(exc)
    if ctx.meta.get("pyflare.debug"):
        traceback.print_exc()
    if damage is not None:
        typer.echo(f"error: {damage.message}", err=True)
        ctx.exit(damage.exit_code)
    if not ctx.meta.get("pyflare.debug"):
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            err=True,
        )
    ctx.exit(INTERNAL_ERROR)


class RootGroup(PyflareGroup):
    """``pyflare`` itself: lists commands by name and help from :data:`COMMANDS` without
    importing them, and imports a command's module only when it is looked up to run or to
    show its own help."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands)
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if self._listing and cmd_name in COMMANDS:
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1])
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        from pyflare_cli.commands.engine_options import OFF_SEAM, refuse_engine

        if name in OFF_SEAM and not any(a in ("--help", "-h") for a in rest):
            refuse_engine(name)  # $PYFLARE_ENGINE names an engine: exit 2, never a local load
        return name, command, rest

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        self._listing = True
        try:
            return super().shell_complete(ctx, incomplete)
        finally:
            self._listing = False


app = typer.Typer(
    cls=RootGroup,
    name="pyflare",
    help="Trace analysis for LLM and ML workloads, from a local Parquet span store.\n\n"
    "Start with `pyflare demo`, then `pyflare traces`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pyflare {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """Trace analysis for LLM and ML workloads."""
    ctx.meta["pyflare.debug"] = debug


def run() -> None:
    """Console-script entry point."""
    sys.exit(app())
