"""Root causes and next steps, derived by rules from the findings, never invented.

Each cause cites its evidence (numbers and trace ids from the analyses) and a suggested
next step chosen by what the evidence is about: a new version (roll it back or compare it
with the old one), a model or provider with rate-limit or timeout errors (limits, retries),
a tool (retry and timeout), a region or user (their dependencies, their traffic), an
operation that added time on the critical path (profile it). Ranked by the share of the
rise each explains.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pyflare_cli.analysis.figures import share as pct
from pyflare_cli.analysis.rca.model import Cause, RcaReport

SLICE_CAUSES = 3
"""Slices named as causes; the report's slice table lists the rest."""
RATE_LIMIT = re.compile(r"rate.?limit|429|quota|too many requests", re.IGNORECASE)
TIMEOUT = re.compile(r"timeout|timed out|deadline", re.IGNORECASE)
SERVER = re.compile(r"\b5\d\d\b|internal server error|unavailable|bad gateway", re.IGNORECASE)


def _metric_word(metric: str) -> str:
    return {"errors": "errors", "latency": "latency", "cost": "cost"}.get(metric, metric)


def metric_value(metric: str, value: float | None) -> str:
    """A figure of ``metric`` as people read it (a rate, milliseconds, dollars); "-" for none."""
    if value is None or value != value:
        return "-"
    if metric == "errors":
        return f"{value:.1%}"
    if metric == "latency":
        return f"{value:,.0f} ms"
    if metric == "cost":
        return f"${value:.4f}"
    return f"{value:.3g}"


