"""The ``pyflare`` command: the Typer root app, exit-code policy and command registration."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

from pyflare_cli import __version__
from pyflare_cli.errors import PyflareError

INTERNAL_ERROR = 3
BROKEN_PIPE = 141


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
            if ctx.meta.get("pyflare.debug"):
                traceback.print_exc()
            else:
                typer.echo(
                    f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
                    err=True,
                )
            ctx.exit(INTERNAL_ERROR)


app = typer.Typer(
    cls=PyflareGroup,
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


def _register() -> None:
    from pyflare_cli.commands import (
        alert,
        bench,
        cost,
        demo,
        drift,
        ingest,
        query,
        rca,
        receive,
        store,
        traces,
        tui,
    )

    for module in (
        ingest,
        receive,
        store,
        traces,
        query,
        cost,
        drift,
        rca,
        alert,
        bench,
        tui,
        demo,
    ):
        module.register(app)


_register()


def run() -> None:
    """Console-script entry point."""
    sys.exit(app())
