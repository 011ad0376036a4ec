"""``--fail-on`` conditions: parsing with units, and checks that fail closed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pyflare_cli.analysis.stats.gate import bucket_label, check, parse_condition
from pyflare_cli.errors import UsageError


@pytest.mark.parametrize(
    ("text", "figure", "op", "threshold"),
    [
        ("p95>2s", "p95", ">", 2e9),
        ("p99 >= 250ms", "p99", ">=", 250e6),
        ("max<1m", "max", "<", 60e9),
        ("error_rate>2%", "error_rate", ">", 0.02),
        ("error_rate>0.05", "error_rate", ">", 0.05),
        ("cost>$5", "cost_usd", ">", 5.0),
        ("cost_usd>5.5", "cost_usd", ">", 5.5),
        ("requests<1.5k", "requests", "<", 1500.0),
        ("tokens>2M", "tokens", ">", 2e6),
        ("p95_change>20%", "p95_change", ">", 0.2),
        ("error_rate_change>1%", "error_rate_change", ">", 0.01),
        ("P95>2s", "p95", ">", 2e9),
    ],
)
def test_parse(text: str, figure: str, op: str, threshold: float) -> None:
    condition = parse_condition(text)
    assert (condition.figure, condition.op) == (figure, op)
    assert condition.threshold == pytest.approx(threshold)


@pytest.mark.parametrize("text", ["p95>2", "p95>fast", "speed>2s", "p95=2s", "error_rate>3", ""])
def test_bad_conditions_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--fail-on"):
        parse_condition(text)


def test_check_per_group_and_missing_values_fail() -> None:
    rows = [
        {"model": "a", "p95": 3e9, "p95_change": None, "error_rate": 0.0},
        {"model": "b", "p95": 1e9, "p95_change": 0.5, "error_rate": 0.1},
        {"model": None, "p95": None, "p95_change": -0.1, "error_rate": 0.0},
    ]
    conditions = [parse_condition("p95>2s"), parse_condition("p95_change>20%")]
    found = [(b.group, b.condition.figure, b.value) for b in check(rows, ["model"], conditions)]
    assert found == [
        ("model=a", "p95", 3e9),
        ("model=a", "p95_change", None),
        ("model=b", "p95_change", 0.5),
        ("model=(none)", "p95", None),
    ]
    assert check(rows[1:2], ["model"], [parse_condition("p95>2s")]) == []


def test_buckets_are_named_per_every() -> None:
    at = {"period": datetime(2026, 11, 16, 14, tzinfo=UTC), "weekday": 1, "hour": 14}
    assert bucket_label(at, "hour") == "2026-11-16 14:00"
    assert bucket_label(at, "day") == "2026-11-16"
    assert bucket_label(at, "week") == "week of 2026-11-16"
    assert bucket_label(at, "weekday-hour") == "Mon 14:00"


def test_with_every_figures_are_checked_per_bucket_and_changes_on_the_window() -> None:
    p95, change = parse_condition("p95>1s"), parse_condition("requests_change>50%")
    window = [{"model": "m", "p95": 0.5e9, "requests_change": 0.6}]
    buckets = [
        {"model": "m", "period": datetime(2026, 11, 16, h, tzinfo=UTC), "p95": ns}
        for h, ns in ((1, 0.4e9), (2, 3e9))
    ]
    found = check(window, ["model"], [p95, change], buckets, "hour")
    assert [(b.condition.figure, b.bucket) for b in found] == [
        ("requests_change", None),
        ("p95", "2026-11-16 02:00"),
    ]
    assert [b.condition.figure for b in check(window, ["model"], [p95, change])] == [
        "requests_change"
    ]