def _time(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "?"


def _template_step(template: str) -> str | None:
    if RATE_LIMIT.search(template):
        return "raise the rate limit or quota, or add retries with backoff and spread the load"
    if TIMEOUT.search(template):
        return "check the callee's latency; raise the timeout or add a retry with a deadline"
    if SERVER.search(template):
        return "check the health of the upstream service that answers 5xx"
    return None


def _slice_step(conditions: list[str], template: str | None) -> str:
    keys = {c.split(" = ", 1)[0] for c in conditions}
    values: dict[str, str] = dict(c.split(" = ", 1) for c in conditions)
    by_template = _template_step(template) if template else None
    if "version" in keys:
        return f"roll back {values['version']}, or compare it with the previous version"
    if keys & {"model", "provider"}:
        target = " in ".join(values[k] for k in ("model", "provider") if k in values) + "".join(
            f" ({v})" for k, v in values.items() if "region" in k
        )
        return f"check {target}: " + (by_template or "its error responses and configuration")
    if "tool" in keys:
        return f"add a retry and a timeout around tool {values['tool']}; check its dependency"
    if any("region" in k or k.startswith("resource.") for k in keys):
        return "check the dependencies and quotas of " + ", ".join(conditions)
    if "user" in keys:
        return f"look at the traffic of {values['user']} (volume, inputs)"
    return by_template or "open the example traces with `pyflare trace show`"


def _matching_template(report: RcaReport, conditions: list[str]) -> dict[str, Any] | None:
    """The most frequent failure template that concentrates in one of ``conditions``."""
    wanted = set(conditions)
    for row in report.clusters.iter_rows(named=True):
        places = {c.rsplit(" (", 1)[0] for c in row["concentrated_in"]}
        if places & wanted:
            return dict(row)
    return None


WHERE = ("resource.",)
"""Dimensions that say where something runs: named in a finding's title when all of its
rows share one value (the others are listed in its evidence)."""
MATERIAL = 0.2
"""A new value is named as a cause of its own only when it carries this share of the rise."""


def _new_in(report: RcaReport, conditions: list[str]) -> dict[str, Any] | None:
    """The new change value (appeared in the window) among ``conditions``, if any."""
    wanted = set(conditions)
    for change in report.changes.iter_rows(named=True):
        if f"{change['dimension']} = {change['value']}" in wanted:
            return dict(change)
    return None


def _keys(conditions: list[str]) -> set[str]:
    return {c.split(" = ", 1)[0] for c in conditions}


def _appeared(change: dict[str, Any]) -> str:
    if change["seen_before"] is not None:
        return f"{change['value']} (first seen {_time(change['seen_before'])}, before the window)"
    return f"{change['value']} appeared at {_time(change['first_seen'])}"


def root_causes(
    report: RcaReport,
    examples: dict[str, list[str]],
    alpha: float,
    onsets: dict[str, dict[str, Any]] | None = None,
    within: dict[str, list[str]] | None = None,
) -> list[Cause]:
    """The ranked causes of ``report`` (see module docstring), by share of the rise.

    ``onsets``: for a lead slice, the new version or model after whose arrival its metric
    rose (with the rates before and after), when that test passed."""
    onsets = onsets or {}
    within = within or {}
    word = _metric_word(report.metric)
    causes: list[Cause] = []
    cited: set[str] = set()
    named: set[str] = set()
    ceiling = 1.0
    for row in list(report.significant.iter_rows(named=True))[:SLICE_CAUSES]:
        # the search's order (share of the rise, near ties by concentration) is kept
        ceiling = min(float(min(row["explained"] or 0.0, 1.0)), ceiling) - 1e-9
        template = _matching_template(report, row["conditions"])
        change = _new_in(report, row["conditions"])
        reference = (
            "the baseline"
            if row["compared_with"] == "baseline"
            else "the baseline of the spans it replaced"
        )
        evidence = [
            f"{metric_value(report.metric, row['metric_target'])} in {row['n_target']:,} vs "
            f"{metric_value(report.metric, row['metric_reference'])} in {reference}"
            f" (q = {row['q_value']:.2g})",
        ]
        if row["explained"] is not None:
            evidence.append(f"explains {pct(min(row['explained'], 1.0))} of the rise in {word}")
        held = within.get(row["slice"], [])
        where = [w for w in held if w.startswith(WHERE)]
        title = row["slice"] + (f" (all in {', '.join(where)})" if where else "")
        if held:
            evidence.append("all of it in " + ", ".join(held))
        step = _slice_step(row["conditions"], template["template"] if template else None)
        onset = onsets.get(row["slice"])
        if onset is not None and change is None:
            change = onset["change"]
            title = f"{word} rose in {title} after {_appeared(change)}"
            evidence.append(
                f"{metric_value(report.metric, onset['after'])} after it vs "
                f"{metric_value(report.metric, onset['before'])} before it in the window "
                f"(p = {onset['p']:.2g})"
            )
            named.add(change["value"])
            if change["dimension"] == "version":
                step = f"roll back {change['value']} (its arrival started it); then " + step
        elif change is not None:
            named.add(change["value"])
            title = f"{word} rose in {title}: {_appeared(change)}"
            if change["dimension"] == "version" and change["seen_before"] is None:
                step = f"roll back {change['value']}, or compare it with the version it replaced"
        if template is not None:
            line = f"failing with `{template['template']}` ({template['count']:,}x)"
            evidence.append(line)
            cited.add(line)
        causes.append(
            Cause(
                title=title,
                evidence=evidence,
                next_step=step,
                traces=examples.get(row["slice"], []),
                weight=ceiling,
            )
        )
    for change in report.changes.iter_rows(named=True):
        share = change["share_of_excess"]
        if change["value"] in named or change["q_value"] >= alpha or not share:
            continue
        if share < MATERIAL or change["metric"] <= change["expected"]:
            continue
        seen = metric_value(report.metric, change["metric"])
        expected = metric_value(report.metric, change["expected"])
        causes.append(
            Cause(
                title=f"{word} rose after {_appeared(change)}",
                evidence=[
                    f"{pct(share)} of the rise in {word} is in {change['value']} "
                    f"({change['n_target']:,}: {seen} vs {expected} in the baseline it replaced)"
                ],
                next_step=(
                    f"roll back {change['value']}, or compare it with the version it replaced"
                    if change["dimension"] == "version"
                    else f"review the switch to {change['dimension']} {change['value']}"
                ),
                traces=list(change["examples"]),
                weight=float(share),
            )
        )
    causes += _cluster_causes(report, cited) + _latency_causes(report)
    return sorted(causes, key=lambda c: -c.weight)


def _cluster_causes(report: RcaReport, cited: set[str]) -> list[Cause]:
    causes = []
    for row in report.clusters.iter_rows(named=True):
        new = row["baseline_count"] == 0 or row["count"] >= 3 * row["baseline_count"]
        template_step = _template_step(row["template"])
        line = f"failing with `{row['template']}` ({row['count']:,}x)"
        if not new or template_step is None or line in cited:
            continue
        where = f"; in {', '.join(row['concentrated_in'])}" if row["concentrated_in"] else ""
        causes.append(
            Cause(
                title=f"new failure: {row['template']}",
                evidence=[
                    f"{row['count']:,}x in the window ({pct(row['share'])} of its errors), "
                    f"{row['baseline_count']:,}x in the baseline{where}"
                ],
                next_step=template_step,
                traces=list(row["examples"]),
                weight=float(row["share"]) * 0.5,
            )
        )
    return causes


def _latency_causes(report: RcaReport) -> list[Cause]:
    causes = []
    for row in report.latency.head(3).iter_rows(named=True):
        if row["share"] is None or row["share"] < 0.2:
            continue
        causes.append(
            Cause(
                title=f"{row['operation']} added {row['added_ms']:,.0f} ms per slow trace",
                evidence=[
                    f"on the critical path of {report.slow_traces:,} slow traces "
                    f"(> {report.slow_threshold_ms:,.0f} ms): {row['target_ms']:,.0f} ms vs "
                    f"{row['baseline_ms']:,.0f} ms in comparable baseline traces, "
                    f"{pct(row['share'])} of the added time"
                ],
                next_step=f"profile {row['operation']}: its inputs, its callee, its retries",
                traces=list(row["examples"] or []),
                weight=float(row["share"]),
            )
        )
    return causes
