"""``--fail-on`` conditions: parsing with units, and checks that fail closed."""

from __future__ import annotations

import pytest

from pyflare_cli.analysis.stats.gate import check, parse_condition
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
