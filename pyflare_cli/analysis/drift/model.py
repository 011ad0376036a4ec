"""What ``pyflare drift`` is asked (:class:`DriftSettings`) and answers (:class:`DriftReport`).

Kept apart from :mod:`report`, which runs the tests, so that configuration, history,
renderers and alert checks can name these types without the statistics behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from pyflare_cli.analysis.drift.concept import ConceptPair

Verdict = Literal["drifted", "warning", "healthy", "insufficient data"]
Correction = Literal["none", "bonferroni"]


@dataclass(frozen=True)
class DriftSettings:
    """How features are tested; every field has the Evidently-like default."""

    methods: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    method: str | None = None
    threshold: float | None = None
    drift_share: float = 0.5
    min_samples: int = 30
    correction: Correction = "none"
    embedding_sample: int = 2000
    permutations: int = 100
    text_sample: int = 5000
    seed: int = 0
    concept: tuple[ConceptPair, ...] = ()

    def method_for(
        self, feature: str, kind: str = "numerical", n_categories: int = 0
    ) -> str | None:
        """The chosen method when it applies to ``kind``; None means "pick the default"."""
        method = self.methods.get(feature, self.method)
        if method is None or kind == "numerical":
            return method
        if method in ("ks", "wasserstein") or (method == "z" and n_categories != 2):
            return None
        return method

    def threshold_for(self, feature: str) -> float | None:
        return self.thresholds.get(feature, self.threshold)


@dataclass(frozen=True)
class DriftReport:
    """Per-feature rows (see :data:`ROW_SCHEMA`) and the model-level verdict."""

    model: str
    features: pl.DataFrame
    verdict: Verdict
    drifted: int
    tested: int
    drift_share: float
    correction: Correction
    n_reference: int
    n_current: int

    @property
    def share(self) -> float:
        return self.drifted / self.tested if self.tested else 0.0


ROW_SCHEMA: dict[str, Any] = {
    "feature": pl.String,
    "drift_type": pl.String,
    "kind": pl.String,
    "method": pl.String,
    "score": pl.Float64,
    "threshold": pl.Float64,
    "p_value": pl.Float64,
    "statistic": pl.Float64,
    "status": pl.String,
    "n_reference": pl.Int64,
    "n_current": pl.Int64,
    "reference": pl.String,
    "current": pl.String,
    "reference_hist": pl.List(pl.Float64),
    "current_hist": pl.List(pl.Float64),
}


def verdict(drifted: int, tested: int, drift_share: float) -> Verdict:
    if tested == 0:
        return "insufficient data"
    if drifted / tested >= drift_share:
        return "drifted"
    return "warning" if drifted else "healthy"
