"""Budget status read from the store: the one evaluation behind ``pyflare cost budget``,
``pyflare cost check --budget`` and budget alert rules, so they never project differently.

It loads the spans the budgets' periods and the projection's 7-day rate need, prices them,
finds where the store's history starts (a store with under 7 days of spans projects at
the rate of the days it holds, not a rate diluted over days it never saw) and hands them
to :func:`analysis.cost.budgets.evaluate_budgets`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.budgets import Budget, evaluate_budgets, first_needed
from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.query.prices import priced
from pyflare_cli.store.scan import scan_spans


def history_start(root: Path) -> datetime | None:
    """The start of the store's first span; None for an empty store."""
    first: datetime | None = scan_spans(root).select(pl.col("start_time").min()).collect().item()
    return first


def budget_status(
    root: Path, budgets: Sequence[Budget], now: datetime, rules: tuple[PriceRule, ...] = ()
) -> pl.DataFrame:
    """Each budget's spend, projection and status (:data:`STATUS_SCHEMA`), in their order."""
    spans = priced(scan_spans(root, first_needed(budgets, now)), root, rules)
    return evaluate_budgets(spans, budgets, now, history_start=history_start(root))
