"""What ``pyflare drift`` compares: the features and the test settings, decided from the
command's options over the ``drift`` section of ``pyflare.yaml``.

Apart from the command module, which imports it when a drift command runs (not for help).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyflare_cli.analysis.drift.concept import ConceptPair
from pyflare_cli.analysis.drift.features import BUILT_IN, parse_feature
from pyflare_cli.analysis.drift.model import DriftSettings
from pyflare_cli.config.drift import (
    CORRECTIONS,
    check_condition,
    check_feature,
    check_method,
    check_outcome,
    parse_drift,
    parse_threshold_text,
    split_option,
)
from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    from pyflare_cli.analysis.drift.features import Feature
    from pyflare_cli.analysis.drift.gate import FeatureCondition
    from pyflare_cli.config.file import Config

CONCEPT_INPUTS = {"error": ("prompt_chars",), "attr": ("input_tokens", "prompt_chars")}
"""Failed calls report no token counts, so errors are conditioned on the prompt length."""


@dataclass(frozen=True)
class Plan:
    """What to compare, decided from the options and ``pyflare.yaml``."""

    features: list[Feature]
    settings: DriftSettings
    conditions: tuple[FeatureCondition, ...] = ()
    """Per-feature gate conditions: pyflare.yaml's ``drift.conditions``, then the options."""


def plan_of(
    cfg: Config,
    feature: list[str] | None,
    only: bool,
    method: list[str] | None,
    threshold: list[str] | None,
    drift_share: float | None,
    min_samples: int | None,
    correction: str | None,
    outcome: str | None,
    seed: int,
    fail_on_feature: list[str] | None = None,
) -> Plan:
    """The features to compare and the settings of the tests; exit 2 on a bad option."""
    section = parse_drift(cfg.raw.get("drift"), str(cfg.path))
    extra = [check_feature(f, "--feature") for f in feature or []]
    given = [check_condition(c, "--fail-on-feature") for c in fail_on_feature or []]
    chosen = {c.feature: c for c in (*section.conditions, *given)}  # an option wins
    if only and not (extra or chosen):
        raise UsageError("--only needs at least one --feature or --fail-on-feature")
    names = extra if only else [f.name for f in BUILT_IN] + list(section.features) + extra
    names += list(chosen)  # a feature under a condition is always compared
    features = [parse_feature(n) for n in dict.fromkeys(names)]
    overall_method, methods = split_option(method or [], "--method", check_method)
    overall_threshold, thresholds = split_option(
        threshold or [], "--threshold", parse_threshold_text
    )
    if correction is not None and correction not in CORRECTIONS:
        raise UsageError(f"--correction {correction!r}: use none or bonferroni")
    chosen_outcome = check_outcome(outcome, "--outcome") if outcome else section.outcome
    compared = {f.name for f in features}
    outcome_name = chosen_outcome or "error"
    inputs = CONCEPT_INPUTS["error" if outcome_name == "error" else "attr"]
    pairs = tuple(ConceptPair(name, outcome_name) for name in inputs if name in compared)
    settings = DriftSettings(
        methods={**section.methods, **methods},
        thresholds={**section.thresholds, **thresholds},
        method=overall_method,
        threshold=overall_threshold,
        drift_share=drift_share or section.drift_share or 0.5,
        min_samples=min_samples or section.min_samples or 30,
        correction=correction or section.correction or "none",  # type: ignore[arg-type]
        seed=seed,
        concept=pairs,
    )
    return Plan(features, settings, tuple(chosen.values()))
