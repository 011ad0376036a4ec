"""Per-feature gate conditions of ``pyflare drift``: "this feature must never drift".

The model-level rule (the share of drifted features, as Evidently's dataset drift) stays
the default; a condition adds a test on one feature, as Evidently's test suites do, so a
team can fail CI when ``input_tokens`` drifts even if the other features hold. A condition
is ``drifted`` (fail when the feature drifted) or ``insufficient`` (fail also when it
could not be tested: too few values, the feature missing), the fail-closed choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyflare_cli.analysis.drift.model import DriftReport

LEVELS = ("drifted", "insufficient")
MODEL_LEVELS = {
    "drifted": ("drifted",),
    "warning": ("warning", "drifted"),
    "insufficient": ("insufficient data", "warning", "drifted"),
}
"""The model verdicts that fail ``--fail-on`` at each level."""


@dataclass(frozen=True)
class FeatureCondition:
    feature: str
    fail_on: str = "drifted"

    def statuses(self) -> tuple[str, ...]:
        """The feature statuses that fail this condition."""
        if self.fail_on == "insufficient":
            return ("drifted", "insufficient data", "missing")
        return ("drifted",)


def parse_condition(text: str) -> FeatureCondition:
    """``input_tokens`` or ``input_tokens=insufficient`` (ValueError with the reason)."""
    feature, sep, level = text.partition("=")
    level = level.strip() if sep else "drifted"
    if not feature.strip():
        raise ValueError(f"{text!r}: name a feature, e.g. input_tokens or input_tokens=drifted")
    if level not in LEVELS:
        raise ValueError(f"{text!r}: the level {level!r} is not one of {', '.join(LEVELS)}")
    return FeatureCondition(feature.strip(), level)


def model_failed(report: DriftReport, fail_on: str) -> bool:
    return report.verdict in MODEL_LEVELS[fail_on]


def feature_row(report: DriftReport, feature: str) -> dict[str, Any] | None:
    """The report's row of ``feature`` (None when it was not compared)."""
    rows = report.features.filter(report.features.get_column("feature") == feature)
    return rows.row(0, named=True) if rows.height else None


def feature_status(report: DriftReport, feature: str) -> str:
    """``drifted``, ``ok``, ``insufficient data`` or ``missing`` (not in the report)."""
    row = feature_row(report, feature)
    return "missing" if row is None else str(row["status"])


def condition_failed(report: DriftReport, condition: FeatureCondition) -> bool:
    return feature_status(report, condition.feature) in condition.statuses()
