"""``pyflare report``: one self-contained HTML page (or PDF, or Markdown for a CI step
summary) with the figures of cost, stats, drift, rca, alerts and eval, and waterfalls.

Thin: options become a :class:`report.context.ReportContext`, :func:`report.build.
build_report` gathers the sections from the commands' own query and analysis functions,
:mod:`render.report` draws them; heavy imports happen inside the function.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import (
    ConfigOption,
    StoreOption,
    UntilOption,
    WhereOption,
    WindowStartOption,
)
from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyflare_cli.report.context import ReportContext

SECTIONS = ("overview", "cost", "latency", "errors", "drift", "rca", "alerts", "eval")
"""The keys of ``report.build.SECTIONS``, named here so that help imports nothing heavy."""


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"
    markdown = "markdown"


HELP = f"""One self-contained HTML report with charts: overview, cost, latency, errors, drift,
rca, alerts, eval, and the top traces as waterfalls.

The file needs no network to open (no script, font or image from elsewhere), reads on a
laptop and a phone, follows the browser's light or dark mode, and holds each chart's data
as JSON. `--format markdown` writes tables and links for a CI step summary (charts as SVG
files with `--assets DIR`); `--format pdf` prints the page with Chromium. A section whose
data is missing says so.

Sections: {", ".join(SECTIONS)}.

For a schedule (cron, CI), `--out` takes the window's dates, `{{date}}` (its last day),
`{{start}}`, `{{end}}`, and `--keep N` deletes the older files of that pattern.

Example:

    pyflare report --since 7d --out report.html

    pyflare report --since 7d --out 'reports/weekly-{{date}}.html' --keep 12
"""


def register(app: typer.Typer) -> None:
    app.command("report", help=HELP)(report)


def report(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File to write. Default: report.html, report.pdf, or stdout for markdown.",
            show_default=False,
        ),
    ] = None,
    sections: Annotated[
        str | None,
        typer.Option("--sections", help="Comma-separated, e.g. cost,drift. Default: all."),
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="html, pdf or markdown.", case_sensitive=False),
    ] = ReportFormat.html,
    assets: Annotated[
        Path | None,
        typer.Option("--assets", help="With --format markdown: write the charts here as SVG."),
    ] = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Rows per table.")] = 10,
    traces: Annotated[
        int, typer.Option("--traces", min=0, help="Traces drawn as waterfalls, at most.")
    ] = 6,
    keep: Annotated[
        int | None,
        typer.Option(
            "--keep",
            min=1,
            help="With a dated --out: delete older files of the same name pattern, keeping "
            "the N newest (by the dates in their names) and this one.",
            show_default=False,
        ),
    ] = None,
    parallel: Annotated[
        bool,
        typer.Option(
            "--parallel",
            help="Run rca's analysis (errors, rca) in a background thread beside the other "
            "sections: same page, sooner only with a core to spare, about 150 MB more at peak.",
        ),
    ] = False,
    since: WindowStartOption = "7d",
    until: UntilOption = None,
    where: WhereOption = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    from pyflare_cli.memory import configure_jemalloc

    configure_jemalloc()  # before Polars loads: freed pages go back between sections
    from pyflare_cli.render.report.dated import dated, rotate
    from pyflare_cli.render.report.write import check_target, write_report
    from pyflare_cli.report.build import build_report, parse_sections
    from pyflare_cli.store.layout import read_store

    names = parse_sections(sections)
    if assets is not None and fmt is not ReportFormat.markdown:
        raise UsageError("--assets goes with --format markdown (HTML and PDF embed the charts)")
    target = out or (None if fmt is ReportFormat.markdown else Path(f"report.{fmt.value}"))
    check_target(target, fmt.value)
    _check_schedule(target, assets, keep)
    if fmt is ReportFormat.pdf:
        from pyflare_cli.render.report.pdf import find_browser

        find_browser()  # exit 2 before the work when there is no Chromium to print with
    root = read_store(store)
    ctx = _context(root, since, until, where, config, top, traces)
    template = target
    if target is not None:
        target = dated(target, ctx.window)
        check_target(target, fmt.value)
    if assets is not None:
        assets = dated(assets, ctx.window, "--assets")
    progress = _progress()
    pool = None
    if fmt is not ReportFormat.markdown or assets is not None:
        from pyflare_cli.render.report.svg import ChartPool

        # charts are drawn while the light sections are built, after the heavy ones
        pool = ChartPool(start=False)
    try:
        built = build_report(
            ctx,
            names,
            str(root),
            ctx.now,
            progress,
            pool.submit if pool else lambda _: None,
            pool.start if pool else lambda: None,
            serial=not parallel,
        )
        progress(f"writing {target or 'stdout'}")
        written = write_report(built, fmt.value, target, assets, pool)
    finally:
        if pool is not None:
            pool.close()
    if target is not None:
        typer.echo(f"wrote {target} ({written:,} bytes)", err=True)
    if keep is not None and template is not None and target is not None:
        removed = rotate(template, target, keep)
        if removed:
            typer.echo(f"removed {len(removed)} older report(s) (--keep {keep})", err=True)


def _check_schedule(target: Path | None, assets: Path | None, keep: int | None) -> None:
    """Exit 2 on a bad field in ``--out``/``--assets``, or ``--keep`` without a dated
    ``--out`` (nothing to tell this run's file from the others) or with ``--assets``."""
    from pyflare_cli.render.report.dated import is_dated

    if assets is not None:
        is_dated(assets, "--assets")
    if target is not None:
        is_dated(target)
    if keep is None:
        return
    if target is None or not is_dated(target):
        raise UsageError("--keep needs a dated --out, e.g. --out 'report-{date}.html'")
    if assets is not None:
        raise UsageError("--keep rotates --out files only; it does not go with --assets")


def _context(
    root: Path,
    since: str,
    until: str | None,
    where: str | None,
    config: Path | None,
    top: int,
    traces: int,
) -> ReportContext:
    from pyflare_cli.config.drift import parse_drift
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.windows import current_window
    from pyflare_cli.report.context import ReportContext

    cfg = load_config(config)
    drift = parse_drift(cfg.raw.get("drift"), str(cfg.path))
    at = now()
    window = current_window(since, until, at)
    return ReportContext(
        root, window, where, at, cfg.price_rules, cfg.budgets, drift, top=top, waterfalls=traces
    )


def _progress() -> Callable[[str], None]:
    """A callable printing each step on stderr when it is a terminal, else doing nothing."""
    if not sys.stderr.isatty():
        return lambda _: None
    from rich.console import Console

    err = Console(stderr=True, markup=False, highlight=False)
    return lambda step: err.print(f"… {step}", style="dim")
