"""Rule tests: `pyflare alert test TESTFILE`, unit tests for alert rules as `promtool test rules`.

A test file names a rule file, and holds tests: input spans described compactly, and the
alerts expected at given times. Each test evaluates every rule at ``start``, ``start +
interval``, ... up to its last check, carrying the alert states from one evaluation to
the next exactly as consecutive `pyflare alert check` runs do (:func:`engine.run_rules`
over the samples of :func:`check.evaluate_all`), and at each check compares the alerts
that are firing with the expected ones.

```yaml
rules: alerts.yaml                # relative to this file; or the rule file's content inline
interval: 1m                      # default of every test (1m)
start: 2026-01-01T00:00:00Z       # default of every test (2026-01-01T00:00:00Z)
tests:
  - name: error rate fires after three minutes and resolves
    start: 2026-01-01T00:00:00Z   # time 0 of this test
    interval: 1m                  # evaluate every minute from start up to the last check
    spans:
      # a series: `count` spans (default 1) at from, from + every, ... while < to
      - {from: 0m, to: 30m, every: 10s, model: gpt-4o-mini, type: llm, service: rag-api}
      - {from: 10m, to: 20m, every: 20s, model: gpt-4o-mini, type: llm, service: rag-api,
         error: "RateLimitError: Rate limit reached for gpt-4o-mini"}
      # one instant: `count` spans (default 1) at `at`
      - {at: 12m, duration: 30s, model: gpt-4o, type: llm}
      # a list value cycles over the spans of the item: here 1 in 4 is slow
      - {from: -1h, to: 30m, every: 15s, model: gpt-4o, duration: [1s, 1s, 1s, 12s]}
      # spans of an OTLP or Phoenix file (any format `pyflare ingest` reads), priced as
      # pyflare prices them, shifted so that the file's first span starts at `shift_to`
      - {file: ../../fixtures/otlp/trace.json, shift_to: 5m}
    checks:
      - at: 9m
        alerts: []                # nothing firing
      - at: 12m
        alerts:
          - {alertname: HighErrorRate, state: pending, labels: {model: gpt-4o-mini}}
      - at: 16m
        alerts:
          - alertname: HighErrorRate
            state: firing         # the default
            labels: {model: gpt-4o-mini}
            annotations: {summary: "gpt-4o-mini fails 33.3% of calls"}
            value: 0.333          # optional: matches when the value rounds to it
```

Times (``at``, ``from``, ``to``, ``shift_to``) are offsets from ``start`` (``90s``, ``16m``,
``-1h``, or plain seconds) or absolute ISO times; durations (``every``, ``duration``,
``interval``) are ``300ms``, ``1.5s``, ``5m``... A check's time must be one of the
evaluation times (``start + k * interval``, k >= 0).

Span fields: ``model`` (also the request model), ``provider``, ``service`` (default
``app``), ``version``, ``name`` (default ``span``), ``type`` (ai_kind: llm, tool...),
``status`` (ok, error or unset; default unset, or error when ``error`` is given),
``error`` (``"Type: message"`` sets error_type and error_message), ``duration`` (default
1s), ``input_tokens``, ``output_tokens``, ``cost`` (USD; compact spans are not priced),
``user``, ``session``, ``environment``, ``tool``, ``agent``, ``attributes`` and
``resource`` (mappings), ``trace`` (the trace id; default a new one per span). Every
field may be a list, whose values the item's spans take in turn. Span and trace ids are
numbered, so a test gives the same result every time.

Expected alerts: the alerts in state firing, and also those pending when an expected alert
of that check says ``state: pending``, must be exactly the ones listed (in any order).
An expected alert matches an alert with the same ``alertname`` and state, and exactly the
same labels, where the expected labels are the ones given plus those the rule implies:
its ``severity`` and its static ``labels`` (a label given in the test overrides them).
``annotations`` compare only the ones given, as rendered; ``value`` (optional) matches
when the alert's value rounds to it at the precision written (0.333 matches 1/3).
Resolved alerts are never listed.

Drift and budget conditions need a store: rule tests do not evaluate them (they never
fire), and a check that expects such an alert, or a composite that depends on one, is
refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pyflare_cli.alerting.check import evaluate_all, lookback
from pyflare_cli.alerting.engine import run_rules
from pyflare_cli.alerting.model import Alert
from pyflare_cli.alerting.rule_test_spans import (
    CHECK_KEYS,
    DEFAULT_INTERVAL,
    DEFAULT_START,
    EXPECTED_KEYS,
    FILE_KEYS,
    MAX_EVALUATIONS,
    TEST_KEYS,
    Where,
    duration_ns,
    instant,
    ns_of,
    offset_ns,
    spans_from_spec,
    text_of,
)
from pyflare_cli.alerting.rules import (
    BudgetCondition,
    Composite,
    DriftCondition,
    Rule,
    RuleFile,
    load_rules,
    parse_rules,
)
from pyflare_cli.alerting.state_store import KEEP_RESOLVED
from pyflare_cli.alerting.yaml_lines import line_of, load_yaml
from pyflare_cli.errors import UsageError


@dataclass(frozen=True)
class CheckResult:
    """One check of one test: whether the alerts were the expected ones, else the diff.

    ``diff`` lines start with ``-`` (expected, not there), ``+`` (there, not expected) or
    ``~`` (there, but its state, annotations or value differ), and indented details.
    """

    test: str
    at: str
    passed: bool
    diff: list[str]
    time: datetime | None = None
    source: str = ""


@dataclass(frozen=True)
class Expected:
    alertname: str
    state: str
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    source: str


@dataclass(frozen=True)
class Check:
    at: str
    time: datetime
    alerts: tuple[Expected, ...]
    source: str


@dataclass(frozen=True)
class RuleTest:
    name: str
    start: datetime
    interval: timedelta
    spans: pl.DataFrame
    checks: tuple[Check, ...]
    source: str = ""


@dataclass(frozen=True)
class RuleTestFile:
    path: Path
    rules: RuleFile
    tests: tuple[RuleTest, ...] = field(default_factory=tuple)


# --- the test file ------------------------------------------------------------------------


def _keys(section: dict[str, Any], allowed: set[str], where: Where) -> None:
    unknown = sorted(set(section) - allowed, key=str)
    if unknown:
        raise where.error(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _rule_file(value: Any, path: Path, where: Where) -> RuleFile:
    if isinstance(value, dict):
        return parse_rules(value, path)  # inline: errors name the test file's lines
    if not isinstance(value, str) or not value:
        raise where.error("rules must name the rule file (relative to the test file)")
    rules_path = path.parent / value
    if not rules_path.exists():
        raise where.error(f"rule file {rules_path} does not exist")
    return load_rules(rules_path)


def _store_bound(rules: Sequence[Rule]) -> dict[str, str]:
    """Rules that need a store (drift, budget, or a composite over one), and why."""
    needs: dict[str, str] = {}
    for rule in rules:  # composites only name rules before them
        condition = rule.condition
        if isinstance(condition, DriftCondition | BudgetCondition):
            kind = "drift" if isinstance(condition, DriftCondition) else "budget"
            needs[rule.name] = f"its {kind} condition needs a store"
        elif isinstance(condition, Composite):
            bound = [name for name in condition.rules if name in needs]
            if bound:
                needs[rule.name] = f"it depends on {bound[0]}, which rule tests cannot evaluate"
    return needs


def _labels(value: Any, where: Where, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(f"{key} must be a mapping of names to texts")
    out = {}
    for name, text in value.items():
        if not isinstance(name, str) or isinstance(text, bool | dict | list):
            raise where.error(f"{key}.{name}: must be a text")
        out[name] = "" if text is None else str(text)
    return out


def _expected(
    section: Any, rules: dict[str, Rule], needs: dict[str, str], where: Where
) -> Expected:
    where = where.at(section, where.what)
    if not isinstance(section, dict):
        raise where.error("an expected alert must be a mapping with alertname")
    _keys(section, EXPECTED_KEYS, where)
    name = section.get("alertname")
    if name not in rules:
        known = ", ".join(sorted(rules))
        raise where.error(f"alertname {name!r} is not an alert of the rule file (known: {known})")
    if name in needs:
        raise where.error(f"alert {name} cannot be tested: {needs[name]}")
    state = section.get("state", "firing")
    if state not in ("firing", "pending"):
        raise where.error(f"state {state!r}: use firing or pending (resolved is never listed)")
    given = _labels(section.get("labels"), where, "labels")
    if given.get("alertname", name) != name:
        raise where.error(f"labels.alertname {given['alertname']!r} is not {name!r}")
    rule = rules[name]
    labels = {**rule.labels, "severity": rule.severity, **given, "alertname": name}
    value = section.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise where.error(f"value must be a number, not {value!r}")
    return Expected(
        alertname=name,
        state=state,
        labels=labels,
        annotations=_labels(section.get("annotations"), where, "annotations"),
        value=None if value is None else float(value),
        source=where.source,
    )


def _check(
    section: Any,
    test: RuleTest,
    rules: dict[str, Rule],
    needs: dict[str, str],
    where: Where,
) -> Check:
    where = where.at(section, f"test {test.name!r}: check")
    if not isinstance(section, dict):
        raise where.error("a check must be a mapping with at and alerts")
    _keys(section, CHECK_KEYS, where)
    if "at" not in section:
        raise where.error("needs at (when to compare the alerts)")
    offset = offset_ns(section["at"], test.start, where, "at")
    step = ns_of(test.interval)
    if offset < 0 or offset % step:
        raise where.error(
            f"at {section['at']!r} is not an evaluation time: use start + a multiple of "
            f"the interval ({text_of(step)})"
        )
    if offset // step > MAX_EVALUATIONS:
        raise where.error(f"at {section['at']!r} is more than {MAX_EVALUATIONS} evaluations away")
    alerts = section.get("alerts")
    if not isinstance(alerts, list):
        raise where.error("alerts must be a list of expected alerts ([] for none)")
    at = section["at"]
    text = at if isinstance(at, str) else text_of(offset)
    return Check(
        at=text,
        time=test.start + timedelta(microseconds=offset // 1000),
        alerts=tuple(_expected(a, rules, needs, where) for a in alerts),
        source=where.source,
    )


def _test(
    section: Any,
    defaults: tuple[datetime, timedelta],
    rule_file: RuleFile,
    path: Path,
    fallback: int,
) -> RuleTest:
    where = Where(str(path), line_of(section, fallback), "test")
    if not isinstance(section, dict):
        raise where.error("a test must be a mapping with name, spans and checks")
    name = section.get("name")
    if not isinstance(name, str) or not name:
        raise where.error("needs a name")
    where.what = f"test {name!r}"
    _keys(section, TEST_KEYS, where)
    start = instant(section["start"], where, "start") if "start" in section else defaults[0]
    interval = defaults[1]
    if "interval" in section:
        interval = timedelta(
            microseconds=duration_ns(section["interval"], where, "interval") // 1000
        )
    if interval < timedelta(milliseconds=1):
        raise where.error("interval must be at least 1ms")
    spans = spans_from_spec(section.get("spans") or [], start, str(path), path.parent, where.line)
    test = RuleTest(name, start, interval, spans, (), where.source)
    checks = section.get("checks")
    if not isinstance(checks, list) or not checks:
        raise where.error("checks must be a non-empty list")
    rules = {rule.name: rule for rule in rule_file.rules}
    needs = _store_bound(rule_file.rules)
    parsed = tuple(_check(c, test, rules, needs, where) for c in checks)
    return RuleTest(name, start, interval, spans, parsed, where.source)


def load_test_file(path: Path) -> RuleTestFile:
    """Read and check a test file and its rule file (exit 2 naming file:line if invalid)."""
    if not path.is_file():
        raise UsageError(f"test file {path} does not exist")
    data = load_yaml(path)
    where = Where(str(path), line_of(data, 1), "test file")
    if not isinstance(data, dict):
        raise where.error("the top level must be a mapping with rules and tests")
    _keys(data, FILE_KEYS, where)
    if "rules" not in data:
        raise where.error("needs rules (the rule file to test)")
    rule_file = _rule_file(data["rules"], path, where)
    start = instant(data["start"], where, "start") if "start" in data else DEFAULT_START
    interval = DEFAULT_INTERVAL
    if "interval" in data:
        interval = timedelta(microseconds=duration_ns(data["interval"], where, "interval") // 1000)
    tests = data.get("tests")
    if not isinstance(tests, list) or not tests:
        raise where.error("tests must be a non-empty list")
    parsed = tuple(_test(t, (start, interval), rule_file, path, where.line) for t in tests)
    return RuleTestFile(path, rule_file, parsed)


# --- running and comparing ----------------------------------------------------------------


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


def evaluations(
    rule_file: RuleFile, test: RuleTest, until: datetime | None = None
) -> Iterator[tuple[datetime, dict[str, Alert]]]:
    """The alerts after each evaluation at ``start + k * interval``, up to ``until``.

    ``until`` defaults to the test's last check. The states carry from one evaluation to
    the next as the state store carries them between `pyflare alert check` runs.
    """
    rules = rule_file.rules
    needs = _store_bound(rules)
    evaluable = [r for r in rules if r.name not in needs and not isinstance(r.condition, Composite)]
    spans = test.spans.sort("start_time", maintain_order=True)
    times = spans.get_column("start_time").cast(pl.Int64).to_numpy()
    reach = ns_of(lookback(evaluable))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    last = until or max(check.time for check in test.checks)
    alerts: dict[str, Alert] = {}
    for k in range((last - test.start) // test.interval + 1):
        now = test.start + test.interval * k
        now_ns = ns_of(now - epoch)
        low, high = np.searchsorted(times, [now_ns - reach, now_ns], side="left")
        window = spans.slice(int(low), int(high - low))  # what `check` would load
        samples, errors = evaluate_all(Path("."), evaluable, window, now)
        if errors:
            name, reason = next(iter(errors.items()))
            raise UsageError(
                f"{test.source}: test {test.name!r}: alert {name} cannot be evaluated "
                f"at {now:%Y-%m-%dT%H:%M:%SZ}: {reason}"
            )
        step = run_rules(rules, samples, alerts, now)
        alerts = {
            fp: alert
            for fp, alert in step.alerts.items()
            if not (
                alert.state == "resolved"
                and alert.ended_at
                and now - alert.ended_at > KEEP_RESOLVED
            )
        }  # as the state store keeps them
        yield now, alerts


def run_test(rule_file: RuleFile, test: RuleTest) -> list[CheckResult]:
    """Evaluate the rules over the test's spans at every evaluation time; one result per check."""
    wanted = {check.time for check in test.checks}
    states = {now: alerts for now, alerts in evaluations(rule_file, test) if now in wanted}
    results = []
    for check in test.checks:
        pending = any(e.state == "pending" for e in check.alerts)
        shown = [
            a
            for a in states[check.time].values()
            if a.state == "firing" or (pending and a.state == "pending")
        ]
        hidden = [a for a in states[check.time].values() if a.state == "pending" and not pending]
        diff = compare(check.alerts, shown, hidden)
        results.append(CheckResult(test.name, check.at, not diff, diff, check.time, check.source))
    return results


