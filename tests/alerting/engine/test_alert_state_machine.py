"""The alert state machine: pending -> firing -> resolved, for, keep_firing_for, composites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyflare_cli.alerting.engine.evaluate import Sample
from pyflare_cli.alerting.engine.state_machine import run_rules, step_rule
from pyflare_cli.alerting.model import Alert, fingerprint
from pyflare_cli.alerting.rules.model import Composite, Measure, Rule, Threshold

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)


def rule(name: str = "High", for_: int = 0, keep: int = 0, **more: object) -> Rule:
    condition = more.pop("condition", Threshold(Measure("error_rate"), ">", 0.1))
    return Rule(
        name=name,
        group="g",
        condition=condition,  # type: ignore[arg-type]
        window=5 * MIN,
        for_=for_ * MIN,
        keep_firing_for=keep * MIN,
        severity="critical",
        labels={"team": "ml"},
        annotations={"summary": "{{ $labels.model }} at {{ $value | percent }}"},
    )


def active(value: float = 0.2, model: str = "m1") -> Sample:
    return Sample({"model": model}, value, True)


def quiet(model: str = "m1") -> Sample:
    return Sample({"model": model}, 0.0, False)


def run(r: Rule, minutes: list[list[Sample]]) -> list[dict[str, Alert]]:
    """The alerts after each one-minute evaluation."""
    alerts: dict[str, Alert] = {}
    states = []
    for i, samples in enumerate(minutes):
        alerts = step_rule(r, samples, alerts, T0 + i * MIN).alerts
        states.append(alerts)
    return states


def only(alerts: dict[str, Alert]) -> Alert:
    (alert,) = alerts.values()
    return alert


def test_without_for_an_alert_fires_at_once_with_labels_and_annotations() -> None:
    (after,) = run(rule(), [[active()]])
    alert = only(after)
    assert alert.state == "firing" and alert.started_at == T0
    assert alert.labels == {
        "model": "m1",
        "team": "ml",
        "alertname": "High",
        "severity": "critical",
    }
    assert alert.fingerprint == fingerprint(alert.labels)
    assert alert.annotations == {"summary": "m1 at 20.0%"}


def test_for_keeps_it_pending_until_the_condition_held_long_enough() -> None:
    states = run(rule(for_=2), [[active()], [active()], [active()]])
    assert [only(s).state for s in states] == ["pending", "pending", "firing"]
    assert only(states[2]).started_at == T0 + 2 * MIN
    assert only(states[2]).active_since == T0


def test_a_pending_alert_that_stops_is_dropped() -> None:
    states = run(rule(for_=5), [[active()], [quiet()]])
    assert only(states[0]).state == "pending" and states[1] == {}


def test_firing_resolves_when_the_condition_stops() -> None:
    states = run(rule(), [[active()], [quiet()], [quiet()]])
    assert only(states[1]).state == "resolved" and only(states[1]).ended_at == T0 + MIN
    assert only(states[2]).ended_at == T0 + MIN  # stays resolved, not resolved again


def test_keep_firing_for_holds_a_flapping_alert() -> None:
    # As Prometheus: counted from the first evaluation that found the condition cleared.
    states = run(rule(keep=2), [[active()], [quiet()], [quiet()], [quiet()], [quiet()]])
    assert [only(s).state for s in states] == ["firing", "firing", "firing", "resolved", "resolved"]
    assert only(states[1]).keep_firing_since == T0 + MIN
    assert only(states[3]).ended_at == T0 + 3 * MIN
    back = run(rule(keep=2), [[active()], [quiet()], [active()], [quiet()], [quiet()]])
    assert only(back[2]).keep_firing_since is None  # the condition held again: count anew
    assert [only(s).state for s in back] == ["firing"] * 5


def test_a_resolved_alert_that_comes_back_is_a_new_instance() -> None:
    states = run(rule(), [[active()], [quiet()], [active(0.5)]])
    again = only(states[2])
    assert again.state == "firing" and again.started_at == T0 + 2 * MIN and again.ended_at is None


def test_one_alert_per_label_set() -> None:
    (after,) = run(rule(), [[active(model="a"), active(model="b"), quiet(model="c")]])
    assert sorted(a.labels["model"] for a in after.values()) == ["a", "b"]


def test_events_record_every_transition() -> None:
    r = rule(for_=1)
    alerts: dict[str, Alert] = {}
    seen = []
    for i, samples in enumerate([[active()], [active()], [quiet()]]):
        step = step_rule(r, samples, alerts, T0 + i * MIN)
        alerts = step.alerts
        seen += [(e["from"], e["to"]) for e in step.events]
    assert seen == [("inactive", "pending"), ("pending", "firing"), ("firing", "resolved")]


def test_composites_see_the_rules_before_them() -> None:
    first = rule("A")
    second = rule("B")
    both = rule("Both", condition=Composite("all", ("A", "B")))
    anyone = rule("Any", condition=Composite("any", ("A", "B")))
    rules = [first, second, both, anyone]
    step = run_rules(rules, {"A": [active()], "B": [quiet()]}, {}, T0)
    names = {a.name for a in step.alerts.values() if a.state == "firing"}
    assert names == {"A", "Any"}
    step = run_rules(rules, {"A": [active()], "B": [active()]}, step.alerts, T0 + MIN)
    names = {a.name for a in step.alerts.values() if a.state == "firing"}
    assert names == {"A", "B", "Both", "Any"}


def test_a_rule_without_samples_keeps_its_alerts() -> None:
    step = run_rules([rule()], {"High": [active()]}, {}, T0)
    kept = run_rules([rule()], {}, step.alerts, T0 + MIN)  # evaluation failed this time
    assert only(kept.alerts).state == "firing"
