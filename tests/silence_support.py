"""Silences for the alerting tests (muting and the silence store): one fixed clock, one maker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyflare_cli.alerting.muting.matchers import Matcher, parse_matcher, parse_matchers
from pyflare_cli.alerting.muting.silences import Silence

NOW = datetime(2025, 5, 10, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def m(text: str) -> Matcher:
    return parse_matcher(text)


def silence(*matchers: str, start: datetime = NOW, end: datetime = NOW + HOUR) -> Silence:
    return Silence(
        id="abcd1234",
        matchers=parse_matchers(matchers),
        starts_at=start,
        ends_at=end,
        created_by="ana",
        comment="deploy",
        created_at=NOW,
    )
