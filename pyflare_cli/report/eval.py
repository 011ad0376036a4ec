"""The evaluations section: per evaluator the results, mean score, pass rate and their
change against the window before, with the mean over time (``pyflare eval summary``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pyflare_cli.errors import PyflareError
from pyflare_cli.report import charts, text
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Chart, Section, Table


def evaluations(ctx: ReportContext) -> Section:
    import polars as pl

    from pyflare_cli.analysis.eval.summary import series, summarise, with_change, with_groups
    from pyflare_cli.query.evaluations import load_scores
    from pyflare_cli.query.spans import SpanQuery

    window = ctx.window
    scores, spans = load_scores(ctx.root, SpanQuery(*window.query_bounds, ctx.where), ctx.now)
    before, before_spans = load_scores(
        ctx.root, SpanQuery(*window.previous().query_bounds, ctx.where), ctx.now
    )
    current = summarise(with_groups(scores, spans, []), [], {})
    previous = summarise(with_groups(before, before_spans, []), [], {})
    step = "1h" if window.length <= timedelta(days=2) else "1d"
    table, trend = pl.collect_all([with_change(current, previous, []), series(scores, step)])
    if table.height == 0:
        raise PyflareError(
            f"no evaluation results in {window.label()} (`pyflare eval run` adds some)"
        )
    rows: list[list[Any]] = []
    for r in table.iter_rows(named=True):
        rows.append(
            [
                str(r["evaluator"]),
                text.count(r["results"]),
                "-" if r["mean"] is None else f"{r['mean']:.3f}",
                text.share(r["pass_rate"]),
                text.count(r["failed"]),
                text.change(r.get("pass_rate_change"), points=True),
            ]
        )
    columns = ["evaluator", "results", "mean", "pass rate", "failed", "pass rate change"]
    chart_rows = text.rows_of(trend)
    found = [Table("Per evaluator", columns, rows, frozenset({1, 2, 3, 4, 5}))]
    chart_list = []
    if chart_rows:
        spec = charts.lines("bucket", "mean", "evaluator", "mean score")
        chart_list.append(Chart("eval-mean", "Mean score over time by evaluator", spec, chart_rows))
    results = int(table.get_column("results").sum())
    lead = f"{len(rows)} evaluator(s), {results:,} results in {window.label()}."
    return Section("eval", "Evaluations", lead, charts=chart_list, tables=found)
