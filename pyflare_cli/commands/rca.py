"""``pyflare rca``: why errors, latency or cost went up, from the spans alone; a CI gate.

Thin: options become a target and a baseline set of spans; :func:`analysis.rca.analyse`
does the work and :mod:`render.rca_report` prints it. SciPy and the analyses are imported
inside the command so other commands start fast.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.engine_options import EngineOption, EngineStoreOption, SparkMasterOption
from pyflare_cli.commands.options import (
    ConfigOption,
    FormatOption,
    HtmlOption,
    OutputFormat,
    UntilOption,
    WhereOption,
)
from pyflare_cli.errors import GateFailed, UsageError

if TYPE_CHECKING:
    import polars as pl

    from pyflare_cli.analysis.cost.price_rules import PriceRule
    from pyflare_cli.analysis.rca.model import RcaReport
    from pyflare_cli.config.file import Config
    from pyflare_cli.query.windows import Window
    from pyflare_cli.store.category import AttributeReads

METRICS = ("errors", "latency", "cost")
UNITS = ("origin", "span", "trace")
UNUSED = ("events", "links", "input_text", "output_text", "embedding")
"""Columns no analysis of the report reads: not read from Parquet at all."""


def register(app: typer.Typer) -> None:
    app.command("rca")(rca)


def _check_metric(metric: str) -> str:
    if metric in METRICS or (metric.startswith("attr.") and len(metric) > 5):
        return metric
    raise UsageError(f"--metric {metric!r}: use errors, latency, cost or attr.<numeric key>")


def rca(
    metric: Annotated[
        str, typer.Option("--metric", "-m", help="errors, latency, cost or attr.<numeric key>.")
    ] = "errors",
    since: Annotated[
        str, typer.Option("--since", help="Target window start: 1h, 24h or an ISO date.")
    ] = "24h",
    until: UntilOption = None,
    baseline_since: Annotated[
        str | None,
        typer.Option("--baseline-since", help="Baseline start. Default: the window before."),
    ] = None,
    baseline_until: Annotated[
        str | None,
        typer.Option("--baseline-until", help="Baseline end. Default: the target's start."),
    ] = None,
    vs_rest: Annotated[
        bool,
        typer.Option("--vs-rest", help="Compare --select spans with the rest of the window."),
    ] = False,
    select: Annotated[
        str | None,
        typer.Option("--select", help="With --vs-rest: the target spans, e.g. 'duration:>5s'."),
    ] = None,
    where: WhereOption = None,
    span_filter: Annotated[
        str | None,
        typer.Option("--span-filter", help="Only these spans, e.g. 'type:llm'."),
    ] = None,
    dimension: Annotated[
        list[str] | None,
        typer.Option("--dimension", help="Also slice by attr.<key> or resource.<key>."),
    ] = None,
    min_size: Annotated[
        int, typer.Option("--min-size", min=5, help="Smallest slice, in target spans.")
    ] = 30,
    max_order: Annotated[
        int, typer.Option("--max-order", min=1, max=3, help="Crossed dimensions, at most.")
    ] = 3,
    alpha: Annotated[
        float,
        typer.Option("--alpha", min=0.0001, max=0.5, help="Significance after correction."),
    ] = 0.05,
    correction: Annotated[
        str, typer.Option("--correction", help="fdr (Benjamini-Hochberg) or bonferroni.")
    ] = "fdr",
    unit: Annotated[
        str,
        typer.Option(
            "--unit",
            help="What fails or is slow: origin (errors where they start, self time), "
            "span (every span) or trace (whole traces).",
        ),
    ] = "origin",
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Rows per section.")] = 10,
    fail_on_significant: Annotated[
        bool,
        typer.Option("--fail-on-significant", help="Exit 1 when a significant slice is found."),
    ] = False,
    store: EngineStoreOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
    html: HtmlOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
) -> None:
    """Find why errors, latency or cost rose: slices, new versions, failure templates, causes.

    Compares the window (--since/--until) with the window before it, or with
    --baseline-since/--baseline-until, or --select spans with the rest (--vs-rest).
    Errors count where they start (--unit origin): a parent failed by its child is not
    counted again. `--engine duckdb|spark|clickhouse` counts where the spans are
    (errors, --unit origin or span; docs/scale.md).

    Example:

        pyflare rca --metric errors --since 24h --fail-on-significant
    """
    from pyflare_cli.memory import configure_jemalloc

    configure_jemalloc()  # before Polars loads: freed pages go back, a lower peak
    from pyflare_cli.analysis.rca.model import RcaSettings
    from pyflare_cli.analysis.rca.report import analyse
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.windows import baseline_window, current_window
    from pyflare_cli.render.output import console
    from pyflare_cli.render.rca_report import emit_report
    from pyflare_cli.store.layout import read_store

    metric = _check_metric(metric)
    if correction not in ("fdr", "bonferroni"):
        raise UsageError(f"--correction {correction!r}: use fdr or bonferroni")
    if unit not in UNITS:
        raise UsageError(f"--unit {unit!r}: use origin, span or trace")
    if unit == "span" and fail_on_significant:
        typer.echo(
            "warning: --unit span counts a failure once per span it marks; spans of one "
            "trace fail together and the gate fires far too often (docs/rca.md, Limits). "
            "Gate on --unit origin or trace.",
            err=True,
        )
    if vs_rest != bool(select):
        raise UsageError("--vs-rest and --select go together: --vs-rest --select 'QUERY'")
    for name in dimension or []:
        if not name.startswith(("attr.", "resource.")) or len(name.split(".", 1)[1]) == 0:
            raise UsageError(f"--dimension {name!r}: use attr.<key> or resource.<key>")
    if fmt is OutputFormat.csv:
        raise UsageError("--format csv: the report has sections; use table, json or markdown")
    if html is not None:
        from pyflare_cli.render.report.write import check_target

        check_target(html, "html", "--html")
    at = now()
    cfg = load_config(config)
    target_window = current_window(since, until, at)
    start, end = target_window.start, target_window.end
    settings = RcaSettings(
        metric=metric,
        min_size=min_size,
        max_order=max_order,
        alpha=alpha,
        correction=correction,
        top=top,
        extra_dimensions=tuple(dimension or ()),
        unit=unit,
        vs_rest=vs_rest,
    )
    from pyflare_cli.engine.rca_command import engine_of, report_on

    on = engine_of(engine, cfg, store, html, settings)
    if on is not None:
        base = baseline_window(baseline_since, baseline_until, target_window, at)
        filters = (where, span_filter, select, at)
        report, target_label, baseline_label = report_on(
            on, cfg, store, spark_master, target_window, base, settings, filters
        )
    else:
        root = read_store(store, remote=True)
        rules = cfg.price_rules
        # Prices only where cost is read: pricing reads each window once more and joins it
        # with itself (calls reported twice); errors and latency never look at cost.
        priced = metric == "cost" or bool(where) or bool(span_filter)
        from pyflare_cli.store.category import AttributeReads

        # rca reads category attributes and the keys it names: the store's small map
        # serves them unless a filter may read any attribute (see store/category.py)
        reads = None if span_filter or select else AttributeReads(settings.attribute_keys(), True)
        window = _load(root, start, end, where, span_filter, at, rules if priced else None, reads)
        history = None
        if vs_rest:
            import polars as pl

            from pyflare_cli.analysis.search.compile import compile_query

            assert select is not None
            chosen = window.with_columns(compile_query(select, at).fill_null(False).alias("__in"))
            target = chosen.filter(pl.col("__in")).drop("__in")
            baseline = chosen.filter(~pl.col("__in")).drop("__in")
            target_label, baseline_label = f"--select {select!r}", "the rest of the window"
        else:
            base = baseline_window(baseline_since, baseline_until, target_window, at)
            b_start, b_end = base.start, base.end
            target = window
            prices = rules if priced else None
            baseline = _load(root, b_start, b_end, where, span_filter, at, prices, reads)
            history = _load(root, None, start, where, span_filter, at, prices, reads)
            target_label = f"{start:%m-%d %H:%M}..{end:%m-%d %H:%M}"
            baseline_label = f"{b_start:%m-%d %H:%M}..{b_end:%m-%d %H:%M}"
        n_target, n_baseline = _counts(target, baseline)
        if n_target == 0:
            raise UsageError(f"no spans in the target ({target_label})")
        if n_baseline == 0:
            raise UsageError(f"no spans in the baseline ({baseline_label})")
        report = analyse(target, baseline, settings, history)
        if report.totals.n_target == 0:
            raise UsageError(f"--metric {metric}: no span of the target has a value for it")
    emit_report(console(), report, fmt.value, target_label, baseline_label, top, correction, alpha)
    _finish(
        report,
        html,
        store,
        target_window,
        at,
        cfg,
        target_label,
        baseline_label,
        top,
        fail_on_significant,
        where,
    )


def _finish(
    report: RcaReport,
    html: Path | None,
    store: str | None,
    target_window: Window,
    at: datetime,
    cfg: Config,
    target_label: str,
    baseline_label: str,
    top: int,
    fail_on_significant: bool,
    where: str | None = None,
) -> None:
    """``--html`` (written before the gate's exit: the page of the failed gate), then the
    gate."""
    if html is not None:
        from pyflare_cli.render.report.write import write_section_html
        from pyflare_cli.report.context import ReportContext
        from pyflare_cli.report.rca import section_of
        from pyflare_cli.store.layout import read_store

        section = section_of(report, top, f"{target_label} against {baseline_label}")
        root = read_store(store, remote=True)
        ctx = ReportContext(root, target_window, where, at, cfg.price_rules, top=top)
        write_section_html(ctx, section, html)
    if fail_on_significant and report.significant.height:
        worst = report.significant.row(0, named=True)["slice"]
        raise GateFailed(f"{report.significant.height} significant slice(s); first: {worst}")


def _counts(target: pl.LazyFrame, baseline: pl.LazyFrame) -> tuple[int, int]:
    """Rows of each window, in one pass reading one column."""
    import polars as pl

    t, b = pl.collect_all([target.select(pl.len()), baseline.select(pl.len())])
    return int(t.item()), int(b.item())


def _load(
    root: Path,
    start: datetime | None,
    end: datetime,
    where: str | None,
    span_filter: str | None,
    at: datetime,
    rules: tuple[PriceRule, ...] | None,
    reads: AttributeReads | None = None,
) -> pl.LazyFrame:
    """The window's spans, lazy (whole traces for --where), then only --span-filter spans;
    priced with ``rules``, or without cost columns when None; ``reads``: what rca reads of
    the attributes (None: any key).

    Never collected here: the analysis reads them in grouped passes."""
    import polars as pl

    from pyflare_cli.analysis.search.compile import filter_spans
    from pyflare_cli.query.spans import SpanQuery, load_spans

    since = start.isoformat() if start else None
    query = SpanQuery(since, end.isoformat(), where)
    spans = load_spans(root, query, at, rules or (), prices=rules is not None, reads=reads)
    if span_filter:
        spans = filter_spans(spans, span_filter, at)
    return spans.select(pl.exclude(UNUSED))
