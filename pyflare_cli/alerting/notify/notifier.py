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
backoff (0.5 s, 1 s, 2 s, or ``Retry-After`` up to 30 s). What still fails is queued with
its exact bodies in ``outbox.json`` and retried first on the next call, however old; every
attempt is reported as a :class:`Delivery`. Once a target has failed after its retries in
a call, its later notifications in that call go to the outbox without being tried, so one
dead receiver costs one timeout per run, not one per group.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from pyflare_cli import __version__
from pyflare_cli.alerting.model import Alert, severity_rank
from pyflare_cli.alerting.notify_payloads import (
    JSON,
    Notice,
    json_number,
    pagerduty_event,
    rfc3339,
    slack_payload,
    webhook_payload,
)
from pyflare_cli.alerting.notify_targets import PAGERDUTY_URL as PAGERDUTY_URL
from pyflare_cli.alerting.notify_targets import Target as Target
from pyflare_cli.alerting.notify_targets import parse_targets as parse_targets
from pyflare_cli.errors import StoreWriteError, UsageError

STATE_FILE = "notify_state.json"
OUTBOX_FILE = "outbox.json"
LOCK_FILE = "notify.lock"
STALE_OUTBOX = timedelta(hours=24)
BACKOFF_START = 0.5
RETRY_AFTER_CAP = 30.0


@dataclass(frozen=True)
class Delivery:
    """The outcome of one notification (a group, or an outbox entry), for output and history."""

    target: str
    group_key: str
    status: Literal["sent", "failed", "skipped"]
    alerts: int
    attempts: int
    detail: str


# --- grouping and persisted state -----------------------------------------------------------


