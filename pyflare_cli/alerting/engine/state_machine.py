"""One evaluation of every rule: samples, the state machine, and what changed.

Prometheus's semantics: an active label set is ``pending`` until its condition has held
for ``for``, then ``firing``; when the condition stops it stays firing for
``keep_firing_for``, then ``resolved``; a pending one that stops is dropped. One alert per
rule and label set (its fingerprint). Rules run in file order, so a composite (``all`` or
``any``) sees the states the rules before it just reached. Pure: alerts and samples in,
alerts and history events out; :mod:`alerting.check` does the I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pyflare_cli.alerting.engine.evaluate import Sample
from pyflare_cli.alerting.model import Alert, State, fingerprint
from pyflare_cli.alerting.rules.model import Composite, Rule
from pyflare_cli.alerting.rules.templating import render


@dataclass(frozen=True)
class Step:
    alerts: dict[str, Alert]
    events: list[dict[str, Any]]


def transition_event(alert: Alert, now: datetime, to: str, **more: Any) -> dict[str, Any]:
    """The history line of ``alert`` moving to ``to`` at ``now`` (``more`` adds fields)."""
    return {
        "time": now,
        "fingerprint": alert.fingerprint,
        "alertname": alert.name,
        "severity": alert.severity,
        "from": alert.state,
        "to": to,
        "value": alert.value,
        "labels": alert.labels,
        **more,
    }


def _labels(rule: Rule, sample: Sample) -> dict[str, str]:
    return {**sample.labels, **rule.labels, "alertname": rule.name, "severity": rule.severity}


def _annotations(rule: Rule, labels: dict[str, str], value: float | None) -> dict[str, str]:
    return {name: render(text, labels, value) for name, text in rule.annotations.items()}


def step_rule(
    rule: Rule, samples: Sequence[Sample], alerts: dict[str, Alert], now: datetime
) -> Step:
    """The alerts after one evaluation of ``rule`` (the other rules' alerts untouched)."""
    alerts = dict(alerts)
    events: list[dict[str, Any]] = []
    active: set[str] = set()
    for sample in samples:
        if not sample.active:
            continue
        labels = _labels(rule, sample)
        fp = fingerprint(labels)
        active.add(fp)
        annotations = _annotations(rule, labels, sample.value)
        previous = alerts.get(fp)
        if previous is None or previous.state in ("resolved", "inactive"):
            state: State = "firing" if rule.for_.total_seconds() == 0 else "pending"
            alert = Alert(
                fingerprint=fp,
                labels=labels,
                annotations=annotations,
                state=state,
                value=sample.value,
                active_since=now,
                started_at=now if state == "firing" else None,
                ended_at=None,
                last_evaluated=now,
                last_active=now,
            )
            events.append(transition_event(alert, now, state, **{"from": "inactive"}))
        else:
            fires = (
                previous.state == "pending"
                and previous.active_since is not None
                and (now - previous.active_since >= rule.for_)
            )
            alert = replace(
                previous,
                annotations=annotations,
                value=sample.value,
                last_evaluated=now,
                last_active=now,
                keep_firing_since=None,
                state="firing" if fires else previous.state,
                started_at=now if fires else previous.started_at,
            )
            if fires:
                events.append(transition_event(previous, now, "firing"))
        alerts[fp] = alert
    for fp, alert in list(alerts.items()):
        if alert.name != rule.name or fp in active or alert.state not in ("pending", "firing"):
            continue
        if alert.state == "pending":
            events.append(transition_event(alert, now, "inactive"))
            del alerts[fp]
            continue
        # As Prometheus: keep_firing_for counts from the first evaluation that found the
        # condition cleared.
        since = alert.keep_firing_since or now
        if now - since < rule.keep_firing_for:
            alerts[fp] = replace(alert, last_evaluated=now, keep_firing_since=since)
            continue
        events.append(transition_event(alert, now, "resolved"))
        alerts[fp] = replace(alert, state="resolved", ended_at=now, last_evaluated=now)
    return Step(alerts, events)


def composite_samples(rule: Rule, alerts: dict[str, Alert]) -> list[Sample]:
    """A composite's single sample: active when all (or any) named alerts are firing."""
    assert isinstance(rule.condition, Composite)
    firing = {a.name for a in alerts.values() if a.state == "firing"}
    hits = [name in firing for name in rule.condition.rules]
    active = all(hits) if rule.condition.mode == "all" else any(hits)
    return [Sample({}, float(sum(hits)), active)]


def drop_removed(rules: Sequence[Rule], alerts: dict[str, Alert], now: datetime) -> Step:
    """Forget the alerts of rules no longer in the rule file, as Prometheus does on reload.

    A firing one is resolved at ``now`` (a history event, and the notifier, no longer
    passed it, tells its receivers it resolved); a pending one goes inactive; both, and
    resolved ones, leave the state, so a removed rule cannot keep a gate red.
    """
    names = {rule.name for rule in rules}
    kept: dict[str, Alert] = {}
    events: list[dict[str, Any]] = []
    for fp, alert in alerts.items():
        if alert.name in names:
            kept[fp] = alert
        elif alert.state in ("pending", "firing"):
            to = "resolved" if alert.state == "firing" else "inactive"
            events.append(transition_event(alert, now, to, reason="rule removed"))
    return Step(kept, events)


def run_rules(
    rules: Sequence[Rule],
    samples: dict[str, list[Sample]],
    alerts: dict[str, Alert],
    now: datetime,
) -> Step:
    """Step every rule in order; a rule without samples (an evaluation error) keeps its alerts.

    Alerts of rules that are no longer in ``rules`` are dropped first (:func:`drop_removed`).
    """
    first = drop_removed(rules, alerts, now)
    alerts, events = first.alerts, first.events
    for rule in rules:
        if isinstance(rule.condition, Composite):
            rule_samples = composite_samples(rule, alerts)
        elif rule.name in samples:
            rule_samples = samples[rule.name]
        else:
            continue
        result = step_rule(rule, rule_samples, alerts, now)
        alerts, events = result.alerts, events + result.events
    return Step(alerts, events)
