"""The bodies pyflare posts to a receiver: Alertmanager webhook, Slack and PagerDuty Events v2.

Kept apart from :mod:`notify.notifier` (which decides *when* to send and makes
sure nothing is lost) because these are pure functions of what is sent, with each
receiver's limits applied here: Slack's 3000 characters per text block and 50 blocks per
message, PagerDuty's 1024-character summary. Every builder returns plain JSON-ready data,
which is also what the outbox stores, so a retried notification is byte-for-byte the one
that failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

JSON = dict[str, Any]
ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's ``endsAt`` of an alert that has not ended (Go's zero time)."""

SLACK_TEXT_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_CONTEXT_LIMIT = 2000
SLACK_BLOCK_LIMIT = 50
PAGERDUTY_SUMMARY_LIMIT = 1024
_PD_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
_FIRST_ANNOTATIONS = ("summary", "description")


@dataclass(frozen=True)
class Notice:
    """One alert as a notification shows it: firing, or the resolution of one once sent."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    value: float | None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "warning")


def rfc3339(moment: datetime | None) -> str:
    """``2024-05-10T12:00:00Z`` (UTC, ``Z``); None is Alertmanager's zero time."""
    if moment is None:
        return ZERO_TIME
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_number(value: float | None) -> float | str | None:
    """A value JSON can carry: NaN and infinities become text (``json`` would emit NaN)."""
    if value is None or math.isfinite(value):
        return value
    return str(value)


def format_value(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _common(mappings: list[dict[str, str]]) -> dict[str, str]:
    if not mappings:
        return {}
    first = mappings[0]
    return {k: v for k, v in sorted(first.items()) if all(m.get(k) == v for m in mappings[1:])}


def group_status(notices: list[Notice]) -> Literal["firing", "resolved"]:
    return "firing" if any(n.status == "firing" for n in notices) else "resolved"


def webhook_payload(
    receiver: str, group_key: str, group_labels: dict[str, str], notices: list[Notice]
) -> JSON:
    """Alertmanager's webhook body, version 4, so existing receivers understand it."""
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": group_status(notices),
        "receiver": receiver,
        "groupLabels": dict(sorted(group_labels.items())),
        "commonLabels": _common([n.labels for n in notices]),
        "commonAnnotations": _common([n.annotations for n in notices]),
        "externalURL": "",
        "alerts": [
            {
                "status": n.status,
                "labels": dict(sorted(n.labels.items())),
                "annotations": dict(sorted(n.annotations.items())),
                "startsAt": rfc3339(n.starts_at),
                "endsAt": rfc3339(n.ends_at) if n.status == "resolved" else ZERO_TIME,
                "generatorURL": "",
                "fingerprint": n.fingerprint,
            }
            for n in notices
        ],
    }


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters (&, <, >), escaped as its docs require."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _title(notices: list[Notice], group_labels: dict[str, str]) -> str:
    """``[FIRING:2] HighErrorRate (model=gpt-4o)``, Alertmanager's default title."""
    status = group_status(notices)
    count = sum(1 for n in notices if n.status == status)
    names = sorted({n.name for n in notices})
    name = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
    extra = ", ".join(f"{k}={v}" for k, v in sorted(group_labels.items()) if k != "alertname")
    return f"[{status.upper()}:{count}] {name}" + (f" ({extra})" if extra else "")


def _slack_section(notice: Notice) -> JSON:
    state = "RESOLVED" if notice.status == "resolved" else "FIRING"
    lines = [
        f"*{_slack_escape(notice.name)}* · {_slack_escape(notice.severity)} · {state}",
        f"*value:* {format_value(notice.value)}",
    ]
    keys = [k for k in _FIRST_ANNOTATIONS if k in notice.annotations]
    keys += sorted(k for k in notice.annotations if k not in _FIRST_ANNOTATIONS)
    lines += [f"*{_slack_escape(k)}:* {_slack_escape(notice.annotations[k])}" for k in keys]
    shown = {k: v for k, v in notice.labels.items() if k not in ("alertname", "severity")}
    if shown:
        pairs = ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
        lines.append(f"*labels:* {_slack_escape(pairs)}")
    lines.append(f"*since:* {rfc3339(notice.starts_at)}")
    if notice.status == "resolved":
        lines.append(f"*resolved:* {rfc3339(notice.ends_at)}")
    text = truncate("\n".join(lines), SLACK_TEXT_LIMIT)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack_payload(
    receiver: str, group_key: str, group_labels: dict[str, str], notices: list[Notice]
) -> JSON:
    """An incoming-webhook message: a one-line ``text`` (the fallback) plus blocks."""
    title = _title(notices, group_labels)
    room = SLACK_BLOCK_LIMIT - 2  # the header and the context take two blocks
    shown = notices if len(notices) <= room else notices[: room - 1]
    blocks: list[JSON] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(title, SLACK_HEADER_LIMIT)},
        }
    ]
    blocks += [_slack_section(n) for n in shown]
    if len(shown) < len(notices):
        more = f"…and {len(notices) - len(shown)} more alerts in this group"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": more}})
    firing = sum(1 for n in notices if n.status == "firing")
    context = (
        f"pyflare · receiver {_slack_escape(receiver)} · group {_slack_escape(group_key)}"
        f" · {firing} firing, {len(notices) - firing} resolved"
    )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": truncate(context, SLACK_CONTEXT_LIMIT)}],
        }
    )
    return {"text": truncate(title, SLACK_TEXT_LIMIT), "blocks": blocks}


def _pd_summary(notice: Notice) -> str:
    summary = notice.annotations.get("summary")
    if summary:
        text = f"{notice.name}: {summary}"
    else:
        shown = {k: v for k, v in notice.labels.items() if k not in ("alertname", "severity")}
        pairs = ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))
        text = f"{notice.name} ({pairs}) value {format_value(notice.value)}"
    return truncate(text, PAGERDUTY_SUMMARY_LIMIT)


def pagerduty_event(routing_key: str, notice: Notice) -> JSON:
    """One Events API v2 event: ``trigger`` for a firing alert, ``resolve`` for a resolved one.

    The dedup key is the alert's fingerprint, so the resolve closes the incident the trigger
    opened, and a trigger repeated while it fires updates that incident, not a new one.
    """
    if notice.status == "resolved":
        return {
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": notice.fingerprint,
        }
    payload: JSON = {
        "summary": _pd_summary(notice),
        "source": "pyflare",
        "severity": _PD_SEVERITY.get(notice.severity, "warning"),
    }
    if notice.starts_at is not None:
        payload["timestamp"] = rfc3339(notice.starts_at)
    payload["custom_details"] = {
        "labels": dict(sorted(notice.labels.items())),
        "annotations": dict(sorted(notice.annotations.items())),
        "value": json_number(notice.value),
    }
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": notice.fingerprint,
        "payload": payload,
    }
