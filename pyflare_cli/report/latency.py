"""The latency and errors sections: percentiles over time by model, error rate by model,
the top failure templates.

Latency and error figures are ``pyflare stats --by model --unit llm``'s; the failure
templates are ``pyflare rca``'s failure clusters (:mod:`report.rca`, computed once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyflare_cli.report import charts, text
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Chart, Section, Table, TraceRef

if TYPE_CHECKING:
    from pyflare_cli.query.stats import StatsResult


def by_model(ctx: ReportContext) -> StatsResult:
    """Per model and period: requests, errors, percentiles (the LLM calls), computed once."""
    if "stats_by_model" not in ctx.memo:
        from pyflare_cli.query.stats import StatsRequest, load_stats

        request = StatsRequest(
            by=("model",),
            unit="llm",
            since=ctx.window.start.isoformat(),
            until=ctx.window.end.isoformat(),
            where=ctx.where,
            every=ctx.step,
        )
        ctx.memo["stats_by_model"] = load_stats(ctx.root, request, ctx.now, ctx.rules)
    result: StatsResult = ctx.memo["stats_by_model"]
    return result


def _name(value: Any) -> str:
    return "(none)" if value is None else str(value)


def latency(ctx: ReportContext) -> Section:
    import polars as pl

    result = by_model(ctx)
    assert result.periods is not None
    periods = result.periods.with_columns(
        pl.col("model").fill_null("(none)"), *(pl.col(p) / 1e6 for p in ("p50", "p95", "p99"))
    )
    long = periods.unpivot(
        ["p50", "p95", "p99"],
        index=["period", "model"],
        variable_name="percentile",
        value_name="ms",
    )
    chart_list = []
    for name in ("p95", "p50"):
        rows = text.rows_of(long.filter(pl.col("percentile") == name), ["period", "model", "ms"])
        chart_list.append(
            Chart(
                f"latency-{name}",
                f"{name} latency over time by model",
                charts.lines("period", "ms", "model", f"{name} (ms)"),
                rows,
            )
        )
    table_rows: list[list[Any]] = [
        [
            _name(r["model"]),
            text.count(r["requests"]),
            text.ms(r["p50"]),
            text.ms(r["p95"]),
            text.ms(r["p99"]),
            text.change(r["p95_change"]),
        ]
        for r in result.table.head(ctx.top * 2).iter_rows(named=True)
    ]
    table = Table(
        "Latency by model (LLM calls)",
        ["model", "calls", "p50", "p95", "p99", "p95 change"],
        table_rows,
        frozenset({1, 2, 3, 4, 5}),
    )
    calls = text.count(int(result.table.get_column("requests").sum()))
    lead = f"Latency of {calls} LLM calls by model; percentiles are exact."
    return Section("latency", "Latency", lead, charts=chart_list, tables=[table])


def errors(ctx: ReportContext) -> Section:
    import polars as pl

    from pyflare_cli.report.rca import rca_report

    result = by_model(ctx)
    assert result.periods is not None
    table = result.table.with_columns(pl.col("model").fill_null("(none)"))
    bar_rows = text.rows_of(
        table.sort("error_rate", descending=True), ["model", "error_rate", "errors", "requests"]
    )
    chart_list = [
        Chart(
            "errors-by-model",
            "Error rate by model",
            charts.bars("model", "error_rate", "error rate", ".1%"),
            bar_rows,
        )
    ]
    over_time = text.rows_of(
        result.periods.with_columns(pl.col("model").fill_null("(none)")),
        ["period", "model", "error_rate"],
    )
    chart_list.append(
        Chart(
            "errors-over-time",
            "Error rate over time by model",
            charts.lines("period", "error_rate", "model", "error rate", ".0%"),
            over_time,
        )
    )
    tables = [_error_table(table, ctx.top * 2)]
    notes = []
    ids: list[str] = []
    report = rca_report(ctx)
    if report is None:
        notes.append(str(ctx.memo.get("rca_missing", "No failure templates.")))
    else:
        clusters = report.clusters.head(ctx.top)
        rows: list[list[Any]] = []
        for r in clusters.iter_rows(named=True):
            examples = list(r["examples"] or [])[:2]
            ids += examples
            rows.append(
                [
                    str(r["template"]),
                    text.count(r["count"]),
                    text.share(r["share"]),
                    text.count(r["baseline_count"]),
                    "; ".join(r["concentrated_in"]) or "-",
                    *([TraceRef(examples[0])] if examples else ["-"]),
                ]
            )
        tables.append(
            Table(
                "Top failure templates",
                ["template", "count", "share", "window before", "concentrated in", "example"],
                rows,
                frozenset({1, 2, 3}),
            )
        )
        if not rows:
            notes.append("No failed spans carry an error message in the window.")
    errors_total = int(result.table.get_column("errors").sum())
    calls = int(result.table.get_column("requests").sum())
    rate = text.share(errors_total / calls if calls else None)
    lead = f"{errors_total:,} of {calls:,} LLM calls failed ({rate})."
    return Section(
        "errors", "Errors", lead, charts=chart_list, tables=tables, notes=notes, trace_ids=ids
    )


def _error_table(table: Any, rows: int) -> Table:
    """Error rate by model with its change in points: the bar chart's figures as a table,
    so a Markdown summary without images has them too."""
    ranked = table.sort(["errors", "requests", "model"], descending=[True, True, False])
    found: list[list[Any]] = [
        [
            str(r["model"]),
            text.count(r["requests"]),
            text.count(r["errors"]),
            text.share(r["error_rate"]),
            text.change(r["error_rate_change"], points=True),
        ]
        for r in ranked.head(rows).iter_rows(named=True)
    ]
    note = "" if ranked.height <= rows else f"{ranked.height - rows:,} more not shown"
    return Table(
        "Error rate by model (LLM calls)",
        ["model", "calls", "errors", "error rate", "change"],
        found,
        frozenset({1, 2, 3, 4}),
        note,
    )
