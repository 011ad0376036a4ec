"""Comparing a check's expected alerts with the alerts there, as a readable diff.

An expected alert matches an alert with the same labels and state, the annotations it
gives, and a value that rounds to the one written. What does not match is shown with
``-`` (expected, not there), ``+`` (there, not expected) or ``~`` (there, but its state,
annotations or value differ).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pyflare_cli.alerting.model import Alert
from pyflare_cli.alerting.rule_tests.spec import Expected


def _value_matches(expected: float, actual: float | None) -> bool:
    """Whether ``actual`` rounds to ``expected`` at the precision ``expected`` is written."""
    if actual is None or math.isnan(actual):
        return math.isnan(expected)
    text = repr(expected)
    if "e" in text or "inf" in text or "nan" in text:
        return math.isclose(actual, expected, rel_tol=1e-9)
    decimals = len(text.partition(".")[2].rstrip("0"))
    return abs(actual - expected) <= 0.5 * 10.0**-decimals + 1e-12 * max(1.0, abs(expected))


def _matches(expected: Expected, alert: Alert) -> bool:
    return (
        alert.labels == expected.labels
        and alert.state == expected.state
        and all(alert.annotations.get(k) == v for k, v in expected.annotations.items())
        and (expected.value is None or _value_matches(expected.value, alert.value))
    )


def _label_text(labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "alertname")
    return f"{labels.get('alertname', '')}{{{inner}}}"


def _value_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def _describe_expected(expected: Expected) -> list[str]:
    value = "" if expected.value is None else f" value={_value_text(expected.value)}"
    lines = [f"- {_label_text(expected.labels)} {expected.state}{value}  ({expected.source})"]
    lines += [f"      {k}: {v!r}" for k, v in sorted(expected.annotations.items())]
    return lines


def _describe_actual(alert: Alert) -> list[str]:
    lines = [f"+ {_label_text(alert.labels)} {alert.state} value={_value_text(alert.value)}"]
    lines += [f"      {k}: {v!r}" for k, v in sorted(alert.annotations.items())]
    return lines


def _differences(expected: Expected, alert: Alert) -> list[str]:
    lines = [f"~ {_label_text(alert.labels)}  ({expected.source})"]
    if alert.state != expected.state:
        lines.append(f"      state: expected {expected.state}, got {alert.state}")
    for key, want in sorted(expected.annotations.items()):
        got = alert.annotations.get(key)
        if got != want:
            shown = "no such annotation" if got is None else repr(got)
            lines.append(f"      {key}: expected {want!r}, got {shown}")
    if expected.value is not None and not _value_matches(expected.value, alert.value):
        lines.append(
            f"      value: expected {_value_text(expected.value)}, got {_value_text(alert.value)}"
        )
    return lines


def compare(
    expected: Sequence[Expected], alerts: Sequence[Alert], hidden: Sequence[Alert] = ()
) -> list[str]:
    """The diff between the expected alerts and the alerts that are there ([] when equal).

    ``alerts`` are the ones to compare (firing, plus pending if the check expects some);
    ``hidden`` the others (pending ones), named when an expected alert is one of them.
    """
    remaining = sorted(alerts, key=lambda a: (a.name, sorted(a.labels.items()), a.state))
    missing: list[Expected] = []
    for item in expected:
        hit = next((a for a in remaining if _matches(item, a)), None)
        if hit is None:
            missing.append(item)
        else:
            remaining.remove(hit)
    lines: list[str] = []
    for item in missing:
        twin = next((a for a in remaining if a.labels == item.labels), None)
        if twin is not None:
            remaining.remove(twin)
            lines += _differences(item, twin)
            continue
        lines += _describe_expected(item)
        shadow = next((a for a in hidden if a.labels == item.labels), None)
        if shadow is not None:
            lines.append(
                f"      (it is {shadow.state}, value={_value_text(shadow.value)}: "
                "expect state: pending to compare pending alerts)"
            )
    for alert in remaining:
        lines += _describe_actual(alert)
    return lines
