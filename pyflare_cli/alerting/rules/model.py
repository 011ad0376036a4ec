"""The rule model: what a rule file says once checked, and the words it may use.

A rule has a name, one condition (a :class:`Threshold`, :class:`Change`, :class:`Anomaly`,
:class:`Pattern`, :class:`DriftCondition`, :class:`EvalCondition`, :class:`BudgetCondition`
or :class:`Composite`), a window, its pacing (``for``, ``keep_firing_for``), a severity,
labels and annotation templates. Reading and checking the YAML is :mod:`rules.parse`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

AGGREGATES = ("count", "rate", "error_rate", "sum", "avg", "min", "max", "quantile")
FIELDS = ("duration", "input_tokens", "output_tokens", "total_tokens", "cost")
DIMENSIONS = (
    "model",
    "provider",
    "service",
    "operation",
    "user",
    "environment",
    "tool",
    "agent",
    "status",
    "type",
)
OPS = (">", ">=", "<", "<=", "==", "!=")
CONDITIONS = (
    "threshold", "change", "anomaly", "pattern", "drift", "eval", "budget", "all", "any"
)  # fmt: skip
EVAL_AGGREGATES = ("mean", "pass_rate", "count")
NO_DATA = ("error", "alerting")
RULE_KEYS = {"alert", "window", "for", "keep_firing_for", "severity", "labels", "annotations"}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MEASURE_KEYS = {"aggregate", "field", "quantile", "where", "by"}


@dataclass(frozen=True)
class Measure:
    """An aggregate of the spans in a window, optionally per label set (``by``)."""

    aggregate: str
    field: str | None = None
    quantile: float | None = None
    where: str | None = None
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Threshold:
    measure: Measure
    op: str
    value: float


@dataclass(frozen=True)
class Change:
    """The measure against the same measure over the previous window."""

    measure: Measure
    compare: str  # ratio | delta
    op: str
    value: float


@dataclass(frozen=True)
class Anomaly:
    """The measure outside mean +- k SDs (or median +- k MADs) of the last ``windows``."""

    measure: Measure
    windows: int = 12
    method: str = "stddev"  # stddev | mad
    k: float = 3.0
    direction: str = "above"  # above | below | both


@dataclass(frozen=True)
class Pattern:
    """Error messages matching a regex, or mined into a template, at least ``min_count``."""

    regex: str | None
    template: str | None
    min_count: int
    where: str | None = None
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftCondition:
    model: str
    fail_on: str = "drifted"
    reference_days: int = 7


@dataclass(frozen=True)
class EvalCondition:
    """An evaluator's results in the window (``pyflare eval``'s one table of every convention).

    ``aggregate`` is the mean score, the pass rate (a result passes by ``pass_min`` /
    ``pass_max`` on its score, else by its label, as in ``eval summary``) or the number of
    results. A window where the evaluator has fewer than ``min_results`` results is no
    data: the rule is not evaluated (``no_data: error``, the default) or fires one alert
    labelled ``no_data="true"`` (``no_data: alerting``); it is never "ok".
    """

    evaluator: str
    op: str
    value: float
    aggregate: str = "mean"
    where: str | None = None
    by: tuple[str, ...] = ()
    pass_min: float | None = None
    pass_max: float | None = None
    min_results: int = 1
    no_data: str = "error"


@dataclass(frozen=True)
class BudgetCondition:
    name: str
    statuses: tuple[str, ...] = ("exceeded",)


@dataclass(frozen=True)
class Composite:
    mode: str  # all | any
    rules: tuple[str, ...]


Condition = (
    Threshold | Change | Anomaly | Pattern | DriftCondition | EvalCondition | BudgetCondition
    | Composite
)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    name: str
    group: str
    condition: Condition
    window: timedelta
    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    severity: str = "warning"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class RuleFile:
    """The rules, and the file's other sections (notifications, maintenance, inhibition)."""

    path: Path
    rules: tuple[Rule, ...]
    notifications: Any = None
    maintenance: Any = None
    inhibit_rules: Any = None
