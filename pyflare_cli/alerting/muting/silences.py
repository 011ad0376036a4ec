"""A silence: label matchers and a time range that mute the alerts they match.

Made on the spot (``pyflare alert silence add --matcher 'model=~gpt-4.*' --duration 2h``)
and kept by :class:`state.silences.SilenceStore`, so that consecutive ``check`` runs and a
``watch`` all see it. Times are aware UTC datetimes; a naive one is taken as UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pyflare_cli.alerting.muting.matchers import Matcher, all_match
from pyflare_cli.clock import utc


@dataclass(frozen=True)
class Silence:
    """Mutes the alerts its matchers all match, from ``starts_at`` until ``ends_at``.

    Pending before ``starts_at``, active from ``starts_at`` (inclusive) to ``ends_at``
    (exclusive), expired afterwards; ``expire`` sets ``ends_at`` to the moment.
    """

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    def __post_init__(self) -> None:
        for name in ("starts_at", "ends_at", "created_at"):
            object.__setattr__(self, name, utc(getattr(self, name)))

    def state(self, now: datetime) -> Literal["pending", "active", "expired"]:
        now = utc(now)
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Active at ``now`` and every matcher matches."""
        return self.state(now) == "active" and all_match(self.matchers, labels)
