"""Running rule tests: every rule evaluated at each test time, states carried between them.

Each evaluation loads the spans `pyflare alert check` would load at that moment, computes
the samples with :func:`check.evaluate_all` and steps the states with the same state
machine (:func:`engine.state_machine.run_rules`); resolved alerts are dropped after the
state store's retention, so the alerts at a check are the ones `check` would have.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from pyflare_cli.alerting.check import evaluate_all, lookback
from pyflare_cli.alerting.engine.state_machine import run_rules
from pyflare_cli.alerting.model import Alert
from pyflare_cli.alerting.rule_tests.compare import compare
from pyflare_cli.alerting.rule_tests.spec import RuleTest, load_test_file, store_bound
from pyflare_cli.alerting.rule_tests.times import ns_of
from pyflare_cli.alerting.rules.model import Composite, EvalCondition, RuleFile
from pyflare_cli.alerting.state.alerts import KEEP_RESOLVED
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


def evaluations(
    rule_file: RuleFile, test: RuleTest, until: datetime | None = None
) -> Iterator[tuple[datetime, dict[str, Alert]]]:
    """The alerts after each evaluation at ``start + k * interval``, up to ``until``.

    ``until`` defaults to the test's last check. The states carry from one evaluation to
    the next as the state store carries them between `pyflare alert check` runs.
    """
    rules = rule_file.rules
    needs = store_bound(rules)
    evaluable = [r for r in rules if r.name not in needs and not isinstance(r.condition, Composite)]
    no_data_ok = {r.name for r in evaluable if isinstance(r.condition, EvalCondition)}
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
        samples, errors = evaluate_all(None, evaluable, window, now)
        # An eval rule without results is not evaluated (its states kept), as in `check`.
        errors = {name: why for name, why in errors.items() if name not in no_data_ok}
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
