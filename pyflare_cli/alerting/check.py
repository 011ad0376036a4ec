"""`pyflare alert check` as a function: evaluate, step the states, persist, notify.

The one place alerting touches the store: it loads the spans the rules need (the longest
lookback of any rule), runs every condition, steps the alert states under the alerts lock,
appends the history, and hands firing and resolved alerts to the notifier, muted by
silences, maintenance windows, inhibition and acknowledgements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pyflare_cli.alerting.engine.eval_condition import evaluate_eval, results_in_spans
from pyflare_cli.alerting.engine.evaluate import Sample, evaluate_pattern, evaluate_windowed
from pyflare_cli.alerting.engine.state_machine import run_rules
from pyflare_cli.alerting.model import Alert
from pyflare_cli.alerting.rules.model import (
    Anomaly,
    BudgetCondition,
    Change,
    DriftCondition,
    EvalCondition,
    Pattern,
    Rule,
    RuleFile,
)
from pyflare_cli.alerting.state.alerts import AlertStore
from pyflare_cli.analysis.cost.budgets import Budget
from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.errors import PyflareError, UsageError

if TYPE_CHECKING:
    from pyflare_cli.engine.base import SqlEngine

NEEDED = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "scope_name", "start_time",
    "end_time", "duration_ns", "status_code", "status_message",
    "service_name", "service_version", "environment", "ai_kind", "provider", "model",
    "request_model", "input_tokens", "output_tokens", "total_tokens", "cache_read_tokens",
    "cache_write_tokens", "reasoning_tokens", "reported_cost_usd", "tool_name", "agent_name",
    "user_id", "session_id", "error_type", "error_message", "attributes", "resource_attributes",
)  # fmt: skip
"""The span columns conditions and ``where`` filters read; vectors, events and links are not
read, texts only for a ``text:`` search."""


@dataclass(frozen=True)
class CheckOutcome:
    alerts: list[Alert]
    events: list[dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)
    deliveries: list[Any] = field(default_factory=list)
    spans: int = 0


def lookback(rules: Sequence[Rule]) -> timedelta:
    """How far back the windowed and pattern rules read."""
    longest = timedelta(minutes=1)
    for rule in rules:
        condition = rule.condition
        windows = 1
        if isinstance(condition, Change):
            windows = 2
        elif isinstance(condition, Anomaly):
            windows = condition.windows + 1
        elif isinstance(condition, DriftCondition | BudgetCondition):
            continue
        longest = max(longest, rule.window * windows)
    return longest


def _texts(rules: Sequence[Rule]) -> str:
    """Every field name, label and query the rules mention, as one text to search."""
    parts: list[str] = []
    for rule in rules:
        condition = rule.condition
        measure = getattr(condition, "measure", None)
        if measure is not None:
            parts += [measure.field or "", measure.where or "", *measure.by]
        if isinstance(condition, Pattern | EvalCondition):
            parts += [condition.where or "", *condition.by]
    return " ".join(parts)


def load_window(
    root: Path, rules: Sequence[Rule], now: datetime, price_rules: tuple[PriceRule, ...]
) -> pl.DataFrame:
    """The spans of the longest lookback, with only the columns the rules can read.

    Attribute maps and prices are the costly parts of a read: they are skipped when no
    rule mentions an attribute or a cost. ``eval:`` rules read their results apart
    (:func:`_window_results`), so events and links are never loaded.
    """
    from pyflare_cli.query.prices import priced
    from pyflare_cli.query.spans import SpanQuery
    from pyflare_cli.store.scan import scan_spans

    since, until = SpanQuery((now - lookback(rules)).isoformat(), now.isoformat()).bounds(now)
    mentioned = _texts(rules)
    attributes = "attr." in mentioned or "has:" in mentioned
    columns = [
        c
        for c in NEEDED
        if not (c == "attributes" and not attributes)
        and not (c == "resource_attributes" and "resource." not in mentioned)
    ]
    if "text:" in mentioned:
        columns += ["input_text", "output_text"]
    spans = scan_spans(root, since, until).select(columns)
    if "cost" in mentioned:
        return priced(spans, root, price_rules).collect()
    return spans.with_columns(pl.lit(None, pl.Float64).alias("cost_usd")).collect()


def _drift(
    root: Path,
    rule: Rule,
    condition: DriftCondition,
    now: datetime,
    price_rules: tuple[PriceRule, ...],
) -> list[Sample]:
    from pyflare_cli.analysis.drift.features import BUILT_IN
    from pyflare_cli.analysis.drift.model import DriftSettings
    from pyflare_cli.analysis.drift.report import compare
    from pyflare_cli.query.drift_samples import features_of, model_sample
    from pyflare_cli.query.windows import reference_window, trailing_window

    features = list(BUILT_IN)
    current = trailing_window(rule.window, now)
    reference = reference_window(None, condition.reference_days, current, now)
    frames = [
        features_of(
            model_sample(root, w, None, now, price_rules, condition.model), features, ()
        ).collect()
        for w in (reference, current)
    ]
    if frames[0].height == 0 or frames[1].height == 0:
        raise PyflareError(f"drift: no calls of {condition.model} in a window")
    report = compare(condition.model, frames[0], frames[1], features, DriftSettings())
    levels = ("drifted",) if condition.fail_on == "drifted" else ("drifted", "warning")
    return [Sample({"model": condition.model}, report.share, report.verdict in levels)]


def _budget(
    root: Path,
    condition: BudgetCondition,
    budgets: Sequence[Budget],
    now: datetime,
    price_rules: tuple[PriceRule, ...],
) -> list[Sample]:
    from pyflare_cli.query.budgets import budget_status

    chosen = [b for b in budgets if b.name == condition.name]
    if not chosen:
        raise PyflareError(f"budget {condition.name!r} is not in pyflare.yaml")
    status = budget_status(root, chosen, now, price_rules).row(0, named=True)
    value = status.get("spent_usd")
    return [
        Sample(
            {"budget": condition.name},
            float(value) if value is not None else None,
            status["status"] in condition.statuses,
        )
    ]


def _window_results(
    root: Path | None, spans: pl.LazyFrame, rule: Rule, now: datetime
) -> pl.LazyFrame:
    """The results graded in the rule's window: the store's, read as ``eval summary``
    reads them (cached per part); without a store (rule tests), those ``spans`` carry."""
    if root is None:
        return results_in_spans(spans, rule, now)
    from pyflare_cli.query.eval_scores import window_scores

    return window_scores(root, now - rule.window, now)


def evaluate_all(
    root: Path | None,
    rules: Sequence[Rule],
    spans: pl.DataFrame,
    now: datetime,
    budgets: Sequence[Budget] = (),
    price_rules: tuple[PriceRule, ...] = (),
) -> tuple[dict[str, list[Sample]], dict[str, str]]:
    """Samples per rule name, and the rules that could not be evaluated (with why).

    ``root`` None (rule tests) reads no store: no stored evaluation results, and drift
    and budget conditions are not evaluated.
    """
    lazy = spans.lazy()
    samples = evaluate_windowed(lazy, rules, now)
    errors: dict[str, str] = {}
    for rule in rules:
        condition = rule.condition
        try:
            if isinstance(condition, Pattern):
                samples[rule.name] = evaluate_pattern(lazy, rule, condition, now)
            elif isinstance(condition, EvalCondition):
                results = _window_results(root, lazy, rule, now)
                samples[rule.name] = evaluate_eval(lazy, results, rule, condition, now)
            elif isinstance(condition, DriftCondition) and root is not None:
                samples[rule.name] = _drift(root, rule, condition, now, price_rules)
            elif isinstance(condition, BudgetCondition) and root is not None:
                samples[rule.name] = _budget(root, condition, budgets, now, price_rules)
        except PyflareError as exc:
            errors[rule.name] = exc.message
    return samples, errors


def run_check(
    root: Path,
    rule_file: RuleFile,
    now: datetime,
    budgets: Sequence[Budget] = (),
    price_rules: tuple[PriceRule, ...] = (),
    notify: bool = True,
    engine: SqlEngine | None = None,
) -> CheckOutcome:
    """Evaluate every rule once at ``now``, persist the states and send notifications.

    ``now`` before the last evaluation is refused (exit 2): the states only move forward.
    With a SQL ``engine`` the spans stay there (:mod:`alerting.on_engine`); states and
    notifications still live in the store folder ``root``.
    """
    store = AlertStore(root)
    _not_before_last(store, now)
    if engine is not None:
        from pyflare_cli.alerting.on_engine import evaluate_on_engine

        priced = "cost" in _texts(rule_file.rules)
        since = now - lookback(rule_file.rules)
        samples, errors, read = evaluate_on_engine(
            engine, rule_file.rules, since, now, priced, price_rules
        )
    else:
        spans = load_window(root, rule_file.rules, now, price_rules)
        samples, errors = evaluate_all(root, rule_file.rules, spans, now, budgets, price_rules)
        read = spans.height
    with store.locked():
        _not_before_last(store, now)  # another evaluator may have run meanwhile
        step = run_rules(rule_file.rules, samples, store.load(), now)
        store.save(step.alerts, now, evaluated=True)
        store.record(step.events)
        deliveries: list[Any] = []
        if notify:
            deliveries = _notify(root, rule_file, list(step.alerts.values()), now, store)
    return CheckOutcome(
        alerts=sorted(step.alerts.values(), key=lambda a: (a.name, a.fingerprint)),
        events=step.events,
        errors=errors,
        deliveries=deliveries,
        spans=read,
    )


def _not_before_last(store: AlertStore, now: datetime) -> None:
    last = store.last_evaluation()
    if last is not None and now < last:
        raise UsageError(
            f"--at {now.isoformat()} is earlier than the last evaluation "
            f"({last.isoformat()}, {store.state_path}); alert states only move forward"
        )


def _notify(
    root: Path, rule_file: RuleFile, alerts: list[Alert], now: datetime, store: AlertStore
) -> list[Any]:
    if not rule_file.notifications:
        return []
    from pyflare_cli.alerting.muting.inhibition import parse_inhibit_rules
    from pyflare_cli.alerting.muting.maintenance import parse_maintenance
    from pyflare_cli.alerting.muting.mute import muted
    from pyflare_cli.alerting.notify.notifier import Notifier
    from pyflare_cli.alerting.notify.targets import parse_targets
    from pyflare_cli.alerting.state.silences import SilenceStore

    where = str(rule_file.path)
    targets = parse_targets(rule_file.notifications or [], f"{where}: notifications")
    if not targets:
        return []
    windows = parse_maintenance(rule_file.maintenance or [], f"{where}: maintenance")
    inhibit = parse_inhibit_rules(rule_file.inhibit_rules, f"{where}: inhibit_rules")
    silences = SilenceStore(store.folder).list(now)
    firing = [a.labels for a in alerts if a.state == "firing"]

    def is_muted(alert: Alert) -> bool:
        if alert.state == "firing" and alert.acknowledged_at is not None:
            return True  # acknowledged: no more pages until it resolves
        return muted(alert.labels, now, silences, windows, inhibit, firing) is not None

    deliveries = Notifier(store.folder, targets).notify(alerts, now, muted=is_muted)
    store.record(
        [
            {"time": now, "to": "notification", "target": d.target, "group": d.group_key,
             "status": d.status, "alerts": d.alerts, "detail": d.detail}
            for d in deliveries
            if d.status != "skipped"
        ]
    )  # fmt: skip
    return deliveries
