"""Rule tests: `pyflare alert test TESTFILE`, unit tests for alert rules as `promtool test rules`.

A test file names a rule file, and holds tests: input spans described compactly, and the
alerts expected at given times. Each test evaluates every rule at ``start``, ``start +
interval``, ... up to its last check, carrying the alert states from one evaluation to
the next exactly as consecutive `pyflare alert check` runs do (:mod:`rule_tests.run`), and
at each check compares the alerts that are firing with the expected ones
(:mod:`rule_tests.compare`). This module reads and checks the test file.

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
refused. ``eval`` conditions read the results the test's spans carry (Phoenix's
``attributes: {eval.faithfulness.score: "0.2"}`` or the OTel GenAI attributes); without
results an ``eval`` rule keeps its states, unless it says ``no_data: alerting``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pyflare_cli.alerting.rule_tests.spans import spans_from_spec
from pyflare_cli.alerting.rule_tests.times import (
    Where,
    duration_ns,
    instant,
    ns_of,
    offset_ns,
    text_of,
)
from pyflare_cli.alerting.rules.model import (
    BudgetCondition,
    Composite,
    DriftCondition,
    Rule,
    RuleFile,
)
from pyflare_cli.alerting.rules.parse import load_rules, parse_rules
from pyflare_cli.alerting.rules.yaml_lines import line_of, load_yaml
from pyflare_cli.errors import UsageError

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_INTERVAL = timedelta(minutes=1)
MAX_EVALUATIONS = 100_000
FILE_KEYS = {"rules", "tests", "interval", "start"}
TEST_KEYS = {"name", "start", "interval", "spans", "checks"}
CHECK_KEYS = {"at", "alerts"}
EXPECTED_KEYS = {"alertname", "state", "labels", "annotations", "value"}


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


def store_bound(rules: Sequence[Rule]) -> dict[str, str]:
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
    needs = store_bound(rule_file.rules)
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
