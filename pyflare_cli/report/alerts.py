"""The alerts section: firing and recent alerts, the latest state changes, active silences.

Read from the store's alert state (``pyflare alert list``, ``history``, ``silence list``):
the report shows what the last ``pyflare alert check`` decided, it evaluates no rule.
"""

from __future__ import annotations

from typing import Any

from pyflare_cli.errors import PyflareError
from pyflare_cli.report import text
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Section, Table

ORDER = {"firing": 0, "pending": 1, "resolved": 2, "inactive": 3}
EVENTS = 15


def _when(value: Any) -> str:
    return "-" if value is None else str(text.jsonable(value))[:19].replace("T", " ")


def _detail(event: dict[str, Any]) -> str:
    found = event.get("comment") or event.get("detail") or event.get("labels") or "-"
    if isinstance(found, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(found.items()))
    return str(found)


def alerts(ctx: ReportContext) -> Section:
    from pyflare_cli.alerting.state.alerts import AlertStore, alerts_folder
    from pyflare_cli.alerting.state.silences import SilenceStore

    store = AlertStore(ctx.root)
    if not store.state_path.exists():
        raise PyflareError("no alert state in the store: run `pyflare alert check` first")
    shown = sorted(
        (a for a in store.load().values() if a.state != "inactive"),
        key=lambda a: (ORDER.get(a.state, 9), a.labels.get("alertname", "")),
    )
    rows: list[list[Any]] = [
        [
            a.labels.get("alertname", "-"),
            a.state,
            a.labels.get("severity", "-"),
            ", ".join(
                f"{k}={v}"
                for k, v in sorted(a.labels.items())
                if k not in ("alertname", "severity")
            )
            or "-",
            "-" if a.value is None else f"{a.value:.4g}",
            _when(a.started_at or a.active_since),
            _when(a.ended_at),
            a.annotations.get("summary", ""),
        ]
        for a in shown
    ]
    tables = [
        Table(
            "Firing and recent alerts",
            ["alert", "state", "severity", "labels", "value", "since", "ended", "summary"],
            rows,
            frozenset({4}),
        )
    ]
    events = store.history()[-EVENTS:]
    history: list[list[Any]] = [
        [
            _when(e.get("time")),
            str(e.get("alertname") or e.get("target") or "-"),
            f"{e.get('from')} → {e.get('to')}" if e.get("from") else str(e.get("to", "-")),
            _detail(e),
        ]
        for e in reversed(events)
    ]
    tables.append(Table("Latest changes", ["time", "alert", "change", "detail"], history))
    silences = SilenceStore(alerts_folder(ctx.root)).list(ctx.now)
    muted: list[list[Any]] = [
        [
            s.id[:8],
            ", ".join(f"{m.name}{m.op}{m.value!r}" for m in s.matchers),
            _when(s.starts_at),
            _when(s.ends_at),
            s.created_by,
            s.comment,
        ]
        for s in silences
    ]
    tables.append(Table("Silences", ["id", "matchers", "starts", "ends", "by", "comment"], muted))
    firing = sum(a.state == "firing" for a in shown)
    lead = (
        f"{firing} firing, {len(shown) - firing} pending or resolved, "
        f"{len(silences)} silence(s); last checked {_when(store.last_evaluation())}."
    )
    return Section("alerts", "Alerts", lead, tables=tables)
