"""Rule files: what loads, and what is refused at load time with the file, line and reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pyflare_cli.alerting.rules.model import (
    Anomaly,
    BudgetCondition,
    Change,
    Composite,
    DriftCondition,
    Pattern,
    Threshold,
)
from pyflare_cli.alerting.rules.parse import load_rules
from pyflare_cli.errors import UsageError

GOOD = """\
groups:
  - name: llm
    rules:
      - alert: HighErrorRate
        threshold: {aggregate: error_rate, where: "type:llm", by: [model], op: ">", value: 0.05}
        window: 10m
        for: 5m
        keep_firing_for: 2m
        severity: critical
        labels: {team: ml}
        annotations: {summary: "{{ $labels.model }} {{ $value | percent }}"}
      - alert: SlowP99
        threshold: {aggregate: quantile, field: duration, quantile: 0.99, op: ">", value: 5000}
      - alert: Doubling
        change: {aggregate: count, where: "status:error", compare: ratio, op: ">=", value: 2}
      - alert: Traffic
        anomaly: {aggregate: rate, windows: 6, method: mad, k: 4, direction: both}
      - alert: Limits
        pattern: {regex: "(?i)rate limit", min_count: 3, by: [service]}
      - alert: Drift
        drift: {model: gpt-4o, fail_on: warning}
      - alert: Budget
        budget: {name: daily, status: [warn, projected-to-exceed]}
      - alert: Both
        all: [HighErrorRate, Limits]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    return path


def test_every_condition_kind_loads(tmp_path: Path) -> None:
    rules = {r.name: r for r in load_rules(write(tmp_path, GOOD)).rules}
    high = rules["HighErrorRate"]
    assert isinstance(high.condition, Threshold)
    assert high.condition.measure.by == ("model",) and high.condition.value == 0.05
    assert high.window == timedelta(minutes=10) and high.for_ == timedelta(minutes=5)
    assert high.keep_firing_for == timedelta(minutes=2) and high.severity == "critical"
    assert high.source.endswith("alerts.yaml:4")
    assert isinstance(rules["Doubling"].condition, Change)
    assert isinstance(rules["Traffic"].condition, Anomaly) and rules["Traffic"].condition.k == 4
    assert isinstance(rules["Limits"].condition, Pattern)
    assert isinstance(rules["Drift"].condition, DriftCondition)
    assert rules["Drift"].window == timedelta(hours=24)  # a drift rule's default window
    budget = rules["Budget"].condition
    assert isinstance(budget, BudgetCondition) and budget.statuses == ("warn", "projected")
    assert rules["Both"].condition == Composite("all", ("HighErrorRate", "Limits"))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("threshold: {aggregate: avg, op: '>', value: 1}", "avg needs one of duration"),
        ("threshold: {aggregate: mean, op: '>', value: 1}", "aggregate 'mean'"),
        ("threshold: {aggregate: count, op: '=>', value: 1}", "op '=>'"),
        ("threshold: {aggregate: count, op: '>', value: lots}", "value must be a number"),
        ("threshold: {aggregate: count, op: '>', value: 1, where: 'colour:red'}", "where"),
        ("threshold: {aggregate: count, op: '>', value: 1, by: [colour]}", "by 'colour'"),
        ("threshold: {aggregate: count, op: '>', value: 1, wher: x}", "unknown key 'wher'"),
        ("pattern: {regex: '(?<=x)y'}", "pattern.regex"),
        ("pattern: {min_count: 2}", "exactly one of regex or template"),
        ("anomaly: {aggregate: count, windows: 2}", "windows must be an integer >= 3"),
        ("drift: {fail_on: drifted}", "drift.model"),
        ("budget: {name: daily, status: broke}", "budget.status"),
        ("any: [Nope]", "'Nope' is not an alert"),
        ("threshold: {aggregate: count, op: '>', value: 1}\n        window: soon", "window 'soon'"),
        ("threshold: {aggregate: count, op: '>', value: 1}\n        severity: page", "severity"),
        (
            "threshold: {aggregate: count, op: '>', value: 1}\n"
            "        annotations: {summary: '{{ $value | money }}'}",
            "unknown filter 'money'",
        ),
        ("change: {aggregate: count, value: 2}\n        pattern: {regex: x}", "exactly one"),
    ],
)
def test_invalid_rules_name_file_line_and_reason(tmp_path: Path, rule: str, message: str) -> None:
    text = f"groups:\n  - name: g\n    rules:\n      - alert: Ok\n        {rule}\n"
    with pytest.raises(UsageError) as raised:
        load_rules(write(tmp_path, text))
    assert message in raised.value.message
    assert f"{tmp_path / 'alerts.yaml'}:" in raised.value.message


def test_the_line_is_the_rules_own(tmp_path: Path) -> None:
    text = GOOD + "      - alert: Broken\n        threshold: {aggregate: nope}\n"
    with pytest.raises(UsageError) as raised:
        load_rules(write(tmp_path, text))
    broken_line = GOOD.count("\n") + 2
    assert f"alerts.yaml:{broken_line}:" in raised.value.message


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_rules(tmp_path / "missing.yaml")
    with pytest.raises(UsageError, match="invalid YAML"):
        load_rules(write(tmp_path, "groups: [\n"))
    with pytest.raises(UsageError, match="groups must be a non-empty list"):
        load_rules(write(tmp_path, "groups: []\n"))
    twice = "groups:\n  - name: g\n    rules:\n" + (
        "      - alert: A\n        threshold: {aggregate: count, op: '>', value: 1}\n" * 2
    )
    with pytest.raises(UsageError, match="defined twice"):
        load_rules(write(tmp_path, twice))
    later = (
        "groups:\n  - name: g\n    rules:\n      - alert: C\n        all: [A]\n"
        "      - alert: A\n        threshold: {aggregate: count, op: '>', value: 1}\n"
    )
    with pytest.raises(UsageError, match="'A' must come before it"):
        load_rules(write(tmp_path, later))
