"""The `pyflare rca` report for people (Rich sections) and machines (JSON, Markdown).

Every finding carries example trace ids, printed so that `pyflare trace show ID` (and
`pyflare tui ID`) open them directly.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from rich.console import Console
from rich.text import Text

from pyflare_cli.analysis.figures import share
from pyflare_cli.analysis.rca.causes import metric_value
from pyflare_cli.analysis.rca.model import RcaReport
from pyflare_cli.render.output import _jsonable, rich_table, to_markdown

ID = 12
"""Trace ids are shown by their first 12 characters, enough for `pyflare trace show`."""


def _ids(ids: list[str] | None) -> str:
    return ", ".join(i[:ID] for i in ids or []) or "-"


def _pct(value: float | None) -> str:
    """A share as rca's evidence and the report print it (5.6%, 39%)."""
    return share(value)


def _time(value: Any) -> str:
    return value.strftime("%m-%d %H:%M") if value is not None else "-"


def headline(report: RcaReport, target: str, baseline: str) -> str:
    t = report.totals
    metric = report.metric
    line = (
        f"{metric}: {metric_value(metric, t.mean_target)} in {target} ({t.n_target:,} spans) vs "
        f"{metric_value(metric, t.mean_baseline)} in {baseline} ({t.n_baseline:,} spans)"
    )
    if metric == "errors":
        line += f"; {t.excess:+,.0f} errors against the baseline rate"
    return line


def slices_frame(report: RcaReport, top: int) -> pl.DataFrame:
    metric = report.metric
    rows = [
        {
            "slice": r["slice"],
            "spans": f"{r['n_target']:,}",
            "here": metric_value(metric, r["metric_target"]),
            "compared with": (
                f"{metric_value(metric, r['metric_reference'])} baseline"
                if r["compared_with"] == "baseline"
                else f"{metric_value(metric, r['metric_reference'])} replaced (new)"
            ),
            "effect": f"{r['effect']:.2f}",
            "q": f"{r['q_value']:.2g}",
            "explains": _pct(r["explained"]),
        }
        for r in report.significant.head(top).iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String) if rows else None)


def changes_frame(report: RcaReport) -> pl.DataFrame:
    metric = report.metric
    rows = [
        {
            "new": f"{r['dimension']} = {r['value']}",
            "first seen": _time(r["first_seen"]),
            "spans": f"{r['n_target']:,}",
            "here": metric_value(metric, r["metric"]),
            "before": metric_value(metric, r["expected"]),
            "seen before": _time(r["seen_before"]),
            "share of rise": _pct(r["share_of_excess"]),
            "p": f"{r['p_value']:.2g}",
            "traces": _ids(r["examples"][:2]),
        }
        for r in report.changes.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String) if rows else None)


def clusters_frame(report: RcaReport) -> pl.DataFrame:
    rows = [
        {
            "template": r["template"],
            "count": f"{r['count']:,}",
            "share": _pct(r["share"]),
            "baseline": f"{r['baseline_count']:,}",
            "seen": f"{_time(r['first_seen'])}..{_time(r['last_seen'])}",
            "concentrated in": "; ".join(r["concentrated_in"]) or "-",
            "traces": _ids(r["examples"][:2]),
        }
        for r in report.clusters.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String) if rows else None)


def latency_frame(report: RcaReport, top: int) -> pl.DataFrame:
    rows = [
        {
            "operation": r["operation"],
            "slow traces": f"{r['target_ms']:,.0f} ms",
            "baseline": f"{r['baseline_ms']:,.0f} ms",
            "added": f"{r['added_ms']:+,.0f} ms",
            "share": _pct(r["share"]),
            "traces": _ids((r["examples"] or [])[:2]),
        }
        for r in report.latency.head(top).iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String) if rows else None)


