"""``pyflare store info|compact|prune|check|repair``: look after the span store."""

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
    Console(highlight=False, markup=False).print(table)


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


@store_app.command("check")
def check_cmd(store: StoreOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    """Read every part in full and open the catalog; exit 1 when anything is damaged.

    Finds what a query would trip on (a part cut short by a full disk, garbled bytes,
    a catalog that is no database) and names each file; `store repair` fixes them.

    Example:

        pyflare store check --store ./.pyflare
    """
    from pyflare_cli.errors import GateFailed
    from pyflare_cli.store.check import check_store

    result = check_store(resolve_store(store))
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(_check_json(result), indent=2))
    else:
        sources = "none" if result.catalog_sources is None else str(result.catalog_sources)
        typer.echo(
            f"checked {result.parts} part(s), {count(result.rows)} spans readable; "
            f"catalog sources: {sources}"
        )
        for damage in result.damage:
            typer.echo(f"damaged {damage.kind}: {damage.path}: {damage.reason}")
        for stray in result.stray_temporary:
            typer.echo(f"stray temporary part (repair or the next ingest removes it): {stray}")
    if not result.ok:
        raise GateFailed(
            f"{len(result.damage)} damaged file(s) in {result.root}; "
            f"`pyflare store repair --store {result.root}` moves them to quarantine/"
        )


@store_app.command("repair")
def repair_cmd(store: StoreOption = None) -> None:
    """Move damaged parts and catalog to `<store>/quarantine/` and rebuild the catalog.

    Nothing is deleted: each moved file keeps a `.reason` file beside it. Sources that
    lost a part are listed: ingest them again to restore their spans.

    Example:

        pyflare store repair --store ./.pyflare
    """
    from pyflare_cli.store.repair import repair

    report = repair(resolve_store(store), now())
    if report.check.ok:
        strays = report.stray_removed
        typer.echo(
            f"nothing to repair: {report.check.parts} part(s) and the catalog are readable"
            + (f"; removed {strays} stray temporary part(s)" if strays else "")
        )
        return
    for relative, reason in report.quarantined:
        typer.echo(f"quarantined {relative}: {reason}")
    if report.catalog_rebuilt:
        lost = f", {report.sources_lost} unreadable" if report.sources_lost else ""
        typer.echo(f"catalog rebuilt: {report.sources_kept} source(s) kept{lost}")
    for source in report.forgotten:
        typer.echo(f"lost spans of {source}: ingest it again to restore them")
    typer.echo(f"moved to {report.quarantine}")


def _check_json(result: object) -> dict[str, object]:
    from pyflare_cli.store.check import StoreCheck

    assert isinstance(result, StoreCheck)
    return {
        "store": str(result.root),
        "ok": result.ok,
        "parts": result.parts,
        "rows": result.rows,
        "catalog_sources": result.catalog_sources,
        "damage": [
            {"path": str(d.path), "kind": d.kind, "reason": d.reason} for d in result.damage
        ],
        "stray_temporary": [str(p) for p in result.stray_temporary],
    }