def run_test_file(path: Path, only: Sequence[str] = ()) -> list[CheckResult]:
    """Run every test of the file (or those whose name contains one of ``only``).

    Raises :class:`UsageError` naming file:line when the test file or its rules are bad.
    """
    loaded = load_test_file(path)
    tests = [t for t in loaded.tests if not only or any(o in t.name for o in only)]
    if only and not tests:
        raise UsageError(f"{path}: no test name contains {' or '.join(map(repr, only))}")
    results: list[CheckResult] = []
    for test in tests:
        results.extend(run_test(loaded.rules, test))
    return results


# --- reporting ----------------------------------------------------------------------------


def report_lines(results: Sequence[CheckResult]) -> list[str]:
    """A readable report: one line per test, and each failing check with its diff."""
    lines: list[str] = []
    by_test: dict[str, list[CheckResult]] = {}
    for result in results:
        by_test.setdefault(result.test, []).append(result)
    for name, checks in by_test.items():
        failed = [c for c in checks if not c.passed]
        if not failed:
            lines.append(f"PASS  {name} ({len(checks)} checks)")
            continue
        lines.append(f"FAIL  {name} ({len(failed)} of {len(checks)} checks failed)")
        for check in failed:
            moment = f" ({check.time:%Y-%m-%dT%H:%M:%SZ})" if check.time else ""
            lines.append(f"  at {check.at}{moment}, {check.source}:")
            lines += [f"    {line}" for line in check.diff]
    if any(not r.passed for r in results):
        lines.append("(- expected but not there, + there but not expected, ~ there but different)")
    return lines


def summary(results: Sequence[CheckResult]) -> str:
    """``2 of 9 checks failed in 1 of 5 tests: name`` or ``9 checks of 5 tests passed``."""
    tests = list(dict.fromkeys(r.test for r in results))
    failed_tests = list(dict.fromkeys(r.test for r in results if not r.passed))
    failed = sum(not r.passed for r in results)
    if not failed:
        return f"all {len(results)} checks of {len(tests)} tests passed"
    return (
        f"{failed} of {len(results)} checks failed in {len(failed_tests)} of {len(tests)} "
        f"tests: {'; '.join(failed_tests)}"
    )
