"""The ``drift`` section of ``pyflare.yaml`` and the ``--method``/``--threshold`` options.

```yaml
drift:
  features: [attr.user.tier]       # compared besides the built-in features
  methods: {input_tokens: psi}     # per feature; else Evidently's default choice
  thresholds: {input_tokens: 0.2}
  drift_share: 0.5                 # share of drifted features for "drifted"
  min_samples: 30                  # fewer values in a window: "insufficient data"
  correction: bonferroni           # or none (the default, as Evidently)
  outcome: attr.feedback.score     # concept drift outcome; default: error
  conditions: {input_tokens: drifted}  # the gate fails when this feature drifts
```

Options override the file: ``--method psi`` applies to every feature it fits,
``--method input_tokens=psi`` to one. Everything is checked before any span is read, and
an error names the file or option and the bad value (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from pyflare_cli.analysis.drift.features import FEATURES, parse_feature
from pyflare_cli.analysis.drift.gate import FeatureCondition, parse_condition
from pyflare_cli.analysis.drift.model import Correction
from pyflare_cli.analysis.drift.stats import METHODS
from pyflare_cli.config.checks import is_number, known_keys, mapping
from pyflare_cli.errors import UsageError

_KEYS = (
    "features",
    "methods",
    "thresholds",
    "drift_share",
    "min_samples",
    "correction",
    "outcome",
    "conditions",
)
CORRECTIONS = ("none", "bonferroni")


@dataclass(frozen=True)
class DriftConfig:
    features: tuple[str, ...] = ()
    methods: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    drift_share: float | None = None
    min_samples: int | None = None
    correction: Correction | None = None
    outcome: str | None = None
    conditions: tuple[FeatureCondition, ...] = ()


def check_feature(name: str, where: str) -> str:
    try:
        parse_feature(name)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None
    return name


def check_condition(text: str, where: str) -> FeatureCondition:
    """A per-feature gate condition: ``input_tokens`` or ``input_tokens=insufficient``."""
    try:
        condition = parse_condition(text)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None
    check_feature(condition.feature, where)
    return condition


def check_method(method: str, where: str) -> str:
    if method not in METHODS:
        raise UsageError(f"{where}: method {method!r} is not one of {', '.join(METHODS)}")
    return method


def check_threshold(value: Any, where: str) -> float:
    if not is_number(value) or value < 0:
        raise UsageError(f"{where}: a threshold is a number >= 0, not {value!r}")
    return float(value)


def check_outcome(value: str, where: str) -> str:
    if value == "error" or (value.startswith("attr.") and len(value) > 5):
        return value
    raise UsageError(f"{where}: outcome {value!r}: use error or attr.<numeric key>")


def parse_drift(section: Any, path: str) -> DriftConfig:
    """Check and read the ``drift`` section (None when absent)."""
    if section is None:
        return DriftConfig()
    where = f"{path}: drift"
    if not isinstance(section, dict):
        raise UsageError(f"{where} must be a mapping")
    known_keys(section, _KEYS, path, "drift")
    features = section.get("features") or []
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise UsageError(f"{where}.features must be a list of feature names")
    methods = {
        check_feature(k, f"{where}.methods"): check_method(str(v), f"{where}.methods.{k}")
        for k, v in mapping(
            section.get("methods"), f"{where}.methods", "feature names to values"
        ).items()
    }
    thresholds = {
        check_feature(k, f"{where}.thresholds"): check_threshold(v, f"{where}.thresholds.{k}")
        for k, v in mapping(
            section.get("thresholds"), f"{where}.thresholds", "feature names to values"
        ).items()
    }
    share = section.get("drift_share")
    if share is not None and (not isinstance(share, int | float) or not 0 < share <= 1):
        raise UsageError(f"{where}.drift_share must be a number in (0, 1], not {share!r}")
    min_samples = section.get("min_samples")
    if min_samples is not None and (not isinstance(min_samples, int) or min_samples < 2):
        raise UsageError(f"{where}.min_samples must be an integer >= 2, not {min_samples!r}")
    correction = section.get("correction")
    if correction is not None and correction not in CORRECTIONS:
        raise UsageError(f"{where}.correction must be none or bonferroni, not {correction!r}")
    outcome = section.get("outcome")
    if outcome is not None:
        check_outcome(str(outcome), f"{where}.outcome")
    conditions = tuple(
        check_condition(f"{k}={v}", f"{where}.conditions.{k}")
        for k, v in mapping(
            section.get("conditions"), f"{where}.conditions", "feature names to drifted"
        ).items()
    )
    return DriftConfig(
        conditions=conditions,
        features=tuple(check_feature(f, f"{where}.features") for f in features),
        methods=methods,
        thresholds=thresholds,
        drift_share=float(share) if share is not None else None,
        min_samples=min_samples,
        correction=cast(Correction, correction) if correction else None,
        outcome=str(outcome) if outcome is not None else None,
    )


def split_option(values: list[str], option: str, check: Any) -> tuple[Any | None, dict[str, Any]]:
    """``--method psi`` (a global value) and ``--method feature=psi`` (per feature)."""
    overall: Any | None = None
    per_feature: dict[str, Any] = {}
    for value in values:
        name, sep, setting = value.rpartition("=")
        if sep:
            check_feature(name, option)
            per_feature[name] = check(setting, f"{option} {value}")
        else:
            overall = check(value, f"{option} {value}")
    return overall, per_feature


def parse_threshold_text(value: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"{where}: {value!r} is not a number") from None
    return check_threshold(number, where)


BUILT_IN_NAMES = tuple(FEATURES)
