"""Drift reports for people and machines: a status line and one row per feature, or JSON.

The terminal table shows each feature's score against its threshold and a bar pair (the
reference histogram, then the current one on the same bins or categories).
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from rich.console import Console
from rich.text import Text

from pyflare_cli.analysis.drift.model import DriftReport
from pyflare_cli.render.output import _jsonable, emit, rich_table
from pyflare_cli.render.sparkline import sparkline

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


def emit_reports(
    out: Console, reports: list[DriftReport], fmt: str, reference: str, current: str
) -> None:
    """Every report in ``fmt``: table (one block per model), json, csv or markdown."""
    if fmt == "json":
        payload = {"models": [report_payload(r, reference, current) for r in reports]}
        out.print(json.dumps(payload, indent=2), markup=False, soft_wrap=True)
        return
    if fmt == "table":
        for report in reports:
            print_report(out, report, reference, current)
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
