"""The overview: requests, users, sessions, tokens, cost, error rate and p95 of the window,
each with its change against the previous window and a small trend.

The figures are ``pyflare stats``'s (:func:`query.stats.load_stats`, no grouping), so the
report and the command never disagree.
"""

from __future__ import annotations

from typing import Any

from pyflare_cli.report import charts, text
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Chart, Kpi, Section

FIGURES: list[tuple[str, str, str, bool | None]] = [
    ("requests", "Requests", "count", None),
    ("users", "Users", "count", None),
    ("sessions", "Sessions", "count", None),
    ("tokens", "Tokens", "count", None),
    ("cost_usd", "Cost", "usd", False),
    ("error_rate", "Error rate", "share", False),
    ("p95", "p95 latency", "ms", False),
]
"""(figure, label, format, whether higher is better: None when neither)."""
FORMATS = {"count": text.count, "usd": text.usd, "share": text.share, "ms": text.ms}


def overview(ctx: ReportContext) -> Section:
    import polars as pl

    from pyflare_cli.analysis.stats.dimensions import default_unit
    from pyflare_cli.query.stats import StatsRequest, load_stats

    request = StatsRequest(
        by=(),
        unit=default_unit([]),
        since=ctx.window.start.isoformat(),
        until=ctx.window.end.isoformat(),
        where=ctx.where,
        series=True,
    )
    result = load_stats(ctx.root, request, ctx.now, ctx.rules)
    tokens = pl.col("input_tokens").fill_null(0) + pl.col("output_tokens").fill_null(0)
    before = pl.col("previous_input_tokens").fill_null(0) + pl.col(
        "previous_output_tokens"
    ).fill_null(0)
    row = result.table.with_columns(
        tokens.alias("tokens"),
        pl.when(before > 0).then((tokens - before) / before).alias("tokens_change"),
    ).row(0, named=True)
    assert result.series is not None
    series = result.series.with_columns(tokens.alias("tokens"))
    kpis = [_kpi(row, series, figure, label, fmt, better) for figure, label, fmt, better in FIGURES]
    unit = "traces" if request.unit == "trace" else request.unit
    lead = (
        f"{text.count(row['requests'])} {unit} in {ctx.window.label()}; each change is "
        "against the window of the same length before it."
    )
    notes = []
    if result.unpriced:
        notes.append(f"{result.unpriced:,} LLM call(s) have no price: cost is undercounted.")
    return Section("overview", "Overview", lead=lead, kpis=kpis, notes=notes)


def _kpi(
    row: dict[str, Any], series: Any, figure: str, label: str, fmt: str, better: bool | None
) -> Kpi:
    points = figure == "error_rate"
    delta = row.get(f"{figure}_change")
    rows = text.rows_of(series, ["period", figure])
    trend = Chart(
        f"overview-{figure}",
        f"{label} per period",
        charts.sparkline("period", figure),
        rows,
        sparkline=True,
    )
    return Kpi(
        label,
        FORMATS[fmt](row[figure]),
        text.change(delta, points),
        text.tone(delta, better, points),
        trend if len(rows) > 1 else None,
    )
