"""Reading alert rules: the YAML rule file, checked at load time with the file, line and reason.

```yaml
groups:
  - name: llm
    rules:
      - alert: HighErrorRate
        threshold: {aggregate: error_rate, where: "type:llm", by: [model], op: ">", value: 0.05}
        window: 10m
        for: 5m
        keep_firing_for: 10m
        severity: critical
        labels: {team: ml}
        annotations:
          summary: "{{ $labels.model }} fails {{ $value | percent }} of calls"
```

A rule has exactly one condition: ``threshold``, ``change``, ``anomaly``, ``pattern``,
``drift``, ``eval`` (:mod:`rules.parse_eval`), ``budget``, ``all`` or ``any`` (see
docs/alert.md). What a checked rule holds is :mod:`rules.model`; templates are
:mod:`rules.templating`; evaluation is :mod:`alerting.engine`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pyflare_cli.alerting.model import SEVERITIES
from pyflare_cli.alerting.rules.checks import (
    Where,
    by,
    duration,
    keys,
    number,
    op,
    query,
    regex_error,
)
from pyflare_cli.alerting.rules.model import (
    AGGREGATES,
    CONDITIONS,
    FIELDS,
    MEASURE_KEYS,
    NAME,
    RULE_KEYS,
    Anomaly,
    BudgetCondition,
    Change,
    Composite,
    Condition,
    DriftCondition,
    EvalCondition,
    Measure,
    Pattern,
    Rule,
    RuleFile,
    Threshold,
)
from pyflare_cli.alerting.rules.parse_eval import eval_condition
from pyflare_cli.alerting.rules.templating import check_template
from pyflare_cli.alerting.rules.yaml_lines import line_of, load_yaml
from pyflare_cli.errors import UsageError


def _measure(section: dict[str, Any], where: Where, what: str) -> Measure:
    aggregate = section.get("aggregate")
    if aggregate not in AGGREGATES:
        raise where.error(f"{what}.aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}")
    fld = section.get("field")
    needs_field = aggregate in ("sum", "avg", "min", "max", "quantile")
    if needs_field:
        if not (
            fld in FIELDS or (isinstance(fld, str) and fld.startswith("attr.") and len(fld) > 5)
        ):
            raise where.error(
                f"{what}.field {fld!r}: {aggregate} needs one of {', '.join(FIELDS)} or attr.<key>"
            )
    elif fld is not None:
        raise where.error(f"{what}.field: {aggregate} takes no field")
    quantile = section.get("quantile")
    if aggregate == "quantile":
        q = number(quantile, where, f"{what}.quantile")
        if not 0 < q < 1:
            raise where.error(f"{what}.quantile must be between 0 and 1, not {q}")
        quantile = q
    elif quantile is not None:
        raise where.error(f"{what}.quantile only goes with aggregate: quantile")
    return Measure(
        aggregate=str(aggregate),
        field=fld,
        quantile=quantile,
        where=query(section.get("where"), where, f"{what}.where"),
        by=by(section.get("by"), where),
    )


def _condition(kind: str, section: Any, where: Where) -> Condition:
    if kind in ("all", "any"):
        names = section if isinstance(section, list) else None
        if not names or not all(isinstance(n, str) for n in names):
            raise where.error(f"{kind} must list the names of other alerts")
        return Composite(kind, tuple(names))
    if not isinstance(section, dict):
        raise where.error(f"{kind} must be a mapping")
    where = Where(where.path, line_of(section, where.line), where.what)
    if kind == "threshold":
        keys(section, MEASURE_KEYS | {"op", "value"}, where, kind)
        return Threshold(
            _measure(section, where, kind),
            op(section.get("op"), where, kind),
            number(section.get("value"), where, f"{kind}.value"),
        )
    if kind == "change":
        keys(section, MEASURE_KEYS | {"compare", "op", "value"}, where, kind)
        compare = section.get("compare", "ratio")
        if compare not in ("ratio", "delta"):
            raise where.error(f"change.compare {compare!r}: use ratio or delta")
        return Change(
            _measure(section, where, kind),
            compare,
            op(section.get("op", ">="), where, kind),
            number(section.get("value"), where, f"{kind}.value"),
        )
    if kind == "anomaly":
        keys(section, MEASURE_KEYS | {"windows", "method", "k", "direction"}, where, kind)
        windows = section.get("windows", 12)
        if not isinstance(windows, int) or windows < 3:
            raise where.error(f"anomaly.windows must be an integer >= 3, not {windows!r}")
        method = section.get("method", "stddev")
        if method not in ("stddev", "mad"):
            raise where.error(f"anomaly.method {method!r}: use stddev or mad")
        direction = section.get("direction", "above")
        if direction not in ("above", "below", "both"):
            raise where.error(f"anomaly.direction {direction!r}: use above, below or both")
        k = number(section.get("k", 3.0), where, "anomaly.k")
        return Anomaly(_measure(section, where, kind), windows, method, k, direction)
    if kind == "pattern":
        keys(section, {"regex", "template", "min_count", "where", "by"}, where, kind)
        regex, template = section.get("regex"), section.get("template")
        if (regex is None) == (template is None):
            raise where.error("pattern needs exactly one of regex or template")
        if regex is not None:
            try:  # evaluated by Polars, whose (Rust) regexes have no look-around
                pl.Series([""]).str.contains(str(regex))
            except pl.exceptions.PolarsError as exc:
                raise where.error(f"pattern.regex {regex!r}: {regex_error(exc)}") from None
        count = section.get("min_count", 1)
        if not isinstance(count, int) or count < 1:
            raise where.error(f"pattern.min_count must be an integer >= 1, not {count!r}")
        return Pattern(
            None if regex is None else str(regex),
            None if template is None else str(template),
            count,
            query(section.get("where"), where, "pattern.where"),
            by(section.get("by"), where),
        )
    if kind == "drift":
        keys(section, {"model", "fail_on", "reference_days"}, where, kind)
        model = section.get("model")
        if not isinstance(model, str) or not model:
            raise where.error("drift.model must name a model")
        fail_on = section.get("fail_on", "drifted")
        if fail_on not in ("drifted", "warning"):
            raise where.error(f"drift.fail_on {fail_on!r}: use drifted or warning")
        days = section.get("reference_days", 7)
        if not isinstance(days, int) or days < 1:
            raise where.error(f"drift.reference_days must be an integer >= 1, not {days!r}")
        return DriftCondition(model, fail_on, days)
    if kind == "eval":
        return eval_condition(section, where)
    keys(section, {"name", "status"}, where, kind)
    name = section.get("name")
    if not isinstance(name, str) or not name:
        raise where.error("budget.name must name a budget of pyflare.yaml")
    statuses = section.get("status", ["exceeded"])
    statuses = [statuses] if isinstance(statuses, str) else statuses
    allowed = ("warn", "projected", "exceeded")
    if not isinstance(statuses, list) or not statuses:
        raise where.error(f"budget.status must be some of {', '.join(allowed)}")
    statuses = ["projected" if s == "projected-to-exceed" else s for s in statuses]
    if any(s not in allowed for s in statuses):
        raise where.error(f"budget.status must be some of {', '.join(allowed)}")
    return BudgetCondition(name, tuple(statuses))


def _strings(value: Any, where: Where, key: str, templates: bool) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(f"{key} must be a mapping of names to texts")
    out: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise where.error(f"{key}: {name!r} is not a label name")
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise where.error(f"{key}.{name} must be a text")
        if templates:
            problem = check_template(str(text))
            if problem:
                raise where.error(f"{key}.{name}: {problem}")
        out[name] = str(text)
    return out


def _rule(section: Any, group: str, path: Path, fallback: int) -> Rule:
    line = line_of(section, fallback)
    if not isinstance(section, dict):
        raise UsageError(f"{path}:{line}: group {group}: a rule must be a mapping")
    name = section.get("alert")
    where = Where(path, line, f"alert {name!r}" if name else "a rule")
    if not isinstance(name, str) or not NAME.match(name):
        raise where.error("alert must be a name of letters, digits and _")
    kinds = [k for k in CONDITIONS if k in section]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        raise where.error(f"needs exactly one condition of {', '.join(CONDITIONS)} (found {found})")
    keys(section, RULE_KEYS | set(CONDITIONS), where, "rule")
    severity = section.get("severity", "warning")
    if severity not in SEVERITIES:
        raise where.error(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    condition = _condition(kinds[0], section[kinds[0]], where)
    default_window = "5m"
    if isinstance(condition, DriftCondition):
        default_window = "24h"
    elif isinstance(condition, EvalCondition):
        default_window = "1h"  # scores are sparser than spans
    window = duration(section.get("window", default_window), where, "window")
    if window <= timedelta(0):
        raise where.error("window must be longer than 0")
    return Rule(
        name=name,
        group=group,
        condition=condition,
        window=window,
        for_=duration(section.get("for", "0s"), where, "for"),
        keep_firing_for=duration(section.get("keep_firing_for", "0s"), where, "keep_firing_for"),
        severity=str(severity),
        labels=_strings(section.get("labels"), where, "labels", templates=False),
        annotations=_strings(section.get("annotations"), where, "annotations", templates=True),
        source=f"{path}:{line}",
    )


def parse_rules(data: Any, path: Path) -> RuleFile:
    """Check and read a rule file's content (see the module docstring)."""
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the top level must be a mapping with groups:")
    unknown = sorted(set(data) - {"groups", "notifications", "maintenance", "inhibit_rules"})
    if unknown:
        raise UsageError(f"{path}:{line_of(data, 1)}: unknown section {unknown[0]!r}")
    groups = data.get("groups")
    if not isinstance(groups, list) or not groups:
        raise UsageError(f"{path}: groups must be a non-empty list")
    rules: list[Rule] = []
    for group in groups:
        line = line_of(group, 1)
        if not isinstance(group, dict) or not isinstance(group.get("name"), str):
            raise UsageError(f"{path}:{line}: a group needs a name and rules")
        items = group.get("rules")
        if not isinstance(items, list) or not items:
            raise UsageError(
                f"{path}:{line}: group {group['name']}: rules must be a non-empty list"
            )
        rules.extend(_rule(item, group["name"], path, line) for item in items)
    _check_names(rules, path)
    return RuleFile(
        path=path,
        rules=tuple(rules),
        notifications=data.get("notifications"),
        maintenance=data.get("maintenance"),
        inhibit_rules=data.get("inhibit_rules"),
    )


def _check_names(rules: list[Rule], path: Path) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.name in seen:
            raise UsageError(f"{rule.source}: alert {rule.name!r} is defined twice")
        seen[rule.name] = rule
    for rule in rules:
        if isinstance(rule.condition, Composite):
            for name in rule.condition.rules:
                if name not in seen:
                    raise UsageError(
                        f"{rule.source}: alert {rule.name!r}: {name!r} is not an alert"
                    )
                if name == rule.name:
                    raise UsageError(f"{rule.source}: alert {rule.name!r} refers to itself")
                if _order(rules, name) > _order(rules, rule.name):
                    raise UsageError(
                        f"{rule.source}: alert {rule.name!r}: {name!r} must come before it"
                    )


def _order(rules: list[Rule], name: str) -> int:
    return next(i for i, r in enumerate(rules) if r.name == name)


def load_rules(path: Path) -> RuleFile:
    if not path.exists():
        raise UsageError(f"rule file {path} does not exist")
    data = load_yaml(path)
    if isinstance(data, dict):
        return parse_rules(data, path)
    raise UsageError(f"{path}: the top level must be a mapping with groups:")
