"""Alerts, history and silences as tables (terminal, Markdown, CSV) or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
from rich.console import Console

from pyflare_cli.alerting.model import Alert
from pyflare_cli.render.output import _jsonable, emit

STATE_ORDER = {"firing": 0, "pending": 1, "resolved": 2, "inactive": 3}


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "-"


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def alerts_frame(alerts: Sequence[Alert]) -> pl.DataFrame:
    ordered = sorted(alerts, key=lambda a: (STATE_ORDER.get(a.state, 9), a.name, a.fingerprint))
    rows = [
        {
            "id": a.fingerprint[:8],
            "state": a.state + (" (acked)" if a.acknowledged_at and a.state == "firing" else ""),
            "alert": a.name,
            "severity": a.severity,
            "labels": ", ".join(
                f"{k}={v}"
                for k, v in sorted(a.labels.items())
                if k not in ("alertname", "severity")
            )
            or "-",
            "value": _value(a.value),
            "since": _when(a.started_at or a.active_since),
            "summary": a.annotations.get("summary", ""),
        }
        for a in ordered
    ]
    schema = dict.fromkeys(
        ["id", "state", "alert", "severity", "labels", "value", "since", "summary"], pl.String
    )
    return pl.DataFrame(rows, schema=schema)


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.fingerprint,
        "alertname": alert.name,
        "state": alert.state,
        "severity": alert.severity,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "value": alert.value,
        "activeSince": _jsonable(alert.active_since),
        "startsAt": _jsonable(alert.started_at),
        "endsAt": _jsonable(alert.ended_at),
        "acknowledged": _jsonable(alert.acknowledged_at),
        "acknowledgedBy": alert.acknowledged_by,
    }


def emit_alerts(out: Console, alerts: Sequence[Alert], fmt: str, title: str | None = None) -> None:
    if fmt == "json":
        payload = [alert_json(a) for a in alerts]
        out.print(json.dumps(payload, indent=2), markup=False, soft_wrap=True)
        return
    frame = alerts_frame(alerts)
    if fmt == "table" and frame.height == 0:
        out.print("no alerts")
        return
    emit(frame, fmt, out, title)


def emit_rows(out: Console, rows: list[dict[str, Any]], fmt: str, empty: str) -> None:
    if fmt == "json":
        out.print(json.dumps([_jsonable(r) for r in rows], indent=2), markup=False, soft_wrap=True)
        return
    if not rows:
        out.print(empty)
        return
    columns = list(dict.fromkeys(k for r in rows for k in r))
    frame = pl.DataFrame(
        [{k: _text(r.get(k)) for k in columns} for r in rows],
        schema=dict.fromkeys(columns, pl.String),
    )
    emit(frame, fmt, out)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
