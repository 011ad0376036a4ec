"""Inhibition: while a source alert fires, target alerts with the same labels stay quiet.

As Alertmanager's ``inhibit_rules``: a firing critical alert mutes the matching warning
(:data:`DEFAULT_INHIBIT` when the rule file has no ``inhibit_rules`` section). Inhibition
never changes an alert's state, only whether anyone is told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyflare_cli.alerting.muting.matchers import LABEL_NAME, Matcher, all_match, matcher_list
from pyflare_cli.errors import UsageError


@dataclass(frozen=True)
class InhibitRule:
    """While an alert matching ``source`` fires, mute alerts matching ``target`` whose
    ``equal`` labels have the same values (a label missing on both sides is equal)."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


DEFAULT_INHIBIT: tuple[InhibitRule, ...] = (
    InhibitRule(
        source=(Matcher("severity", "=", "critical"),),
        target=(Matcher("severity", "=~", "warning|info"),),
        equal=("*",),
    ),
    InhibitRule(
        source=(Matcher("severity", "=", "warning"),),
        target=(Matcher("severity", "=", "info"),),
        equal=("*",),
    ),
)
"""The inhibition used when the configuration has no ``inhibit_rules`` section: a firing
critical alert mutes the warning and info alerts with the same labels (all but severity,
``equal: ["*"]``), and a firing warning mutes the info ones. An empty list
(``inhibit_rules: []``) turns inhibition off."""

_INHIBIT_KEYS = ("source_matchers", "target_matchers", "equal")


def _inhibit_rule(item: Any, where: str) -> InhibitRule:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: must be a mapping with source_matchers, target_matchers")
    for key in item:
        if key not in _INHIBIT_KEYS:
            raise UsageError(f"{where}.{key}: not a known key; use {', '.join(_INHIBIT_KEYS)}")
    if "source_matchers" not in item:
        raise UsageError(f"{where}.source_matchers: missing")
    source = matcher_list(item["source_matchers"], f"{where}.source_matchers")
    if not source:
        raise UsageError(
            f"{where}.source_matchers: must list at least one matcher "
            "(with none, every firing alert would mute others)"
        )
    target = matcher_list(item.get("target_matchers", []), f"{where}.target_matchers")
    equal = item.get("equal", [])
    if not isinstance(equal, list):
        raise UsageError(f"{where}.equal: must be a list of label names, not {equal!r}")
    for j, name in enumerate(equal):
        if not isinstance(name, str) or not LABEL_NAME.fullmatch(name):
            raise UsageError(f"{where}.equal[{j}]: {name!r} is not a label name")
    return InhibitRule(source=source, target=target, equal=tuple(equal))


def parse_inhibit_rules(section: Any, where: str) -> tuple[InhibitRule, ...]:
    """Inhibition rules from configuration; :data:`DEFAULT_INHIBIT` when absent (None).

    ```yaml
    inhibit_rules:
      - source_matchers: ['alertname="StoreDown"']
        target_matchers: []              # default: every alert
        equal: []                        # default: no label must be equal
      - source_matchers: ['severity="critical"']
        target_matchers: ['severity="warning"']
        equal: [alertname, model]
    ```

    Errors raise :class:`UsageError` as ``f"{where}[i].key: reason"``.
    """
    if section is None:
        return DEFAULT_INHIBIT
    if not isinstance(section, list):
        raise UsageError(f"{where}: must be a list of inhibition rules")
    return tuple(_inhibit_rule(item, f"{where}[{i}]") for i, item in enumerate(section))


ALL_BUT_SEVERITY = "*"
"""In ``equal``: every label but ``severity`` (the same alert, one level down)."""


def _equal(rule: InhibitRule, source: Mapping[str, str], target: Mapping[str, str]) -> set[str]:
    names = set(rule.equal)
    if ALL_BUT_SEVERITY in names:
        names = (names | set(source) | set(target)) - {ALL_BUT_SEVERITY, "severity"}
    return names


def inhibitor(
    labels: Mapping[str, str],
    firing: Iterable[Mapping[str, str]],
    rules: Iterable[InhibitRule],
) -> Mapping[str, str] | None:
    """The first firing alert that inhibits ``labels``, as Alertmanager decides.

    An alert matching both sides of a rule is inhibited only by sources that do not match
    the target side themselves (Alertmanager's rule, which also keeps an alert from muting
    itself, or two alerts from muting each other).
    """
    sources = list(firing)
    own = dict(labels)
    for rule in rules:
        if not all_match(rule.target, labels):
            continue
        two_sided = all_match(rule.source, labels)
        for source in sources:
            if dict(source) == own or not all_match(rule.source, source):
                continue
            if any(source.get(n, "") != labels.get(n, "") for n in _equal(rule, source, labels)):
                continue
            if two_sided and all_match(rule.target, source):
                continue
            return source
    return None


def inhibited(
    labels: Mapping[str, str],
    firing: Iterable[Mapping[str, str]],
    rules: Iterable[InhibitRule],
) -> bool:
    """Whether some FIRING alert (labels in ``firing``) inhibits the alert ``labels``.

    Muted when a source alert matches a rule's source matchers, ``labels`` match its
    target matchers, every ``equal`` label has the same value on both (missing equals
    missing, and the empty text), and the source is not the alert itself. Pass only the
    alerts that fire: a pending or resolved alert inhibits nothing.
    """
    return inhibitor(labels, firing, rules) is not None
