"""What every section builder is given: the store, the window, the filter, the clock, prices.

Built once per run by the command, so that all sections read the same window and the
same price rules, and the sections' trace ids can be gathered for the waterfalls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyflare_cli.analysis.cost.budgets import Budget
    from pyflare_cli.analysis.cost.price_rules import PriceRule
    from pyflare_cli.config.drift import DriftConfig
    from pyflare_cli.query.windows import Window


@dataclass(frozen=True)
class ReportContext:
    root: Path
    window: Window
    where: str | None
    now: datetime
    rules: tuple[PriceRule, ...] = ()
    budgets: tuple[Budget, ...] = ()
    drift: DriftConfig | None = None
    """The ``drift`` section of ``pyflare.yaml``: features and tests, as ``pyflare drift``."""
    top: int = 10
    """Rows per table, traces per list."""
    waterfalls: int = 6
    """Traces drawn as waterfalls, at most."""
    memo: dict[str, Any] = field(default_factory=dict)
    """Results two sections share (the rca report feeds rca and errors), computed once."""

    @property
    def step(self) -> str:
        """The period of the report's time series: hours up to two days, else days."""
        return "hour" if self.window.length <= timedelta(days=2) else "day"
