"""What `pyflare rca` is asked (:class:`RcaSettings`) and what it answers (:class:`RcaReport`).

Kept apart from :mod:`report`, which computes the answer, so that the causes, the renderers
and the TUI can name these types without importing the analysis that builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pyflare_cli.analysis.rca.slices import Totals

METRICS = ("errors", "latency", "cost")


@dataclass(frozen=True)
class RcaSettings:
    metric: str = "errors"
    min_size: int = 30
    max_order: int = 3
    alpha: float = 0.05
    correction: str = "fdr"
    top: int = 10
    seed: int = 0
    extra_dimensions: tuple[str, ...] = ()
    unit: str = "origin"
    vs_rest: bool = False

    def attribute_keys(self) -> frozenset[str]:
        """The span attribute keys these settings name (``--metric attr.<key>``,
        ``--dimension attr.<key>``); discovered dimensions are category keys besides."""
        names = (self.metric, *self.extra_dimensions)
        return frozenset(name[5:] for name in names if name.startswith("attr."))


@dataclass(frozen=True)
class Cause:
    title: str
    evidence: list[str]
    next_step: str
    traces: list[str] = field(default_factory=list)
    weight: float = 0.0


@dataclass(frozen=True)
class RcaReport:
    metric: str
    totals: Totals
    dimensions: list[str]
    slices: pl.DataFrame
    tested: int
    changes: pl.DataFrame
    clusters: pl.DataFrame
    latency: pl.DataFrame
    slow_traces: int
    slow_threshold_ms: float
    causes: list[Cause] = field(default_factory=list)

    @property
    def significant(self) -> pl.DataFrame:
        return self.slices.filter(pl.col("significant") & pl.col("shown"))
