"""Maintenance windows: what they cover, when, and configuration errors naming the key."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pyflare_cli.alerting.muting.maintenance import MaintenanceWindow, parse_maintenance
from pyflare_cli.alerting.muting.matchers import Matcher, parse_matcher
from pyflare_cli.errors import UsageError

NOW = datetime(2025, 5, 10, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def m(text: str) -> Matcher:
    return parse_matcher(text)


def windows(*items: dict[str, Any]) -> tuple[MaintenanceWindow, ...]:
    return parse_maintenance(list(items), "pyflare.yaml: maintenance")


def test_window_by_models_is_a_literal_alternation() -> None:
    (w,) = windows(
        {"name": "migration", "start": "2025-05-10T11:00:00Z", "end": "2025-05-10T13:00:00Z",
         "models": ["gpt-4o", "gpt-4.1"]}
    )  # fmt: skip
    assert w.matchers == (Matcher("model", "=~", "gpt\\-4o|gpt\\-4\\.1"),)
    assert w.mutes({"model": "gpt-4o"}, NOW)
    assert w.mutes({"model": "gpt-4.1"}, NOW)
    assert not w.mutes({"model": "gpt-4x1"}, NOW)  # the dot is literal
    assert not w.mutes({"model": "gpt-4o-mini"}, NOW)
    assert not w.mutes({"service": "rag-api"}, NOW)


def test_window_services_models_and_matchers_all_narrow() -> None:
    (w,) = windows(
        {"name": "rag", "start": "2025-05-10T11:00:00+00:00", "end": "2025-05-10T13:00:00",
         "services": "rag-api", "models": ["gpt-4o"], "matchers": ["severity!=critical"]}
    )  # fmt: skip
    assert w.matchers == (
        Matcher("model", "=", "gpt-4o"),
        Matcher("service", "=", "rag-api"),
        Matcher("severity", "!=", "critical"),
    )
    assert w.mutes({"service": "rag-api", "model": "gpt-4o", "severity": "warning"}, NOW)
    assert not w.mutes({"service": "rag-api", "model": "gpt-4o", "severity": "critical"}, NOW)
    assert not w.mutes({"service": "other", "model": "gpt-4o", "severity": "warning"}, NOW)


def test_window_time_bounds_and_empty_means_everything() -> None:
    (w,) = windows({"name": "all", "start": "2025-05-10T12:00:00", "end": "2025-05-10T14:00"})
    assert w.matchers == ()
    assert w.starts_at == NOW  # naive is UTC
    assert not w.mutes({"model": "x"}, NOW - timedelta(seconds=1))
    assert w.mutes({"model": "x"}, NOW)
    assert w.mutes({}, NOW + 2 * HOUR - timedelta(seconds=1))
    assert not w.mutes({"model": "x"}, NOW + 2 * HOUR)


def test_window_accepts_yaml_timestamps_and_other_offsets() -> None:
    (a, b) = windows(
        {"name": "a", "start": datetime(2025, 5, 10, 12), "end": date(2025, 5, 11)},
        {"name": "b", "start": "2025-05-10T14:00:00+02:00", "end": "2025-05-10T15:00:00+02:00"},
    )
    assert (a.starts_at, a.ends_at) == (NOW, datetime(2025, 5, 11, tzinfo=UTC))
    assert b.starts_at == NOW
    assert b.mutes({}, NOW)


def test_maintenance_absent_is_none() -> None:
    assert parse_maintenance(None, "pyflare.yaml: maintenance") == ()


GOOD = {"name": "w", "start": "2025-05-10T11:00:00Z", "end": "2025-05-10T13:00:00Z"}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("w", "pyflare.yaml: maintenance[1]: must be a mapping"),
        ({**GOOD, "mdoels": ["x"]}, "maintenance[1].mdoels: not a known key"),
        ({"name": "w", "end": "2025-05-10"}, "maintenance[1].start: missing"),
        ({**GOOD, "name": " "}, "maintenance[1].name: must be a non-empty text"),
        ({**GOOD, "start": "tomorrow"}, "maintenance[1].start: 'tomorrow' is not an ISO date"),
        ({**GOOD, "end": 5}, "maintenance[1].end: 5 is not an ISO date"),
        ({**GOOD, "end": "2025-05-10T11:00:00Z"}, "maintenance[1].end: 2025-05-10T11:00:00+00:00 "),
        ({**GOOD, "models": []}, "maintenance[1].models: must be a non-empty list of models"),
        ({**GOOD, "services": [1]}, "maintenance[1].services: must be a non-empty list"),
        ({**GOOD, "matchers": "a=1"}, "maintenance[1].matchers: must be a list of matchers"),
        ({**GOOD, "matchers": ["a=1", "b"]}, "maintenance[1].matchers[1]: matcher 'b' has no"),
        (
            {**GOOD, "matchers": ["a=~("]},
            "maintenance[1].matchers[0]: matcher 'a=~(': invalid regular expression",
        ),
        (GOOD, "maintenance[1].name: 'w' is already the name of pyflare.yaml: maintenance[0]"),
    ],
)
def test_maintenance_errors_name_the_key(item: Any, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_maintenance([GOOD, item], "pyflare.yaml: maintenance")
    assert message in info.value.message
    assert info.value.message.startswith("pyflare.yaml: maintenance[1]")


def test_maintenance_must_be_a_list() -> None:
    with pytest.raises(UsageError, match=r"pyflare\.yaml: maintenance: must be a list"):
        parse_maintenance({"name": "w"}, "pyflare.yaml: maintenance")
