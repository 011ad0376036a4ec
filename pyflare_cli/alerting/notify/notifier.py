"""Notifications for ``pyflare alert``: when to tell which receiver, and making sure it arrives.

``pyflare alert check`` runs once a minute from cron or ``watch``, so what Alertmanager keeps
in memory (groups, ``group_wait``, ``group_interval``, ``repeat_interval``, what was already
sent) must live between processes: it is in ``notify_state.json`` in the notifier's folder,
and ``now`` is passed in, so one call decides from (alerts, now, files) alone; only the
retry sleeps touch the clock, and they are injectable.

Per target, alerts are grouped by the values of the target's ``group_by`` labels (``...``
means every label). A new group waits ``group_wait`` from its first alert's start; after
that it is sent again when its content changes (a new firing alert, or a resolution of one
the receiver was told about), at most every ``group_interval``, and when nothing changed,
every ``repeat_interval`` while something fires. As in Alertmanager, a resolution is only
sent for an alert the receiver saw firing, so one that fired and resolved within
``group_wait`` pages nobody. Muted alerts (the caller decides: silences, maintenance,
inhibition) are left out without touching what the receiver was told about them.

Each request is retried on timeouts, connection errors, 429 and 5xx with exponential
backoff (0.5 s, 1 s, 2 s, or ``Retry-After`` up to 30 s; :mod:`notify.transport`). What
still fails is queued with its exact bodies in ``outbox.json`` (:mod:`notify.outbox`) and
retried first on the next call, however old; every attempt is reported as a
:class:`Delivery`. Once a target has failed after its retries in a call, its later
notifications in that call go to the outbox without being tried, so one dead receiver
costs one timeout per run, not one per group.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from pyflare_cli.alerting.model import Alert, severity_rank
from pyflare_cli.alerting.notify.grouping import (
    age_text,
    content_of,
    firing_notice,
    group_of,
    resolution,
    time_of,
    told_of,
)
from pyflare_cli.alerting.notify.outbox import OUTBOX_FILE, Books, NotifierFiles
from pyflare_cli.alerting.notify.payloads import (
    pagerduty_event,
    rfc3339,
    slack_payload,
    webhook_payload,
)
from pyflare_cli.alerting.notify.targets import Target
from pyflare_cli.alerting.notify.transport import Transport, sent_status
from pyflare_cli.clock import utc
from pyflare_cli.errors import UsageError

STALE_OUTBOX = timedelta(hours=24)


@dataclass(frozen=True)
class Delivery:
    """The outcome of one notification (a group, or an outbox entry), for output and history."""

    target: str
    group_key: str
    status: Literal["sent", "failed", "skipped"]
    alerts: int
    attempts: int
    detail: str


def _never(alert: Alert) -> bool:
    return False


class Notifier:
    """Sends alert notifications to targets, with its state in ``folder`` (see module doc)."""

    def __init__(
        self,
        folder: Path,
        targets: tuple[Target, ...],
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        names = [t.name for t in targets]
        if len(set(names)) < len(names):
            raise UsageError(f"notification target names must be unique: {', '.join(names)}")
        self.folder = folder
        self.targets = targets
        self._files = NotifierFiles(folder)
        self._transport = Transport(client, sleep)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def notify(
        self,
        alerts: Sequence[Alert],
        now: datetime,
        muted: Callable[[Alert], bool] = _never,
    ) -> list[Delivery]:
        """Retry the outbox, then send what is due for ``alerts`` at ``now``; every attempt.

        Pass every alert the evaluator knows (resolved ones included): an alert the receiver
        was told is firing and that is no longer passed at all is sent as resolved at ``now``.
        """
        now = utc(now)
        deliveries: list[Delivery] = []
        with self._files.locked():
            books, problems = self._files.load()
            deliveries += [Delivery("(notifier)", f, "failed", 0, 0, d) for f, d in problems]
            down: dict[str, str] = {}
            self._drain_outbox(books, now, down, deliveries)
            muted_fps = {a.fingerprint for a in alerts if muted(a)}
            for target in self.targets:
                self._notify_target(target, alerts, muted_fps, books, now, down, deliveries)
            names = {t.name for t in self.targets}
            books.groups = {k: v for k, v in books.groups.items() if k in names and v}
            self._files.save(books)
        return deliveries

    def _drain_outbox(
        self, books: Books, now: datetime, down: dict[str, str], deliveries: list[Delivery]
    ) -> None:
        """Retry every queued notification, oldest first; keep what still fails."""
        targets = {t.name: t for t in self.targets}
        pending, kept = list(books.outbox), list[dict[str, Any]]()
        for index, entry in enumerate(pending):
            age = now - (time_of(entry["queued_at"]) or now)
            note = f"queued {age_text(age)} ago" + (", over 24h" if age > STALE_OUTBOX else "")
            target = targets.get(entry["target"])
            alerts = int(entry.get("alerts", len(entry["requests"])))
            if target is None or target.kind != entry["kind"]:
                kept.append(entry)
                why = "no longer configured" if target is None else f"now a {target.kind} target"
                detail = f"outbox ({note}): {entry['target']} is {why}; kept in {OUTBOX_FILE}"
                deliveries.append(
                    Delivery(entry["target"], entry["group_key"], "skipped", alerts, 0, detail)
                )
                continue
            result = self._transport.send(target, entry["requests"], down)
            entry["attempts"] += result.attempts
            if result.left:
                entry["requests"], entry["last_error"] = result.left, result.detail
                kept.append(entry)
            elif record := books.groups.get(target.name, {}).get(entry["group_key"]):
                record["last_sent"] = rfc3339(now)  # heard just now: repeat_interval restarts
            detail = f"outbox ({note}): {result.detail}"
            if result.left:
                detail += f"; kept in {OUTBOX_FILE}"
            deliveries.append(
                Delivery(
                    target.name,
                    entry["group_key"],
                    sent_status(result),
                    alerts,
                    result.attempts,
                    detail,
                )
            )
            if result.attempts:
                books.outbox = kept + pending[index + 1 :]
                self._files.save(books)
        books.outbox = kept

    # -- grouping and timing

    def _notify_target(
        self,
        target: Target,
        alerts: Sequence[Alert],
        muted_fps: set[str],
        books: Books,
        now: datetime,
        down: dict[str, str],
        deliveries: list[Delivery],
    ) -> None:
        floor = severity_rank(target.min_severity)
        records = books.groups.setdefault(target.name, {})
        present: dict[str, Alert] = {}
        firing: dict[str, list[Alert]] = {}
        group_labels: dict[str, dict[str, str]] = {}
        for alert in alerts:
            if severity_rank(alert.severity) < floor or alert.fingerprint in muted_fps:
                continue
            present[alert.fingerprint] = alert
            if alert.state == "firing":
                key, labels = group_of(alert.labels, target.group_by)
                firing.setdefault(key, []).append(alert)
                group_labels[key] = labels
        resolved = {a.fingerprint for a in alerts if a.state == "resolved"}
        for key in sorted(set(firing) | set(records)):
            record = records.get(key)
            if record is None:
                if key not in firing:
                    continue
                starts = [a.started_at for a in firing[key] if a.started_at is not None]
                record = {
                    "labels": group_labels[key],
                    "first_seen": rfc3339(min(starts) if starts else now),
                    "last_sent": None,
                    "last_content": [],
                    "firing": {},
                    "resolved": {},
                }
                records[key] = record
            record["resolved"] = {k: v for k, v in record["resolved"].items() if k in resolved}
            delivery = self._notify_group(
                target, key, record, firing.get(key, []), present, muted_fps, books, now, down
            )
            if delivery is not None:
                deliveries.append(delivery)
            if self._finished(target, record, firing.get(key, []), now):
                del records[key]

    @staticmethod
    def _finished(
        target: Target, record: dict[str, Any], firing: list[Alert], now: datetime
    ) -> bool:
        """Whether a group record can go: nothing fires, nothing is owed, pacing is over."""
        if firing or record["firing"]:
            return False
        last = time_of(record["last_sent"])
        return last is None or now - last >= target.group_interval

    def _notify_group(
        self,
        target: Target,
        key: str,
        record: dict[str, Any],
        firing: list[Alert],
        present: dict[str, Alert],
        muted_fps: set[str],
        books: Books,
        now: datetime,
        down: dict[str, str],
    ) -> Delivery | None:
        """Send the group if it is due (see module doc) and record it; None when not due."""
        told: dict[str, dict[str, Any]] = record["firing"]
        firing_fps = {a.fingerprint for a in firing}
        last = time_of(record["last_sent"])
        new = firing_fps - set(told)
        gone = [fp for fp in sorted(told) if fp not in firing_fps and fp not in muted_fps]
        if last is None:
            first = time_of(record["first_seen"]) or now
            if not firing or now < first + target.group_wait:
                return None
            repeat = False
        else:
            if not target.send_resolved:
                for fp in gone:  # cleared without a word, as Alertmanager does
                    del told[fp]
                gone = []
            since = now - last
            changed = bool(new or gone)
            repeat = not changed
            if changed and since < target.group_interval:
                return None
            if not changed and (not firing or since < target.repeat_interval):
                return None
            queued = any(e["target"] == target.name and e["group_key"] == key for e in books.outbox)
            if repeat and queued:
                return None  # the outbox still holds this group's news: no reminder on top
        firing_notices = [firing_notice(a) for a in firing]
        resolutions = [resolution(fp, told[fp], present.get(fp), now) for fp in gone]
        notices = firing_notices + resolutions
        content = content_of(notices)
        recent = last is not None and now - last < target.repeat_interval
        if recent and content == record["last_content"]:
            return None  # the same thing again within repeat_interval: never
        labels: dict[str, str] = record["labels"]
        if target.kind == "pagerduty":
            changes = [n for n in firing_notices if repeat or n.fingerprint in new]
            payloads = [pagerduty_event(target.routing_key or "", n) for n in changes]
            payloads += [pagerduty_event(target.routing_key or "", n) for n in resolutions]
        elif target.kind == "slack":
            payloads = [slack_payload(target.name, key, labels, notices)]
        else:
            payloads = [webhook_payload(target.name, key, labels, notices)]
        if not payloads:
            return None
        result = self._transport.send(target, payloads, down)
        detail = result.detail
        if result.left:
            books.outbox.append(
                {
                    "target": target.name,
                    "kind": target.kind,
                    "group_key": key,
                    "queued_at": rfc3339(now),
                    "alerts": len(result.left) if target.kind == "pagerduty" else len(notices),
                    "attempts": result.attempts,
                    "last_error": result.detail,
                    "requests": result.left,
                }
            )
            detail += f"; queued in {OUTBOX_FILE}"
        # Sent or queued, the receiver is now owed exactly this: record it as told.
        kept = {fp: v for fp, v in told.items() if fp in muted_fps and fp not in firing_fps}
        record["firing"] = {**kept, **{n.fingerprint: told_of(n) for n in firing_notices}}
        record["resolved"].update({n.fingerprint: rfc3339(n.ends_at) for n in resolutions})
        record["last_sent"], record["last_content"] = rfc3339(now), content
        self._files.save(books)
        count = len(payloads) if target.kind == "pagerduty" else len(notices)
        return Delivery(target.name, key, sent_status(result), count, result.attempts, detail)
