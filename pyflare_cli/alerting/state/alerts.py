"""Alert state, history and acknowledgements, persisted under the store's ``alerts/`` folder.

``state.json`` holds every alert that is pending, firing or recently resolved, so that
consecutive ``pyflare alert check`` runs behave as one long-running evaluator and a
restart loses nothing; it is replaced atomically. ``history.jsonl`` gets one line per
state change, acknowledgement or manual resolution, appended and fsynced. A lock file
keeps two evaluators (an overlapping cron run) from interleaving.
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pyflare_cli.alerting.model import Alert
from pyflare_cli.errors import UsageError
from pyflare_cli.store.lock import file_lock

FOLDER = "alerts"
LOCK_FILE = ".lock"
KEEP_RESOLVED = timedelta(days=7)


def alerts_folder(root: Path) -> Path:
    return root / FOLDER


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _to_json(alert: Alert) -> dict[str, Any]:
    data = asdict(alert)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
    return data


def _from_json(data: dict[str, Any]) -> Alert:
    times = (
        "active_since",
        "started_at",
        "ended_at",
        "last_evaluated",
        "last_active",
        "keep_firing_since",
        "acknowledged_at",
    )
    values = {**data, **{key: _time(data.get(key)) for key in times}}
    return Alert(**values)


class AlertStore:
    """The persisted alerts of one store (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.folder = alerts_folder(root)
        self.state_path = self.folder / "state.json"
        self.history_path = self.folder / "history.jsonl"

    def locked(self) -> AbstractContextManager[None]:
        """One evaluator or command changing the alerts at a time (``alerts/.lock``)."""
        return file_lock(self.folder / LOCK_FILE)

    def _raw(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UsageError(f"{self.state_path}: unreadable alert state ({exc})") from None
        if not isinstance(raw, dict):
            raise UsageError(f"{self.state_path}: unreadable alert state (not a mapping)")
        return raw

    def load(self) -> dict[str, Alert]:
        raw = self._raw()
        try:
            return {fp: _from_json(item) for fp, item in raw.get("alerts", {}).items()}
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{self.state_path}: unreadable alert state ({exc})") from None

    def last_evaluation(self) -> datetime | None:
        """When the rules were last evaluated (``evaluated_at``; before it was written, the
        newest ``last_evaluated`` of the alerts)."""
        raw = self._raw()
        try:
            if raw.get("evaluated_at"):
                return datetime.fromisoformat(raw["evaluated_at"])
            times = [a.last_evaluated for a in self.load().values()]
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{self.state_path}: unreadable alert state ({exc})") from None
        return max(times, default=None)

    def save(self, alerts: dict[str, Alert], now: datetime, evaluated: bool = False) -> None:
        """Replace the state; ``evaluated`` records ``now`` as the last evaluation's time."""
        kept = {
            fp: alert
            for fp, alert in alerts.items()
            if not (
                alert.state == "resolved"
                and alert.ended_at
                and now - alert.ended_at > KEEP_RESOLVED
            )
            and alert.state != "inactive"
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = self.state_path.with_suffix(f".{os.getpid()}.tmp")
        payload: dict[str, Any] = {
            "version": 1,
            "alerts": {fp: _to_json(a) for fp, a in kept.items()},
        }
        previous = now if evaluated else self._raw().get("evaluated_at")
        if previous:
            payload["evaluated_at"] = previous if isinstance(previous, str) else now.isoformat()
        with temp.open("w") as handle:
            json.dump(payload, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.state_path)

    def record(self, events: list[dict[str, Any]]) -> None:
        """Append history events (each gets ``time`` as ISO text if it is a datetime)."""
        if not events:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.history_path.open("a") as handle:
            for event in events:
                line = {
                    k: v.isoformat() if isinstance(v, datetime) else v for k, v in event.items()
                }
                handle.write(json.dumps(line, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def history(self) -> list[dict[str, Any]]:
        try:
            lines = self.history_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        events = []
        for number, line in enumerate(lines, start=1):
            try:
                events.append(json.loads(line))
            except ValueError:
                raise UsageError(f"{self.history_path}:{number}: not a JSON line") from None
        return events

    def find(self, alerts: dict[str, Alert], prefix: str) -> Alert:
        """The alert whose fingerprint starts with ``prefix`` (exit 2 when none or several)."""
        found = [a for fp, a in alerts.items() if fp.startswith(prefix)]
        if not found:
            raise UsageError(f"no alert {prefix!r}; see `pyflare alert list`")
        if len(found) > 1:
            raise UsageError(f"alert id {prefix!r} is ambiguous: {len(found)} alerts match")
        return found[0]

    def acknowledge(self, prefix: str, who: str, comment: str, now: datetime) -> Alert:
        with self.locked():
            alerts = self.load()
            alert = self.find(alerts, prefix)
            updated = replace(alert, acknowledged_at=now, acknowledged_by=who, ack_comment=comment)
            alerts[alert.fingerprint] = updated
            self.save(alerts, now)
            # Imported here: the engine pulls NumPy, which a reader of the state
            # (pyflare metrics, the TUI) need not load.
            from pyflare_cli.alerting.engine.state_machine import transition_event

            self.record([transition_event(updated, now, "ack", comment=comment, by=who)])
            return updated

    def resolve(self, prefix: str, who: str, now: datetime) -> Alert:
        with self.locked():
            alerts = self.load()
            alert = self.find(alerts, prefix)
            if alert.state == "resolved":
                raise UsageError(f"alert {alert.fingerprint} is already resolved")
            updated = replace(
                alert, state="resolved", ended_at=now, extra={**alert.extra, "resolved_by": who}
            )
            alerts[alert.fingerprint] = updated
            self.save(alerts, now)
            # Imported here: the engine pulls NumPy, which a reader of the state
            # (pyflare metrics, the TUI) need not load.
            from pyflare_cli.alerting.engine.state_machine import transition_event

            self.record([transition_event(updated, now, "resolved", by=who, manual=True)])
            return updated
