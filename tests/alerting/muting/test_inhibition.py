"""Inhibition: a firing source alert mutes matching targets, as Alertmanager decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pyflare_cli.alerting.muting.inhibition import (
    DEFAULT_INHIBIT,
    InhibitRule,
    inhibited,
    parse_inhibit_rules,
)
from pyflare_cli.alerting.muting.matchers import Matcher, parse_matcher
from pyflare_cli.errors import UsageError

NOW = datetime(2025, 5, 10, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def m(text: str) -> Matcher:
    return parse_matcher(text)


def alert(name: str, severity: str, **labels: str) -> dict[str, str]:
    return {"alertname": name, "severity": severity, **labels}


def test_default_critical_mutes_warning_and_info_of_the_same_alertname() -> None:
    critical = alert("HighErrorRate", "critical", model="gpt-4o")
    assert inhibited(alert("HighErrorRate", "warning", model="gpt-4o"), [critical], DEFAULT_INHIBIT)
    assert inhibited(alert("HighErrorRate", "info", model="gpt-4o"), [critical], DEFAULT_INHIBIT)
    warning = alert("HighErrorRate", "warning")
    assert inhibited(alert("HighErrorRate", "info"), [warning], DEFAULT_INHIBIT)
    assert not inhibited(alert("HighErrorRate", "critical"), [warning], DEFAULT_INHIBIT)


def test_different_alertname_is_not_muted() -> None:
    critical = alert("HighErrorRate", "critical")
    assert not inhibited(alert("SlowResponses", "warning"), [critical], DEFAULT_INHIBIT)


def test_a_resolved_source_no_longer_inhibits() -> None:
    warning = alert("HighErrorRate", "warning")
    critical = alert("HighErrorRate", "critical")
    assert inhibited(warning, [critical], DEFAULT_INHIBIT)
    assert not inhibited(warning, [], DEFAULT_INHIBIT)  # the caller passes only firing ones
    assert not inhibited(warning, [warning], DEFAULT_INHIBIT)


def test_an_alert_never_inhibits_itself() -> None:
    rule = InhibitRule(source=(m("severity=critical"),), target=(), equal=())
    critical = alert("StoreDown", "critical")
    assert not inhibited(critical, [critical], [rule])
    assert inhibited(alert("Other", "warning"), [critical], [rule])


def test_two_alerts_matching_both_sides_do_not_mute_each_other() -> None:
    rule = InhibitRule(source=(m("severity=critical"),), target=(), equal=())
    a, b = alert("A", "critical"), alert("B", "critical")
    assert not inhibited(a, [a, b], [rule])
    assert not inhibited(b, [a, b], [rule])


def test_equal_labels_with_missing_ones() -> None:
    rule = InhibitRule(
        source=(m("severity=critical"),), target=(m("severity=warning"),), equal=("model",)
    )
    assert inhibited(alert("A", "warning"), [alert("B", "critical")], [rule])  # missing == missing
    assert not inhibited(alert("A", "warning"), [alert("B", "critical", model="x")], [rule])
    assert not inhibited(alert("A", "warning", model="x"), [alert("B", "critical")], [rule])
    assert inhibited(alert("A", "warning", model="x"), [alert("B", "critical", model="x")], [rule])
    assert not inhibited(
        alert("A", "warning", model="x"), [alert("B", "critical", model="y")], [rule]
    )


def test_parse_inhibit_rules_default_empty_and_custom() -> None:
    assert parse_inhibit_rules(None, "rules.yaml: inhibit_rules") == DEFAULT_INHIBIT
    assert parse_inhibit_rules([], "rules.yaml: inhibit_rules") == ()
    (rule,) = parse_inhibit_rules(
        [
            {
                "source_matchers": ['alertname="StoreDown"'],
                "target_matchers": ["severity=~warning|info"],
                "equal": ["service"],
            }
        ],
        "rules.yaml: inhibit_rules",
    )
    assert rule == InhibitRule(
        source=(Matcher("alertname", "=", "StoreDown"),),
        target=(Matcher("severity", "=~", "warning|info"),),
        equal=("service",),
    )
    (bare,) = parse_inhibit_rules([{"source_matchers": ["a=1"]}], "x")
    assert (bare.target, bare.equal) == ((), ())


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ([], "rules.yaml: inhibit_rules[0]: must be a mapping"),
        ({"source": ["a=1"]}, "rules.yaml: inhibit_rules[0].source: not a known key"),
        ({"target_matchers": ["a=1"]}, "rules.yaml: inhibit_rules[0].source_matchers: missing"),
        ({"source_matchers": []}, "inhibit_rules[0].source_matchers: must list at least one"),
        (
            {"source_matchers": ["a=1"], "target_matchers": ["b"]},
            "rules.yaml: inhibit_rules[0].target_matchers[0]: matcher 'b' has no operator",
        ),
        ({"source_matchers": ["a=1"], "equal": "model"}, "inhibit_rules[0].equal: must be a list"),
        (
            {"source_matchers": ["a=1"], "equal": ["model", "bad-name"]},
            "rules.yaml: inhibit_rules[0].equal[1]: 'bad-name' is not a label name",
        ),
    ],
)
def test_inhibit_rule_errors_name_the_key(item: Any, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_inhibit_rules([item], "rules.yaml: inhibit_rules")
    assert message in info.value.message


def test_inhibit_rules_must_be_a_list() -> None:
    with pytest.raises(UsageError, match="inhibit_rules: must be a list"):
        parse_inhibit_rules({"source_matchers": []}, "rules.yaml: inhibit_rules")


def test_default_inhibition_mutes_the_same_alert_one_level_down_only() -> None:
    critical = {"alertname": "HighErrorRate", "severity": "critical", "model": "gpt-4o"}
    same = {**critical, "severity": "warning"}
    other_model = {**same, "model": "claude"}
    assert inhibited(same, [critical], DEFAULT_INHIBIT)
    assert not inhibited(other_model, [critical], DEFAULT_INHIBIT)
    assert not inhibited(critical, [critical], DEFAULT_INHIBIT)
