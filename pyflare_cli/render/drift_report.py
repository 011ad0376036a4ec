"""Drift reports for people and machines: a status line and one row per feature, or the
gate's verdict.

The terminal table shows each feature's score against its threshold and a bar pair (the
reference histogram, then the current one on the same bins or categories). JSON and
Markdown are the gate's verdict (:mod:`render.verdict`): a check per model (the share of
drifted features) and per feature condition, with the drifted features that broke them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console
from rich.text import Text

from pyflare_cli.analysis.drift.model import DriftReport
from pyflare_cli.render.output import _jsonable, emit, rich_table
from pyflare_cli.render.sparkline import sparkline

if TYPE_CHECKING:
    from pyflare_cli.analysis.drift.gate import FeatureCondition
    from pyflare_cli.render.verdict import Verdict

VERDICT_STYLE = {
    "drifted": "bold red",
    "warning": "bold yellow",
    "healthy": "bold green",
    "insufficient data": "bold",
}


def _fmt(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}" if abs(value) < 1 else f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{value:.2e}"


def status_line(report: DriftReport, reference: str, current: str) -> Text:
    line = Text(f"{report.model}: ")
    line.append(report.verdict.upper(), style=VERDICT_STYLE[report.verdict])
    if report.tested:
        line.append(
            f" · {report.drifted} of {report.tested} features drifted ({report.share:.0%};"
            f" drifted at >= {report.drift_share:.0%})"
        )
    line.append(
        f" · reference {reference} ({report.n_reference:,} spans)"
        f" · current {current} ({report.n_current:,} spans)"
    )
    if report.correction != "none":
        line.append(f" · {report.correction} correction")
    return line


def _display(features: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for row in features.iter_rows(named=True):
        bars = ""
        if row["reference_hist"] and row["current_hist"]:
            top = max(max(row["reference_hist"]), max(row["current_hist"]))
            ref = sparkline([*row["reference_hist"], top])[:-1]
            cur = sparkline([*row["current_hist"], top])[:-1]
            bars = f"{ref} → {cur}"
        mark = {"drifted": "DRIFT", "ok": "ok"}.get(row["status"], row["status"])
        rows.append(
            {
                "feature": row["feature"],
                "type": row["drift_type"],
                "method": row["method"] or "-",
                "score": _fmt(row["score"]),
                "threshold": _fmt(row["threshold"]),
                "p-value": _fmt(row["p_value"]),
                "drift": mark,
                "reference": row["reference"] or "-",
                "current": row["current"] or "-",
                "shape": bars,
            }
        )
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String) if rows else None)


def print_report(out: Console, report: DriftReport, reference: str, current: str) -> None:
    out.print(status_line(report, reference, current), soft_wrap=True)
    if report.features.height:
        out.print(rich_table(_display(report.features)))


def report_payload(report: DriftReport, reference: str, current: str) -> dict[str, Any]:
    return {
        "model": report.model,
        "verdict": report.verdict,
        "drifted_features": report.drifted,
        "tested_features": report.tested,
        "drifted_share": report.share,
        "drift_share": report.drift_share,
        "correction": report.correction,
        "reference": {"label": reference, "spans": report.n_reference},
        "current": {"label": current, "spans": report.n_current},
        "features": [_jsonable(row) for row in report.features.to_dicts()],
    }


_OFFENDING = ("feature", "method", "score", "threshold", "p_value", "reference", "current")


def _offending(row: dict[str, Any]) -> dict[str, Any]:
    """A drifted feature for the verdict: the test and its numbers, no histograms."""
    return {k: row[k] for k in _OFFENDING}


def drift_verdict(
    reports: Sequence[DriftReport],
    fail_on: str,
    conditions: Sequence[FeatureCondition],
    reference: str,
    current: tuple[str, str],
) -> Verdict:
    """``drift`` as a gate: the share rule per model, then each per-feature condition.

    ``current`` is the current window's (start, end) in ISO; ``reference`` its label.
    """
    from pyflare_cli.analysis.drift.gate import condition_failed, feature_row, model_failed
    from pyflare_cli.render.verdict import Check, Verdict

    checks: list[Check] = []
    warnings: list[str] = []
    for report in reports:
        drifted = report.features.filter(report.features.get_column("status") == "drifted")
        failed = model_failed(report, fail_on)
        checks.append(
            Check(
                f"{report.model}: drifted features",
                not failed,
                report.drift_share,
                report.share,
                "share",
                f"{report.verdict}: {report.drifted} of {report.tested} features drifted"
                + (f" (fails at {fail_on} or worse)" if failed else ""),
                [_offending(r) for r in drifted.to_dicts()] if failed else (),
            )
        )
        for condition in conditions:
            row = feature_row(report, condition.feature)
            status = "missing" if row is None else str(row["status"])
            bad = condition_failed(report, condition)
            limit = "never drifted" if condition.fail_on == "drifted" else "tested, not drifted"
            detail = ""
            if row is not None and row["score"] is not None:
                score, threshold = _fmt(row["score"]), _fmt(row["threshold"])
                detail = f"{row['method']} {score} (threshold {threshold})"
            checks.append(
                Check(
                    f"{report.model}: {condition.feature}",
                    not bad,
                    limit,
                    status,
                    "",
                    detail,
                    [_offending(row)] if bad and row is not None else (),
                )
            )
            if not bad and status in ("insufficient data", "missing"):
                warnings.append(
                    f"{report.model}: {condition.feature} was not tested ({status}); "
                    f"--fail-on-feature {condition.feature}=insufficient fails on this"
                )
    label = f"{current[0]}..{current[1]}"
    return Verdict(
        "drift",
        checks,
        current[0],
        current[1],
        warnings,
        {
            "reference": reference,
            "fail_on": fail_on,
            "conditions": {c.feature: c.fail_on for c in conditions},
            "models": [report_payload(r, reference, label) for r in reports],
        },
    )


def emit_reports(
    out: Console,
    reports: list[DriftReport],
    fmt: str,
    reference: str,
    current: str,
    verdict: Verdict | None = None,
) -> None:
    """Every report in ``fmt``: table (one block per model), csv, or the gate's verdict as
    json or markdown (:mod:`render.verdict`; ``models`` in the JSON holds every report)."""
    from pyflare_cli.render.verdict import emit_verdict

    if verdict is not None and emit_verdict(out, verdict, fmt):
        return
    if fmt == "json":
        payload = {"models": [report_payload(r, reference, current) for r in reports]}
        out.print(json.dumps(payload, indent=2), markup=False, soft_wrap=True)
        return
    if fmt == "table":
        for report in reports:
            print_report(out, report, reference, current)
        if verdict is not None:
            for check in verdict.checks:
                if not check.passed and ": drifted features" not in check.name:
                    out.print(
                        f"FAIL {check.name}: {check.value} ({check.detail})",
                        markup=False,
                        soft_wrap=True,
                    )
            for warning in verdict.warnings:
                out.print(f"warning: {warning}", markup=False, soft_wrap=True)
        return
    frames = [
        r.features.select(
            pl.lit(r.model).alias("model"), pl.lit(r.verdict).alias("verdict"), pl.all()
        )
        for r in reports
    ]
    emit(pl.concat(frames) if frames else pl.DataFrame(), fmt, out)


def baseline_lines(spans: pl.DataFrame, meta: dict[str, Any]) -> list[str]:
    """``drift baseline show``: what the file was saved from, then its spans per model."""
    lines = [
        f"{key}: {meta.get(key) if meta.get(key) is not None else '-'}"
        for key in ("model", "window", "where", "created", "pyflare_version", "spans")
    ]
    counts = spans.group_by("model").agg(pl.len().alias("spans")).sort("model")
    return lines + [f"  {name}: {n:,} spans" for name, n in counts.iter_rows()]