def _sections(report: RcaReport, top: int) -> list[tuple[str, pl.DataFrame]]:
    sections = [
        ("Problematic slices", slices_frame(report, top)),
        ("New versions, models and deployments", changes_frame(report)),
        ("Failure clusters", clusters_frame(report)),
    ]
    if report.metric == "latency":
        title = (
            f"Added time on the critical path ({report.slow_traces:,} traces slower than "
            f"{report.slow_threshold_ms:,.0f} ms)"
        )
        sections.append((title, latency_frame(report, top)))
    return sections


def _footer(report: RcaReport, correction: str, alpha: float) -> str:
    method = "Bonferroni" if correction == "bonferroni" else "false discovery rate (BH)"
    return (
        f"{report.tested:,} slices tested over {len(report.dimensions)} dimensions; "
        f"significant at {method} {alpha:g}"
    )


def print_report(
    out: Console,
    report: RcaReport,
    target: str,
    baseline: str,
    top: int,
    correction: str,
    alpha: float,
) -> None:
    out.print(Text(headline(report, target, baseline), style="bold"), soft_wrap=True)
    out.print()
    out.print(Text("Root causes", style="bold underline"))
    if not report.causes:
        out.print("  nothing significant: no slice, change or new failure explains a rise")
    for rank, cause in enumerate(report.causes[:top], start=1):
        out.print(Text(f"{rank}. {cause.title}", style="bold"), soft_wrap=True)
        for line in cause.evidence:
            out.print(f"   - {line}", soft_wrap=True, markup=False)
        out.print(f"   next: {cause.next_step}", soft_wrap=True, markup=False)
        if cause.traces:
            out.print(f"   traces: {_ids(cause.traces)} (pyflare trace show ID)", soft_wrap=True)
    for title, frame in _sections(report, top):
        out.print()
        out.print(Text(title, style="bold underline"))
        if frame.height:
            out.print(rich_table(frame))
        else:
            out.print("  none")
    out.print(_footer(report, correction, alpha), style="dim")


def payload(report: RcaReport, target: str, baseline: str) -> dict[str, Any]:
    t = report.totals
    return {
        "metric": report.metric,
        "target": {"label": target, "spans": t.n_target, "mean": t.mean_target},
        "baseline": {"label": baseline, "spans": t.n_baseline, "mean": t.mean_baseline},
        "excess": t.excess,
        "dimensions": report.dimensions,
        "tested_slices": report.tested,
        "causes": [
            {
                "title": c.title,
                "evidence": c.evidence,
                "next_step": c.next_step,
                "traces": c.traces,
            }
            for c in report.causes
        ],
        "slices": [_jsonable(r) for r in report.significant.to_dicts()],
        "changes": [_jsonable(r) for r in report.changes.to_dicts()],
        "failure_clusters": [_jsonable(r) for r in report.clusters.to_dicts()],
        "latency": [_jsonable(r) for r in report.latency.to_dicts()],
    }


def markdown(report: RcaReport, target: str, baseline: str, top: int) -> str:
    lines = [f"**{headline(report, target, baseline)}**", "", "### Root causes", ""]
    for rank, cause in enumerate(report.causes[:top], start=1):
        lines.append(f"{rank}. **{cause.title}**")
        lines.extend(f"   - {e}" for e in cause.evidence)
        lines.append(f"   - next: {cause.next_step}")
        if cause.traces:
            lines.append(f"   - traces: `{'`, `'.join(t[:ID] for t in cause.traces)}`")
    if not report.causes:
        lines.append("Nothing significant.")
    for title, frame in _sections(report, top):
        lines += ["", f"### {title}", ""]
        lines.append(to_markdown(frame) if frame.height else "none\n")
    return "\n".join(lines)


def emit_report(
    out: Console,
    report: RcaReport,
    fmt: str,
    target: str,
    baseline: str,
    top: int,
    correction: str,
    alpha: float,
) -> None:
    if fmt == "json":
        text = json.dumps(payload(report, target, baseline), indent=2, ensure_ascii=False)
        out.print(text, markup=False, soft_wrap=True)
    elif fmt == "markdown":
        out.file.write(markdown(report, target, baseline, top))
    else:
        print_report(out, report, target, baseline, top, correction, alpha)
