"""The alert as every part of alerting sees it: the state machine, silences, notifications.

One :class:`Alert` per rule and label set, identified by its fingerprint (a hash of the
labels, as Alertmanager's). Times are aware UTC datetimes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
State = Literal["inactive", "pending", "firing", "resolved"]


def severity_rank(severity: str) -> int:
    """0 info, 1 warning, 2 critical (unknown: 0)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex-digit id of a label set (order does not matter)."""
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    """One alert instance: a rule's condition for one label set, and where it stands.

    ``labels`` always hold ``alertname`` and ``severity``. ``started_at`` is when it began
    firing (Alertmanager's ``startsAt``), ``ended_at`` when it resolved (``endsAt``);
    ``active_since`` when the condition last became true (the start of ``pending``).
    """

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: State
    value: float | None
    active_since: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    last_evaluated: datetime
    last_active: datetime | None = None
    keep_firing_since: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    ack_comment: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "warning")
