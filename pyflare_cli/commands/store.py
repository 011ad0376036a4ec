"""``pyflare store info|compact|prune``: look after the span store."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import FormatOption, OutputFormat, StoreOption
from pyflare_cli.render.units import count, size
from pyflare_cli.store.layout import resolve_store

store_app = typer.Typer(
    help="Inspect and maintain the span store.\n\nExample:\n\n    pyflare store info",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")


@store_app.command("info")
def info(store: StoreOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Rows, traces, services, models, time range, files and bytes of the store.

    Example:

        pyflare store info --format json
    """
    import polars as pl
    from rich.console import Console
    from rich.table import Table

    from pyflare_cli.render.output import console, emit
    from pyflare_cli.store.info import store_info

    result = store_info(resolve_store(store))
    data = asdict(result) | {"bytes_per_span": round(result.bytes_per_span, 1)}
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(data, default=str, indent=2))
        return
    if fmt is not OutputFormat.table:
        emit(pl.DataFrame([data]), fmt.value, console())
        return
    table = Table(show_header=False, box=None, title=f"store {result.root}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    span_range = (
        f"{result.first_span:%Y-%m-%d %H:%M} .. {result.last_span:%Y-%m-%d %H:%M} UTC"
        if result.first_span and result.last_span
        else "empty"
    )
    for label, value in (
        ("spans", count(result.rows)),
        ("traces", count(result.traces)),
        ("services", str(result.services)),
        ("models", str(result.models)),
        ("time range", span_range),
        ("partitions", str(result.partitions)),
        ("files", str(result.files)),
        ("size", size(result.bytes)),
        ("bytes/span", f"{result.bytes_per_span:.0f}"),
        ("sources", str(result.sources)),
        ("dead-letter files", str(result.dead_letter_files)),
    ):
        table.add_row(label, value)
    Console(highlight=False).print(table)


@store_app.command("compact")
def compact_cmd(store: StoreOption = None) -> None:
    """Merge small part files per day and drop duplicate (trace_id, span_id) rows.

    Example:

        pyflare store compact --store ./.pyflare
    """
    from pyflare_cli.store.maintenance import compact

    report = compact(resolve_store(store))
    typer.echo(
        f"compacted {report.partitions} partition(s): {report.files_before} -> "
        f"{report.files_after} files, {report.duplicates_removed} duplicate span(s) removed, "
        f"{size(report.bytes_before)} -> {size(report.bytes_after)}"
    )


@store_app.command("prune")
def prune_cmd(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age to keep, e.g. 30d, 12h, or an ISO date.")
    ],
    store: StoreOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
) -> None:
    """Delete the days of spans older than a retention period.

    Whole UTC days are removed: a day goes when all of it is older than the cut-off.

    Example:

        pyflare store prune --older-than 30d
    """
    from pyflare_cli.analysis.search.time_bounds import time_bound
    from pyflare_cli.store.maintenance import prune

    cutoff = time_bound(older_than, now())
    report = prune(resolve_store(store), cutoff.date(), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    days = ", ".join(report.partitions) or "nothing"
    typer.echo(
        f"{verb} {len(report.partitions)} day(s) ({days}): {report.files} files, "
        f"{count(report.rows)} spans, {size(report.bytes)}"
    )