def group_of(labels: Mapping[str, str], group_by: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The group key (``{alertname="X",model="m"}``) and labels of an alert for a target."""
    every = "..." in group_by
    chosen = {k: v for k, v in labels.items() if every or k in group_by}
    pairs = (f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(chosen.items()))
    return "{" + ",".join(pairs) + "}", chosen


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time(text: str | None) -> datetime | None:
    return _utc(datetime.fromisoformat(text)) if text else None


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def _firing_notice(alert: Alert) -> Notice:
    return Notice(
        fingerprint=alert.fingerprint,
        status="firing",
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.started_at or alert.active_since,
        ends_at=None,
        value=alert.value,
    )


def _resolution(fp: str, told: dict[str, Any], alert: Alert | None, now: datetime) -> Notice:
    """The resolution of an alert the receiver saw firing; from what was sent if it is gone."""
    if alert is not None:
        return Notice(
            fingerprint=fp,
            status="resolved",
            labels=dict(alert.labels),
            annotations=dict(alert.annotations),
            starts_at=alert.started_at or _time(told.get("startsAt")),
            ends_at=alert.ended_at or now,
            value=alert.value,
        )
    value = told.get("value")
    return Notice(
        fingerprint=fp,
        status="resolved",
        labels=dict(told.get("labels", {})),
        annotations=dict(told.get("annotations", {})),
        starts_at=_time(told.get("startsAt")),
        ends_at=now,
        value=value if isinstance(value, int | float) else None,
    )


def _told(notice: Notice) -> dict[str, Any]:
    """What a group record keeps of an alert sent as firing (enough to resolve it later)."""
    value = json_number(notice.value)
    return {
        "labels": notice.labels,
        "annotations": notice.annotations,
        "startsAt": rfc3339(notice.starts_at) if notice.starts_at else None,
        "value": value if isinstance(value, float | int) else None,
    }


def _content(notices: list[Notice]) -> list[list[str]]:
    return sorted([n.fingerprint, n.status] for n in notices)


@dataclass
class _Books:
    """The persisted state of one call: group records per target, and the outbox."""

    groups: dict[str, dict[str, dict[str, Any]]]
    outbox: list[dict[str, Any]]


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    attempts: int
    detail: str
    retryable: bool


@dataclass(frozen=True)
class _Sent:
    sent: int
    left: list[JSON]
    attempts: int
    detail: str


def _check_state(data: Any) -> dict[str, dict[str, dict[str, Any]]]:
    groups = data["groups"]
    for records in groups.values():
        for record in records.values():
            _time(record["first_seen"])
            _time(record["last_sent"])
            mappings = (record["labels"], record["firing"], record["resolved"])
            if not all(isinstance(m, dict) for m in mappings):
                raise ValueError("bad group record")
            if not isinstance(record["last_content"], list):
                raise ValueError("bad group record")
    return dict(groups)


def _check_outbox(data: Any) -> list[dict[str, Any]]:
    entries = data["entries"]
    for entry in entries:
        _time(entry["queued_at"])
        texts = (entry["target"], entry["group_key"], entry["kind"])
        if not all(isinstance(t, str) for t in texts) or not isinstance(entry["attempts"], int):
            raise ValueError("bad outbox entry")
        if not isinstance(entry["requests"], list) or not entry["requests"]:
            raise ValueError("bad outbox entry")
    return list(entries)


# --- the notifier ----------------------------------------------------------------------------


def _never(alert: Alert) -> bool:
    return False


def _backoff(attempt: int) -> float:
    return float(BACKOFF_START * 2**attempt)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None  # absent, or an HTTP date: use the backoff
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


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
        self._own_client = client is None
        self._client = client or httpx.Client(headers={"User-Agent": f"pyflare/{__version__}"})
        self._sleep = sleep

    def close(self) -> None:
        if self._own_client:
            self._client.close()

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
        now = _utc(now)
        deliveries: list[Delivery] = []
        with self._locked():
            books = self._load(deliveries)
            down: dict[str, str] = {}
            self._drain_outbox(books, now, down, deliveries)
            muted_fps = {a.fingerprint for a in alerts if muted(a)}
            for target in self.targets:
                self._notify_target(target, alerts, muted_fps, books, now, down, deliveries)
            names = {t.name for t in self.targets}
            books.groups = {k: v for k, v in books.groups.items() if k in names and v}
            self._save(books)
        return deliveries

    # -- persistence

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One notifier per folder at a time (an overlapping cron run waits)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self, name: str, check: Callable[[Any], Any], deliveries: list[Delivery]) -> Any:
        """A checked file, or None; an unreadable one is moved aside and reported, not lost."""
        path = self.folder / name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read ({exc})") from None
        try:
            return check(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            aside = path.with_name(f"{name}.corrupt")
            os.replace(path, aside)
            detail = f"{path} was unreadable ({exc!r}); moved to {aside.name}, started afresh"
            deliveries.append(Delivery("(notifier)", name, "failed", 0, 0, detail))
            return None

    def _load(self, deliveries: list[Delivery]) -> _Books:
        groups = self._read(STATE_FILE, _check_state, deliveries)
        outbox = self._read(OUTBOX_FILE, _check_outbox, deliveries)
        return _Books(groups or {}, outbox or [])

    def _write(self, name: str, data: Any) -> None:
        path = self.folder / name
        temp = path.with_name(f".{name}.{os.getpid()}.tmp")
        try:
            with temp.open("w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except OSError as exc:
            raise StoreWriteError(f"{path}: cannot write notification state ({exc})") from None

    def _save(self, books: _Books) -> None:
        self._write(STATE_FILE, {"version": 1, "groups": books.groups})
        self._write(OUTBOX_FILE, {"version": 1, "entries": books.outbox})

    # -- HTTP

    def _post(self, target: Target, payload: JSON) -> _Outcome:
        """POST with retries on timeouts, connection errors, 429 and 5xx (see module doc)."""
        detail, body, delay = "", "", 0.0
        for attempt in range(target.retries + 1):
            if attempt:
                self._sleep(delay)
            try:
                response = self._client.post(
                    target.url, json=payload, headers=target.headers, timeout=target.timeout
                )
            except httpx.TimeoutException as exc:
                body = ""
                detail = f"timed out after {target.timeout:g}s ({type(exc).__name__})"
                delay = _backoff(attempt)
                continue
            except httpx.TransportError as exc:
                text = str(exc).replace(target.url, f"<{target.name} url>")
                body = ""
                detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
                delay = _backoff(attempt)
                continue
            code = response.status_code
            if 200 <= code < 300:
                return _Outcome(True, attempt + 1, f"HTTP {code}", False)
            body = " ".join(response.text.split())[:200]
            detail = f"HTTP {code}"
            if code != 429 and code < 500:
                return _Outcome(False, attempt + 1, detail + (f": {body}" if body else ""), False)
            wait = _retry_after(response)
            delay = _backoff(attempt) if wait is None else wait
        attempts = target.retries + 1
        plural = "s" if attempts > 1 else ""
        detail = f"{detail} after {attempts} attempt{plural}" + (f": {body}" if body else "")
        return _Outcome(False, attempts, detail, True)

    def _send(self, target: Target, payloads: list[JSON], down: dict[str, str]) -> _Sent:
        """Post each payload; after a retryable failure the target is down for this call."""
        sent, attempts, left = 0, 0, list[JSON]()
        ok_detail, failure = "", ""
        for index, payload in enumerate(payloads):
            if target.name in down:
                left.extend(payloads[index:])
                if not failure:
                    failure = f"not attempted: {target.name} failed earlier ({down[target.name]})"
                break
            outcome = self._post(target, payload)
            attempts += outcome.attempts
            if outcome.ok:
                sent, ok_detail = sent + 1, outcome.detail
                continue
            left.append(payload)
            failure = outcome.detail
            if outcome.retryable:
                down[target.name] = outcome.detail
        if not left:
            detail = ok_detail if len(payloads) == 1 else f"{sent} requests, {ok_detail}"
        else:
            detail = f"{sent} of {len(payloads)} sent; {failure}" if sent else failure
        return _Sent(sent, left, attempts, detail)

    @staticmethod
    def _status(result: _Sent) -> Literal["sent", "failed", "skipped"]:
        if not result.left:
            return "sent"
        return "failed" if result.attempts else "skipped"

    def _drain_outbox(
        self, books: _Books, now: datetime, down: dict[str, str], deliveries: list[Delivery]
    ) -> None:
        """Retry every queued notification, oldest first; keep what still fails."""
        targets = {t.name: t for t in self.targets}
        pending, kept = list(books.outbox), list[dict[str, Any]]()
        for index, entry in enumerate(pending):
            age = now - (_time(entry["queued_at"]) or now)
            note = f"queued {_age(age)} ago" + (", over 24h" if age > STALE_OUTBOX else "")
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
            result = self._send(target, entry["requests"], down)
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
                    self._status(result),
                    alerts,
                    result.attempts,
                    detail,
                )
            )
            if result.attempts:
                books.outbox = kept + pending[index + 1 :]
                self._save(books)
        books.outbox = kept

    # -- grouping and timing

    def _notify_target(
        self,
        target: Target,
        alerts: Sequence[Alert],
        muted_fps: set[str],
        books: _Books,
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
        last = _time(record["last_sent"])
        return last is None or now - last >= target.group_interval

    def _notify_group(
        self,
        target: Target,
        key: str,
        record: dict[str, Any],
        firing: list[Alert],
        present: dict[str, Alert],
        muted_fps: set[str],
        books: _Books,
        now: datetime,
        down: dict[str, str],
    ) -> Delivery | None:
        """Send the group if it is due (see module doc) and record it; None when not due."""
        told: dict[str, dict[str, Any]] = record["firing"]
        firing_fps = {a.fingerprint for a in firing}
        last = _time(record["last_sent"])
        new = firing_fps - set(told)
        gone = [fp for fp in sorted(told) if fp not in firing_fps and fp not in muted_fps]
        if last is None:
            first = _time(record["first_seen"]) or now
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
        firing_notices = [_firing_notice(a) for a in firing]
        resolutions = [_resolution(fp, told[fp], present.get(fp), now) for fp in gone]
        notices = firing_notices + resolutions
        content = _content(notices)
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
        result = self._send(target, payloads, down)
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
        record["firing"] = {**kept, **{n.fingerprint: _told(n) for n in firing_notices}}
        record["resolved"].update({n.fingerprint: rfc3339(n.ends_at) for n in resolutions})
        record["last_sent"], record["last_content"] = rfc3339(now), content
        self._save(books)
        count = len(payloads) if target.kind == "pagerduty" else len(notices)
        return Delivery(target.name, key, self._status(result), count, result.attempts, detail)
