"""Spans as commands and the TUI see them: scanned, time-bounded, searched and priced.

The one place that turns the common options (``--since``, ``--until``, ``--where``) into a
lazy frame, so every command and the TUI filter the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.pricing import model_pairs, price_table, with_cost
from pyflare_cli.analysis.search import filter_traces, time_bound
from pyflare_cli.store.scan import scan_spans


@dataclass(frozen=True)
class SpanQuery:
    """Which spans a command looks at."""

    since: str | None = None
    until: str | None = None
    where: str | None = None

    def bounds(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        since = time_bound(self.since, now) if self.since else None
        until = time_bound(self.until, now) if self.until else None
        return since, until


def priced(spans: pl.LazyFrame) -> pl.LazyFrame:
    """``spans`` with ``cost_usd`` (see :mod:`pyflare_cli.analysis.pricing`)."""
    pairs = [(p, m) for p, m in model_pairs(spans).collect().iter_rows()]
    return with_cost(spans, price_table(pairs))


def load_spans(root: Path, query: SpanQuery, now: datetime) -> pl.LazyFrame:
    """The spans of every trace that matches ``query``, with ``cost_usd``.

    ``--where`` selects traces (a trace matches when one of its spans does), so the
    result keeps whole traces; ``--since/--until`` bound span start times.
    """
    since, until = query.bounds(now)
    spans = priced(scan_spans(root, since, until))
    if query.where and query.where.strip():
        spans = filter_traces(spans, query.where, now)
    return spans
