"""Groups and notices: which group an alert is in for a target, and what the receiver is told.

Pure helpers of the notifier. Per target, alerts are grouped by the values of the target's
``group_by`` labels (``...`` means every label). A firing alert becomes a firing
:class:`Notice`; one the receiver was told is firing and that has resolved (or is gone)
becomes a resolution, rebuilt from what was sent if the alert itself is no longer known.
A group record keeps what it was told of each firing alert (:func:`told`), as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pyflare_cli.alerting.model import Alert
from pyflare_cli.alerting.notify.payloads import Notice, json_number, rfc3339
from pyflare_cli.clock import utc


def group_of(labels: Mapping[str, str], group_by: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The group key (``{alertname="X",model="m"}``) and labels of an alert for a target."""
    every = "..." in group_by
    chosen = {k: v for k, v in labels.items() if every or k in group_by}
    pairs = (f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(chosen.items()))
    return "{" + ",".join(pairs) + "}", chosen


def time_of(text: str | None) -> datetime | None:
    """The UTC time of an ISO text, None for none."""
    return utc(datetime.fromisoformat(text)) if text else None


def age_text(delta: timedelta) -> str:
    """``45m``, ``3h 5m``, ``2d 1h``: how long ago, for messages."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def firing_notice(alert: Alert) -> Notice:
    """A firing alert as a notification shows it."""
    return Notice(
        fingerprint=alert.fingerprint,
        status="firing",
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.started_at or alert.active_since,
        ends_at=None,
        value=alert.value,
    )


def resolution(fp: str, told: dict[str, Any], alert: Alert | None, now: datetime) -> Notice:
    """The resolution of an alert the receiver saw firing; from what was sent if it is gone."""
    if alert is not None:
        return Notice(
            fingerprint=fp,
            status="resolved",
            labels=dict(alert.labels),
            annotations=dict(alert.annotations),
            starts_at=alert.started_at or time_of(told.get("startsAt")),
            ends_at=alert.ended_at or now,
            value=alert.value,
        )
    value = told.get("value")
    return Notice(
        fingerprint=fp,
        status="resolved",
        labels=dict(told.get("labels", {})),
        annotations=dict(told.get("annotations", {})),
        starts_at=time_of(told.get("startsAt")),
        ends_at=now,
        value=value if isinstance(value, int | float) else None,
    )


def told_of(notice: Notice) -> dict[str, Any]:
    """What a group record keeps of an alert sent as firing (enough to resolve it later)."""
    value = json_number(notice.value)
    return {
        "labels": notice.labels,
        "annotations": notice.annotations,
        "startsAt": rfc3339(notice.starts_at) if notice.starts_at else None,
        "value": value if isinstance(value, float | int) else None,
    }


def content_of(notices: list[Notice]) -> list[list[str]]:
    """What a notification says, as a group record compares it: (fingerprint, status) pairs."""
    return sorted([n.fingerprint, n.status] for n in notices)
