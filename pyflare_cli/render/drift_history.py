"""Drift history for people and machines: features down, periods across, with the trend."""

from __future__ import annotations

import json

import polars as pl
from rich.console import Console

from pyflare_cli.render.output import _jsonable, emit, rich_table
from pyflare_cli.render.sparkline import sparkline


def _cell(score: float | None, status: str | None) -> str:
    if score is None or score != score:
        return "-" if status != "insufficient data" else "n/a"
    text = f"{score:.3g}"
    return f"{text}*" if status == "drifted" else text


def emit_history(
    out: Console,
    model: str,
    table: pl.DataFrame,
    trends: pl.DataFrame,
    fmt: str,
    reference: str,
) -> None:
    """A features x periods grid of scores (``*`` marks drift) on a terminal; rows otherwise."""
    if fmt == "json":
        payload = {
            "model": model,
            "reference": reference,
            "trends": trends.to_dicts(),
            "periods": [_jsonable(r) for r in table.to_dicts()],
        }
        out.print(json.dumps(payload, indent=2), markup=False, soft_wrap=True)
        return
    if fmt != "table":
        emit(table.join(trends, on="feature", how="left", maintain_order="left"), fmt, out)
        return
    periods = table.get_column("period").unique().sort().to_list()
    rows = []
    for feature, trend in trends.iter_rows():
        mine = table.filter(pl.col("feature") == feature)
        by_period = {r["period"]: r for r in mine.iter_rows(named=True)}
        methods = [m for m in mine.get_column("method").to_list() if m]
        row = {
            "feature": feature,
            "method": methods[0] if methods else "-",
            "trend": trend,
            "magnitude": sparkline(
                [by_period[p]["magnitude"] if p in by_period else None for p in periods]
            ),
        }
        for period in periods:
            found = by_period.get(period)
            row[f"{period:%m-%d %H:%M}"] = _cell(
                found["score"] if found else None, found["status"] if found else None
            )
        rows.append(row)
    out.print(f"{model}: drift per period against reference {reference} (* = drifted)")
    if rows:
        out.print(rich_table(pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))))
