"""The store's figures for ``pyflare metrics``: one snapshot, collected together.

Budgets come from :mod:`query.budgets` (the same evaluation as ``pyflare cost budget``).
Alert states are read by the command (alerting sits above this layer) and passed to the
renderer beside this snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.budgets import Budget
from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.stats.metrics import (
    latency_histogram,
    llm_calls,
    model_calls,
    per_trace,
    traces,
    user_buckets,
)
from pyflare_cli.query.budgets import budget_status
from pyflare_cli.query.spans import SpanQuery, load_spans


@dataclass(frozen=True)
class MetricsSnapshot:
    at: datetime
    calls: pl.DataFrame
    traces: pl.DataFrame
    latency: pl.DataFrame
    users: pl.DataFrame
    budgets: pl.DataFrame | None
    spans: int


def snapshot(
    root: Path,
    query: SpanQuery,
    now: datetime,
    rules: tuple[PriceRule, ...],
    budgets: tuple[Budget, ...],
    top_users: int,
) -> MetricsSnapshot:
    """Every frame of the exposition, from two passes over the store by the streaming engine.

    The whole store by default: one pass after the other keeps the peak memory that of
    the larger (the per-trace pass) rather than of both at once.
    """
    spans = load_spans(root, query, now, rules)
    # Two passes over the store: the model calls (nine columns of them),
    # which both per-model frames group in memory, then the per-trace rows, whose span
    # counts add up to the total. One after the other: the peak is the larger one's.
    calls_rows = model_calls(spans).collect(engine="streaming").lazy()
    calls, latency = pl.collect_all([llm_calls(calls_rows), latency_histogram(calls_rows)])
    del calls_rows
    trace_rows = per_trace(spans).collect(engine="streaming")
    per_service, users = pl.collect_all(
        [traces(trace_rows.lazy()), user_buckets(trace_rows.lazy(), top_users)]
    )
    count = int(trace_rows.get_column("spans").sum())
    status = budget_status(root, budgets, now, rules) if budgets else None
    return MetricsSnapshot(now, calls, per_service, latency, users, status, count)
