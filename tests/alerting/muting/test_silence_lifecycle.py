"""A silence: pending, active and expired, and which alerts it mutes."""

from __future__ import annotations

from datetime import datetime, timedelta

from silence_support import HOUR, NOW, silence


def test_silence_lifecycle_pending_active_expired() -> None:
    s = silence("model=~gpt-4.*", start=NOW + HOUR, end=NOW + 2 * HOUR)
    labels = {"model": "gpt-4o", "alertname": "HighErrorRate"}
    assert s.state(NOW) == "pending"
    assert not s.mutes(labels, NOW)
    assert s.state(NOW + HOUR) == "active"  # starts_at is inclusive
    assert s.mutes(labels, NOW + HOUR)
    assert s.mutes(labels, NOW + 2 * HOUR - timedelta(microseconds=1))
    assert s.state(NOW + 2 * HOUR) == "expired"  # ends_at is exclusive
    assert not s.mutes(labels, NOW + 2 * HOUR)


def test_silence_needs_every_matcher() -> None:
    s = silence("model=~gpt-4.*", "severity=warning")
    assert s.mutes({"model": "gpt-4o", "severity": "warning"}, NOW)
    assert not s.mutes({"model": "gpt-4o", "severity": "critical"}, NOW)
    assert not s.mutes({"model": "claude", "severity": "warning"}, NOW)


def test_naive_times_are_utc() -> None:
    s = silence("a=1", start=datetime(2025, 5, 10, 12), end=datetime(2025, 5, 10, 13))
    assert s.starts_at == NOW
    assert s.state(datetime(2025, 5, 10, 12, 30)) == "active"
