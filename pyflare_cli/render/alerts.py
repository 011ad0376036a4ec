"""Alerts, history and silences as tables (terminal, Markdown, CSV) or JSON; ``alert
check``'s verdict for CI (:mod:`render.verdict`: one check per rule)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console

from pyflare_cli.alerting.model import Alert
from pyflare_cli.render.output import _jsonable, emit

if TYPE_CHECKING:
    from pyflare_cli.alerting.check import CheckOutcome
    from pyflare_cli.alerting.muting.silences import Silence
    from pyflare_cli.alerting.rules.model import Rule, RuleFile
    from pyflare_cli.render.verdict import Verdict

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


def check_shown(outcome: CheckOutcome) -> list[Alert]:
    """``alert check`` lists the pending and firing alerts and those it just resolved."""
    resolved = {e["fingerprint"] for e in outcome.events if e.get("to") == "resolved"}
    return [
        a for a in outcome.alerts if a.state in ("pending", "firing") or a.fingerprint in resolved
    ]


def check_warnings(outcome: CheckOutcome) -> list[str]:
    """Rules that could not be evaluated, and notifications kept for the next check."""
    lines = [
        f"warning: alert {name} not evaluated: {reason}" for name, reason in outcome.errors.items()
    ]
    lines += [
        f"warning: notification to {d.target} failed ({d.detail}); kept for the next check"
        for d in outcome.deliveries
        if d.status == "failed"
    ]
    return lines


def event_line(event: dict[str, Any]) -> str:
    """One state change as ``alert watch`` prints it."""
    return (
        f"{event['time']:%Y-%m-%d %H:%M:%S} {event['alertname']} "
        f"{event.get('from')} -> {event['to']} {event.get('labels') or ''}"
    )


def history_rows(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``alert history``: one row per event, newest last."""
    return [
        {
            "time": e["time"][:19].replace("T", " "),
            "alert": e.get("alertname") or e.get("target", "-"),
            "change": f"{e.get('from', '')} -> {e['to']}" if e.get("from") else e["to"],
            "id": (e.get("fingerprint") or "")[:8] or "-",
            "detail": e.get("comment") or e.get("detail") or e.get("labels") or "-",
        }
        for e in events
    ]


def rule_rows(rule_file: RuleFile) -> list[dict[str, Any]]:
    """``alert rules``: one row per rule, with the file and line it comes from."""
    return [
        {
            "alert": r.name,
            "group": r.group,
            "condition": type(r.condition).__name__.lower().replace("condition", ""),
            "window": str(r.window),
            "for": str(r.for_),
            "severity": r.severity,
            "source": r.source,
        }
        for r in rule_file.rules
    ]


def silence_rows(silences: Sequence[Silence], at: datetime) -> list[dict[str, Any]]:
    """``alert silence list``: one row per silence, its state as of ``at``."""
    return [
        {
            "id": s.id,
            "state": s.state(at),
            "matchers": " ".join(str(m) for m in s.matchers),
            "starts": f"{s.starts_at:%Y-%m-%d %H:%M}",
            "ends": f"{s.ends_at:%Y-%m-%d %H:%M}",
            "by": s.created_by,
            "comment": s.comment,
        }
        for s in silences
    ]


def condition_text(rule: Rule) -> str:
    """A rule's condition in one line, as the verdict's limit: ``error_rate > 0.05``."""
    from pyflare_cli.alerting.rules import model as m

    c = rule.condition
    if isinstance(c, m.Threshold | m.Change | m.Anomaly):
        measure = c.measure.aggregate + (f"({c.measure.field})" if c.measure.field else "")
        if c.measure.quantile is not None:
            measure = f"q{c.measure.quantile:g}({c.measure.field})"
        if isinstance(c, m.Threshold):
            return f"{measure} {c.op} {c.value:g}"
        if isinstance(c, m.Change):
            return f"{c.compare} of {measure} to the previous window {c.op} {c.value:g}"
        return f"{measure} {c.direction} {c.k:g} {c.method} of {c.windows} windows"
    if isinstance(c, m.Pattern):
        what = f"regex {c.regex}" if c.regex is not None else f"template {c.template}"
        return f">= {c.min_count} error(s) matching {what}"
    if isinstance(c, m.DriftCondition):
        return f"drift of {c.model} below {c.fail_on}"
    if isinstance(c, m.EvalCondition):
        bound = f" (pass: score >= {c.pass_min:g})" if c.pass_min is not None else ""
        bound = f" (pass: score <= {c.pass_max:g})" if c.pass_max is not None else bound
        return f"{c.aggregate} of eval {c.evaluator}{bound} {c.op} {c.value:g}"
    if isinstance(c, m.BudgetCondition):
        return f"budget {c.name} not {' or '.join(c.statuses)}"
    return f"{c.mode} of {', '.join(c.rules)} firing"


def _offending(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.fingerprint[:8],
        "state": alert.state,
        "severity": alert.severity,
        "labels": ", ".join(
            f"{k}={v}"
            for k, v in sorted(alert.labels.items())
            if k not in ("alertname", "severity")
        ),
        "value": alert.value,
        "since": _jsonable(alert.started_at or alert.active_since),
    }


def check_verdict(
    outcome: CheckOutcome,
    rules: Sequence[Rule],
    fail_severity: str,
    window: tuple[datetime, datetime],
) -> Verdict:
    """``alert check`` as a gate: one check per rule, failed while an alert of it at
    ``fail_severity`` or above fires, or when such a rule could not be evaluated (no data
    is not a pass); its firing alerts are the offending groups."""
    from pyflare_cli.alerting.model import severity_rank
    from pyflare_cli.render.verdict import Check, Verdict

    level = severity_rank(fail_severity)
    checks = []
    for rule in rules:
        mine = [a for a in outcome.alerts if a.name == rule.name]
        firing = [a for a in mine if a.state == "firing"]
        pending = [a for a in mine if a.state == "pending"]
        failing = [a for a in firing if severity_rank(a.severity) >= level]
        values = [a.value for a in (firing or pending) if a.value is not None]
        detail = f"{len(firing)} firing, {len(pending)} pending ({rule.severity})"
        if firing and not failing:
            detail += f", below --fail-severity {fail_severity}"
        unknown = rule.name in outcome.errors and severity_rank(rule.severity) >= level
        if rule.name in outcome.errors:
            detail += f"; not evaluated: {outcome.errors[rule.name]}"
        checks.append(
            Check(
                rule.name,
                not failing and not unknown,  # fails closed: no data is not a pass
                condition_text(rule),
                max(values) if values else None,
                "",
                detail,
                [_offending(a) for a in failing],
            )
        )
    warnings = [line.removeprefix("warning: ") for line in check_warnings(outcome)]
    if outcome.spans == 0:
        warnings.append(
            "no spans in the rules' lookback window: every span-based condition saw nothing"
        )
    return Verdict(
        "alert check",
        checks,
        window[0].isoformat(),
        window[1].isoformat(),
        warnings,
        {
            "fail_severity": fail_severity,
            "spans": outcome.spans,
            "alerts": [alert_json(a) for a in check_shown(outcome)],
        },
    )
