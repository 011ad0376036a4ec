"""``pyflare query``: read-only SQL over the span store (Polars SQL)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from pyflare_cli.commands.options import StoreOption
from pyflare_cli.errors import UsageError
from pyflare_cli.store.layout import read_store

HELP = """Run read-only SQL over the store; the table is `spans`.

Columns are those of the canonical span (see `docs/store.md`) plus `cost_usd`.
Output as a table, JSON, CSV, or Parquet with `--output file.parquet`.

Example:

    pyflare query "SELECT model, count(*) AS calls, sum(cost_usd) AS cost FROM spans
    WHERE model IS NOT NULL GROUP BY model ORDER BY cost DESC"
"""

_READ_ONLY = re.compile(r"^\s*(?:--[^\n]*\n\s*)*(SELECT|WITH)\b", re.IGNORECASE)
QUERY_FORMATS = ("table", "json", "csv", "markdown", "parquet")


def register(app: typer.Typer) -> None:
    app.command("query", help=HELP)(query)


def query(
    sql: Annotated[str, typer.Argument(help="A SELECT (or WITH ... SELECT) statement.")],
    store: StoreOption = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"One of: {', '.join(QUERY_FORMATS)}.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="At most this many rows (0: all).")
    ] = 0,
) -> None:
    import polars as pl

    from pyflare_cli.clock import now
    from pyflare_cli.query.prices import priced
    from pyflare_cli.query.sql import run_sql, statements
    from pyflare_cli.render.output import console, emit
    from pyflare_cli.store.scan import scan_spans

    if fmt not in QUERY_FORMATS:
        raise UsageError(f"--format {fmt!r} is not one of {', '.join(QUERY_FORMATS)}")
    if output is not None and output.suffix == ".parquet":
        fmt = "parquet"
    if fmt == "parquet" and output is None:
        raise UsageError("--format parquet needs --output FILE")
    found = statements(sql)
    if len(found) != 1 or not _READ_ONLY.match(found[0]):
        raise UsageError("only one read-only SELECT or WITH statement is allowed")
    sql = found[0]
    if output is not None:
        _check_output(output)
    root = read_store(store)
    spans = priced(scan_spans(root), root)
    try:
        frame = run_sql(spans, sql, now(), limit)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        from pyflare_cli.store.scan import damage_behind

        if (damage := damage_behind(exc)) is not None:  # a damaged part, not the SQL
            raise damage from None
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "Map(" in message:
            message += "; read an attribute with attr('key') or attributes['key']"
        raise UsageError(f"SQL error: {message}") from None
    if output is not None:
        try:
            if fmt == "parquet":
                frame.write_parquet(output)
            else:
                with open(output, "w", encoding="utf-8") as handle:
                    emit(frame, fmt, console(handle))
        except OSError as exc:
            raise UsageError(f"--output {output}: cannot write it ({exc.strerror})") from None
        typer.echo(f"wrote {frame.height} rows to {output}")
        return
    emit(frame, fmt, console())


def _check_output(output: Path) -> None:
    """Exit 2 naming ``--output`` when its folder is missing or it is a folder."""
    if output.is_dir():
        raise UsageError(f"--output {output}: is a folder; give a file name")
    if not output.parent.is_dir():
        raise UsageError(f"--output {output}: the folder {output.parent} does not exist")
