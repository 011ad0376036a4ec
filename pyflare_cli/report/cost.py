"""The cost section: spend over time stacked by model, by user, agent and tool, the
costliest traces, budgets and the forecast with its interval.

The figures are ``pyflare cost``'s: the window and the one before are each read once into
the rows of :func:`analysis.cost.report.spend_parts` by :func:`query.spend.spend_parts`
(token sums priced per group where that is exact, else span by span, as the command), and
every table is a re-aggregation of them. The costliest traces need each trace's priced
spans, so they are collected apart, after the parts: one plan at a time keeps the peak
of the section to the largest of them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pyflare_cli.report import charts, text
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Chart, Kpi, Section, Table, TraceRef

if TYPE_CHECKING:
    import polars as pl

BREAKDOWNS = ("model", "user", "agent", "tool")
FORECAST_DAYS = 7
HISTORY_DAYS = 14
"""Whole days of spend the forecast is fitted on (as ``pyflare cost forecast --since 14d``):
enough for its weekly pattern (10 days), half the read of the command's default 28."""


def cost(ctx: ReportContext) -> Section:
    import polars as pl

    from pyflare_cli.analysis.cost.report import (
        table_of,
        top_traces_by_cost,
        total_of,
        unpriced_of,
        with_change,
    )
    from pyflare_cli.query.spans import SpanQuery, select_spans
    from pyflare_cli.query.spend import spend_parts

    by = list(BREAKDOWNS)
    windows = [(ctx.window, ctx.step), (ctx.window.previous(), None)]
    parts, parts_before = spend_parts(
        ctx.root, windows, by, ctx.step, ctx.where, ctx.now, ctx.rules
    )
    chosen = select_spans(
        ctx.root, SpanQuery(*ctx.window.query_bounds, ctx.where), ctx.now, ctx.rules
    )
    top = top_traces_by_cost(chosen.spans, ctx.top).collect()
    frames = pl.collect_all(
        [
            table_of(parts.lazy(), ["model"], ctx.step),
            total_of(parts.lazy()),
            total_of(parts_before.lazy()),
            unpriced_of(parts.lazy()),
            *(
                with_change(table_of(parts.lazy(), [d]), table_of(parts_before.lazy(), [d]), [d])
                for d in by
            ),
        ]
    )
    over_time, total, total_before, unpriced = frames[:4]
    spent = (total.item() or 0) / 1e6
    spent_before = (total_before.item() or 0) / 1e6
    delta = (spent - spent_before) / spent_before if spent_before else None
    kpis = [Kpi("Spend", text.usd(spent), text.change(delta), text.tone(delta, False))]
    missing_spans = int(unpriced.get_column("spans").sum() or 0) if unpriced.height else 0
    kpis.append(
        Kpi("Unpriced calls", text.count(missing_spans), tone="bad" if missing_spans else "neutral")
    )
    section_charts = []
    rows = text.rows_of(
        over_time.with_columns(pl.col("model").fill_null("(none)")), ["period", "model", "cost_usd"]
    )
    if rows:
        section_charts.append(
            Chart(
                "cost-by-model",
                "Spend over time by model",
                charts.stacked_bars("period", "cost_usd", "model", "USD", ctx.step),
                rows,
            )
        )
    tables = [_breakdown(name, frame) for name, frame in zip(by, frames[4:], strict=True)]
    tables.append(_top(top))
    notes: list[str] = []
    if missing_spans:
        models = ", ".join(str(m) for m in unpriced.get_column("model").head(5).to_list())
        notes.append(
            f"{missing_spans:,} call(s) use tokens but have no price ({models}): "
            "see `pyflare cost prices --missing`."
        )
    forecast_chart, forecast_note = _forecast(ctx)
    if forecast_chart is not None:
        section_charts.append(forecast_chart)
    notes.append(forecast_note)
    tables += _budgets(ctx)
    ids = top.get_column("trace_id").to_list()
    moved = text.change(delta) or "no change"
    lead = f"{text.usd(spent)} in {ctx.window.label()} ({moved} against the window before)."
    return Section("cost", "Cost", lead, kpis, section_charts, tables, notes, trace_ids=ids)


