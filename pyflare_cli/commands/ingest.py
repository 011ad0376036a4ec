"""``pyflare ingest``: read OTLP dumps and span exports into the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.commands.options import ConfigOption, FormatOption, OutputFormat, StoreOption
from pyflare_cli.errors import UsageError
from pyflare_cli.render.units import count
from pyflare_cli.store.layout import resolve_store

if TYPE_CHECKING:
    from rich.console import Console

    from pyflare_cli.ingest.report import IngestReport

HELP = """Ingest OTLP dumps and span exports into the store.

Formats are recognised by content: OTLP protobuf (one request or a length-delimited
stream), OTLP/JSON and JSON Lines (the Collector's file exporter), Arize/Phoenix
exports (JSONL, JSON, CSV, Parquet); `.gz` and `.zst` are opened transparently.
Folders are walked recursively; `-` reads standard input. Ingesting the same file
twice adds nothing; unreadable records go to the dead-letter folder. A file that
cannot be read at all is named on stderr, the others still go in, and the run
exits 2.

Example:

    pyflare ingest traces.jsonl exports/ --store ./.pyflare
"""


def register(app: typer.Typer) -> None:
    app.command("ingest", help=HELP)(ingest)


def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders, or - for stdin.")],
    store: StoreOption = None,
    config: ConfigOption = None,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="Decoding processes (0: one per core, max 4).")
    ] = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from pyflare_cli.config.file import load_config
    from pyflare_cli.ingest.inputs import STDIN, expand_paths
    from pyflare_cli.ingest.pipeline import Ingestor

    cfg = load_config(config)
    files = expand_paths(paths)
    if not files:
        raise UsageError(f"no files found in {', '.join(paths)}")
    ingestor = Ingestor(resolve_store(store), redaction=cfg.redaction)
    if workers:
        ingestor.workers = workers
    err = Console(stderr=True, highlight=False)
    total = sum(Path(f).stat().st_size for f in files if f != STDIN and Path(f).is_file())
    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not err.is_terminal,
            transient=True,
        ) as progress:
            bar = progress.add_task("ingesting", total=total or None)
            report = ingestor.ingest(
                files, lambda done: progress.advance(bar, done), sys.stdin.buffer
            )
    finally:
        ingestor.close()
    for failed in report.failed:
        err.print(f"error: {failed.error}", markup=False, soft_wrap=True)
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(summary(report), indent=2))
    elif fmt is OutputFormat.table:
        _print_summary(report, Console(highlight=False, markup=False))
    else:
        import polars as pl

        from pyflare_cli.render.output import console, emit

        details = pl.DataFrame([f.__dict__ for f in report.files], infer_schema_length=None)
        emit(details, fmt.value, console())
    if report.failed:
        # The readable files are in; a refused one still makes the run fail (exit 2).
        raise typer.Exit(2)


def summary(report: IngestReport) -> dict[str, object]:
    return {
        "files": len(report.files),
        "ingested": sum(f.status == "ingested" for f in report.files),
        "duplicates": sum(f.status == "duplicate" for f in report.files),
        "failed": len(report.failed),
        "spans": report.spans,
        "traces": report.traces,
        "dead_lettered": report.dead_lettered,
        "skipped_non_trace": report.skipped,
        "seconds": round(report.seconds, 3),
        "spans_per_second": round(report.spans_per_second),
        "details": [f.__dict__ for f in report.files],
    }


def _print_summary(report: IngestReport, out: Console) -> None:
    duplicates = sum(f.status == "duplicate" for f in report.files)
    out.print(
        f"ingested {count(report.spans)} spans in {count(report.traces)} traces "
        f"from {len(report.files) - duplicates - len(report.failed)} file(s) "
        f"in {report.seconds:.2f}s ({count(report.spans_per_second)} spans/s)"
    )
    if duplicates:
        out.print(f"{duplicates} file(s) already in the store: skipped")
    if report.skipped:
        out.print(f"{report.skipped} non-trace record(s) (metrics, logs) skipped")
    if report.dead_lettered:
        out.print(f"{report.dead_lettered} record(s) dead-lettered:")
        for f in report.files:
            if f.dead_lettered:
                out.print(
                    f"  {f.path}: {f.dead_lettered} -> {f.dead_letter_file}",
                    markup=False,
                    soft_wrap=True,
                )
    if report.failed:
        out.print(f"{len(report.failed)} file(s) could not be read")
