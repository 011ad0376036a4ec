"""The rca section: why errors rose in the window against the window before it, as
``pyflare rca --metric errors`` answers: ranked causes with their evidence, then the
significant slices.

The rca report is computed once (:func:`rca_report`) and shared with the errors section,
which shows its failure templates.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pyflare_cli.errors import PyflareError
from pyflare_cli.report import text
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Section, Table, TraceRef

if TYPE_CHECKING:
    import polars as pl

    from pyflare_cli.analysis.rca.model import RcaReport

UNUSED = ("events", "links", "input_text", "output_text", "embedding")


def _load(ctx: ReportContext, start: datetime | None, end: datetime) -> pl.LazyFrame:
    import polars as pl

    from pyflare_cli.query.spans import SpanQuery, load_spans
    from pyflare_cli.store.category import AttributeReads

    since = start.isoformat() if start else None
    query = SpanQuery(since, end.isoformat(), ctx.where)
    # errors by discovered dimensions: category keys only (the store's small map)
    reads = AttributeReads(any_category=True)
    spans = load_spans(ctx.root, query, ctx.now, ctx.rules, reads=reads)
    return spans.select(pl.exclude(UNUSED))


def rca_report(ctx: ReportContext) -> RcaReport | None:
    """``pyflare rca --metric errors`` on the window and the one before; None (and the
    reason in ``ctx.memo['rca_missing']``) when either window has no spans.

    When :func:`report.build.build_report` started it in the background
    (``ctx.memo['rca_pending']``, a future), waits for that one instead."""
    pending = ctx.memo.pop("rca_pending", None)
    if pending is not None:
        pending.result()
    return compute_rca(ctx)


def compute_rca(ctx: ReportContext) -> RcaReport | None:
    """:func:`rca_report` computed here, once: the memo keeps it for the next caller."""
    if "rca" in ctx.memo:
        report: RcaReport | None = ctx.memo["rca"]
        return report
    import polars as pl

    from pyflare_cli.analysis.rca.model import RcaSettings
    from pyflare_cli.analysis.rca.report import analyse

    window, base = ctx.window, ctx.window.previous()
    target = _load(ctx, window.start, window.end)
    baseline = _load(ctx, base.start, base.end)
    history = _load(ctx, None, window.start)
    n_target, n_baseline = (
        int(f.item()) for f in pl.collect_all([target.select(pl.len()), baseline.select(pl.len())])
    )
    found: RcaReport | None = None
    if n_target == 0 or n_baseline == 0:
        which = "window" if n_target == 0 else f"window before ({base.label()})"
        ctx.memo["rca_missing"] = f"No spans in the {which}: nothing to compare."
    else:
        found = analyse(target, baseline, RcaSettings(metric="errors", top=ctx.top), history)
    ctx.memo["rca"] = found
    return found


def rca(ctx: ReportContext) -> Section:
    report = rca_report(ctx)
    if report is None:
        raise PyflareError(str(ctx.memo["rca_missing"]))
    return section_of(
        report, ctx.top, f"{ctx.window.label()} against {ctx.window.previous().label()}"
    )


def section_of(report: RcaReport, top: int, compared: str) -> Section:
    """The section of one rca report (also ``pyflare rca --html``)."""
    from pyflare_cli.analysis.rca.causes import metric_value

    t = report.totals
    metric = report.metric
    lead = (
        f"{metric}: {metric_value(metric, t.mean_target)} over {t.n_target:,} spans vs "
        f"{metric_value(metric, t.mean_baseline)} over {t.n_baseline:,} ({compared})."
    )
    causes: list[list[Any]] = []
    ids: list[str] = []
    for rank, cause in enumerate(report.causes, start=1):
        ids += cause.traces[:2]
        causes.append(
            [
                str(rank),
                cause.title,
                " · ".join(cause.evidence),
                cause.next_step,
                *([TraceRef(cause.traces[0])] if cause.traces else ["-"]),
            ]
        )
    tables = [
        Table(
            "Ranked causes",
            ["#", "cause", "evidence", "next step", "example"],
            causes,
            frozenset({0}),
        )
    ]
    slices: list[list[Any]] = []
    for r in report.significant.head(top).iter_rows(named=True):
        slices.append(
            [
                str(r["slice"]),
                text.count(r["n_target"]),
                metric_value(metric, r["metric_target"]),
                metric_value(metric, r["metric_reference"]),
                f"{r['effect']:.2f}",
                f"{r['q_value']:.2g}",
                text.share(r["explained"]),
            ]
        )
    columns = ["slice", "spans", "here", "before", "effect", "q", "explains"]
    tables.append(Table("Significant slices", columns, slices, frozenset({1, 2, 3, 4, 5, 6})))
    notes = [] if report.causes else ["No cause stands out: no slice differs significantly."]
    return Section(
        "rca", "Root causes", lead, tables=tables, notes=notes, trace_ids=list(dict.fromkeys(ids))
    )