def _breakdown(name: str, frame: pl.DataFrame) -> Table:
    rows: list[list[Any]] = []
    for r in frame.head(10).iter_rows(named=True):
        rows.append(
            [
                str(r[name]) if r[name] is not None else "(none)",
                text.usd(r["cost_usd"]),
                text.share(r["share"]),
                text.change(r["change"]),
                text.count(r["requests"]),
            ]
        )
    note = "" if frame.height <= 10 else f"{frame.height - 10:,} more not shown"
    return Table(
        f"Spend by {name}",
        [name, "cost", "share", "change", "requests"],
        rows,
        frozenset({1, 2, 3, 4}),
        note,
    )


def _top(top: pl.DataFrame) -> Table:
    rows: list[list[Any]] = [
        [
            TraceRef(r["trace_id"]),
            text.usd(r["cost_usd"]),
            f"{r['root_service'] or ''} {r['root_name'] or ''}".strip(),
            text.count(r["calls"]),
            ", ".join(str(m) for m in r["models"]),
        ]
        for r in top.iter_rows(named=True)
    ]
    return Table(
        "Costliest traces", ["trace", "cost", "root", "calls", "models"], rows, frozenset({1, 3})
    )


def _forecast(ctx: ReportContext) -> tuple[Chart | None, str]:
    """The next days' spend with its 80% interval, fitted on the whole days before today."""
    import polars as pl

    from pyflare_cli.analysis.cost import forecast as fc
    from pyflare_cli.query.spans import SpanQuery, select_spans

    today = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=HISTORY_DAYS)
    query = SpanQuery(first.isoformat(), today.isoformat(), ctx.where)
    series = fc.daily_series(select_spans(ctx.root, query, ctx.now, ctx.rules).spans).collect()
    try:
        frame = fc.forecast_daily(series, FORECAST_DAYS, level=0.8)
        total = fc.forecast_total(series, FORECAST_DAYS, level=0.8)
    except fc.NotEnoughHistory as exc:
        return None, f"No forecast: {str(exc).rstrip('.')} (it needs 7 whole days of spend)."
    history = series.select(
        pl.col("day"), (pl.col("cost_micros") / 1e6).alias("usd"), pl.lit("spent").alias("kind")
    )
    rows = text.rows_of(history) + [
        {**r, "kind": "forecast"} for r in text.rows_of(frame.rename({"forecast_usd": "usd"}))
    ]
    spec = {
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.25},
                "encoding": {
                    "x": {"field": "day", "type": "temporal", "title": None},
                    "y": {"field": "lower_usd", "type": "quantitative", "title": "USD per day"},
                    "y2": {"field": "upper_usd"},
                },
            },
            {
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": {"field": "day", "type": "temporal"},
                    "y": {"field": "usd", "type": "quantitative"},
                    "color": {
                        "field": "kind",
                        "type": "nominal",
                        "title": None,
                        "scale": {"domain": ["spent", "forecast"]},
                        "legend": {"orient": "bottom"},
                    },
                    "strokeDash": {
                        "field": "kind",
                        "type": "nominal",
                        "scale": {"domain": ["spent", "forecast"], "range": [[1, 0], [5, 3]]},
                        "legend": None,
                    },
                },
            },
        ],
        "width": charts.WIDTH,
        "height": 180,
    }
    note = (
        f"Forecast for the next {FORECAST_DAYS} days: {text.usd(total.forecast_usd)} "
        f"(80% interval {text.usd(total.lower_usd)} to {text.usd(total.upper_usd)}), "
        f"fitted on {series.height} days."
    )
    return Chart("cost-forecast", "Daily spend and forecast (80% interval)", spec, rows), note


def _budgets(ctx: ReportContext) -> list[Table]:
    if not ctx.budgets:
        return []
    from pyflare_cli.query.budgets import budget_status

    frame = budget_status(ctx.root, ctx.budgets, ctx.now, ctx.rules)
    rows: list[list[Any]] = [
        [
            str(r["name"]),
            str(r["period"]),
            text.usd(r["spent_usd"]),
            text.usd(r["limit_usd"]),
            text.share(r["share"]),
            text.usd(r["projected_usd"]),
            str(r["status"]),
        ]
        for r in frame.iter_rows(named=True)
    ]
    columns = ["budget", "period", "spent", "limit", "used", "projected", "status"]
    return [Table("Budgets", columns, rows, frozenset({2, 3, 4, 5}))]
