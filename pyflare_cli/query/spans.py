"""Spans as commands and the TUI see them: scanned, time-bounded, searched and priced.

The one place that turns the common options (``--since``, ``--until``, ``--where``) into a
lazy frame, so every command and the TUI filter the same way; prices come from
:mod:`query.prices`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.duplicates import USAGE_COLUMNS
from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.search.compile import (
    compile_query,
    filter_traces,
    parse,
    time_bound,
    uses_scores,
)
from pyflare_cli.analysis.traces.summary import (
    rank_traces,
    sort_traces,
    summarize_traces,
    trace_details,
    with_details,
)
from pyflare_cli.query.prices import priced
from pyflare_cli.store.category import AttributeReads
from pyflare_cli.store.scan import scan_spans


def _scores(root: Path, since: datetime | None, until: datetime | None) -> pl.DataFrame:
    """The window's evaluation scores, for a query with an ``eval.`` term only.

    Imported here: reading evaluations loads the store's writer (pyarrow), which a query
    without ``eval.`` terms must not pay for at start-up.
    """
    from pyflare_cli.query.eval_scores import search_scores

    return search_scores(root, since, until)


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


def load_spans(
    root: Path,
    query: SpanQuery,
    now: datetime,
    rules: tuple[PriceRule, ...] = (),
    prices: bool = True,
    reads: AttributeReads | None = None,
) -> pl.LazyFrame:
    """The spans of every trace that matches ``query``, with ``cost_usd``.

    ``reads``: what the caller reads of ``attributes``, which may then come from the
    store's small map (:func:`pyflare_cli.store.scan.scan_spans`); ignored with
    ``--where``, whose terms may read any attribute.

    ``--where`` selects traces (a trace matches when one of its spans does), so the
    result keeps whole traces; ``--since/--until`` bound span start times. ``prices``
    False leaves the cost columns out: pricing reads the window once more for its models
    and joins it with itself (duplicate calls), which a reader of errors or latency need
    not pay for (a ``where`` naming cost then fails to plan).
    """
    since, until = query.bounds(now)
    where = bool(query.where and query.where.strip())
    spans = scan_spans(root, since, until, None if where else reads)
    if prices:
        spans = priced(spans, root, rules)
    if query.where and query.where.strip():
        node = parse(query.where)
        # eval.<name> terms search the window's evaluation results (a semi-join by span).
        scores = _scores(root, since, until) if uses_scores(node) else None
        spans = filter_traces(spans, node, now, scores)
    return spans


@dataclass(frozen=True)
class Selection:
    """The spans a span-level ``--where`` selects, and the window they were chosen from.

    ``window`` holds every priced span of the time bounds (where a call's agent, tool,
    user or session ancestor is looked up); ``where`` the compiled filter (``pl.lit(True)``
    without one); ``spans`` the window filtered by it.
    """

    window: pl.LazyFrame
    where: pl.Expr

    @property
    def spans(self) -> pl.LazyFrame:
        return self.window.filter(self.where)


def window_spans(root: Path, query: SpanQuery, now: datetime) -> pl.LazyFrame:
    """The spans of ``query``'s window as stored: unpriced, ``--where`` not applied."""
    return scan_spans(root, *query.bounds(now))


def select_spans(
    root: Path, query: SpanQuery, now: datetime, rules: tuple[PriceRule, ...] = ()
) -> Selection:
    """The spans that match ``query`` themselves: the span-level meaning of ``--where``.

    ``cost``, budgets and alert rules measure spans, so their ``--where``/``where`` keeps
    the matching spans only (``model:gpt-4o`` is the gpt-4o calls, not every span of
    their traces); a trace-level condition is written ``trace.<field>`` and holds for
    every span of a matching trace. See docs/search.md.
    """
    since, until = query.bounds(now)
    spans = priced(scan_spans(root, since, until), root, rules)
    if not (query.where and query.where.strip()):
        return Selection(spans, pl.lit(True))
    node = parse(query.where)
    scores = _scores(root, since, until) if uses_scores(node) else None
    return Selection(spans, compile_query(node, now, scores).fill_null(False))


def list_traces(spans: pl.LazyFrame, by: str, limit: int) -> pl.DataFrame:
    """The summaries of the first ``limit`` traces by ``by`` (see :mod:`analysis.traces`).

    Two passes: rank every trace on cheap totals, then fetch the details of the few that
    made the cut by id, which Parquet predicate pushdown makes cheap.
    """
    ranked = rank_traces(spans, by, limit).collect()
    ids = ranked.get_column("trace_id").to_list()
    return with_details(ranked.lazy(), trace_details(spans, ids)).collect()


PRICE_FREE_SORTS = ("start", "duration", "errors", "spans")
"""Trace orders that prices and duplicate calls cannot change (they change only cost and
token columns)."""
PRICED_COLUMNS = frozenset({"cost_usd", "cost_micros", "cost_pico", "cost_source", *USAGE_COLUMNS})
"""Columns that :func:`~pyflare_cli.query.prices.priced` adds or changes (a test checks
that it changes no other): a query reading none of them selects the same traces from the
unpriced scan (``pyflare traces`` and the TUI's first page rely on it)."""


def trace_list(
    root: Path,
    query: SpanQuery,
    now: datetime,
    by: str,
    limit: int,
    rules: tuple[PriceRule, ...] = (),
) -> pl.DataFrame:
    """:func:`list_traces` of :func:`load_spans`: the same rows, priced only where needed.

    When neither the order nor ``--where`` reads a cost or token column, the traces are
    ranked on the spans as stored, and only the spans of the first ``limit`` traces, from
    the earliest of their starts on, are priced and summarised: pricing every span of the
    window (the price join, the duplicate-call search) was most of ``pyflare traces``.
    """
    if by not in PRICE_FREE_SORTS or not limit:
        return list_traces(load_spans(root, query, now, rules), by, limit)
    since, until = query.bounds(now)
    spans = scan_spans(root, since, until)
    if query.where and query.where.strip():
        node = parse(query.where)
        scores = _scores(root, since, until) if uses_scores(node) else None
        if PRICED_COLUMNS.intersection(compile_query(node, now, scores).meta.root_names()):
            return list_traces(load_spans(root, query, now, rules), by, limit)
        spans = filter_traces(spans, node, now, scores)
    ranked = rank_traces(spans, by, limit).select("trace_id", "start_time").collect()
    # A trace's start is its earliest span's: none of the chosen traces' spans is older.
    first = ranked.get_column("start_time").min()
    if isinstance(first, datetime) and (since is None or first > since):
        since = first
    chosen = scan_spans(root, since, until).filter(
        pl.col("trace_id").is_in(ranked.get_column("trace_id").to_list())
    )
    return sort_traces(summarize_traces(priced(chosen, root, rules)), by, limit).collect()
