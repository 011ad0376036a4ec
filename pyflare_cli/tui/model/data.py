"""What the TUI reads from the store, through the same functions as the commands.

The screens never touch Parquet or Polars plans themselves: they ask a :class:`TraceSource`
for a page of the trace list, facet counts, or one trace. The list follows
``pyflare traces`` (:func:`~pyflare_cli.query.spans.load_spans` then the two-pass ranking of
:mod:`pyflare_cli.analysis.traces.summary`) but keeps the per-trace totals of a query (one small row
per trace, never the spans) so that re-sorting and paging do not rescan the store; the
costly details (root span, models) are fetched for the rows of one page only. A trace is
loaded the way ``pyflare trace show`` loads it: by id or unique prefix, then by time range.

Every method may run in a worker thread; the caches are guarded by a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.search.compile import compile_query, filter_traces, parse, uses_scores
from pyflare_cli.analysis.traces.summary import (
    COLUMNS,
    TRACE_SORTS,
    rank_traces,
    sort_traces,
    summarize_traces,
    trace_details,
    trace_ids_with_prefix,
    with_details,
)
from pyflare_cli.errors import UsageError
from pyflare_cli.query.prices import priced
from pyflare_cli.query.spans import PRICED_COLUMNS, SpanQuery, load_spans
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.scan import scan_spans
from pyflare_cli.tui.model.facets import Facets, completion_values, count_facets

__all__ = ["LIST_COLUMNS", "POINT_COLUMNS", "Facets", "SortKey", "TracePage", "TraceSource"]

LIST_COLUMNS: tuple[str, ...] = (
    "start",
    "root",
    "duration",
    "spans",
    "errors",
    "models",
    "tokens",
    "cost",
    "trace",
)
"""The columns of the trace list, in display order; each one sorts the list."""

_DETAIL_SORTS = {"root": ("root_service", "root_name"), "models": ("models_text",)}
"""Columns whose order needs the details (root, models) of every trace."""

_UNPRICED_SORTS = frozenset({"start", "duration", "spans", "errors", "trace"})
"""Columns whose order pricing cannot change: it adds costs and blanks the tokens of a
call reported twice, but never drops a span or touches its times, status or ids."""

POINT_COLUMNS = ("trace_id", "start_time", "duration_ns", "errors")
"""What the scatter needs of every listed trace; pricing changes none of them."""

_SUMMARY_READS = (
    *("trace_id", "parent_span_id", "start_time", "end_time", "status_code"),
    *("service_name", "name", "model", "input_tokens", "output_tokens", "total_tokens"),
    "cost_usd",
)
"""What a trace summary reads (:mod:`pyflare_cli.analysis.traces.summary`)."""


@dataclass(frozen=True)
class SortKey:
    """A list column (see :data:`LIST_COLUMNS`) and a direction."""

    column: str = "start"
    descending: bool = True


@dataclass(frozen=True)
class TracePage:
    """``rows`` (the columns of :data:`analysis.traces.COLUMNS`) from ``offset`` of ``total``."""

    rows: pl.DataFrame
    offset: int
    total: int

    @property
    def end(self) -> int:
        return self.offset + self.rows.height


class TraceSource:
    """The store as the TUI sees it: paged trace lists, facets and single traces."""

    def __init__(
        self,
        root: Path,
        clock: Callable[[], datetime],
        *,
        since: str | None = None,
        rules: tuple[PriceRule, ...] = (),
    ) -> None:
        self.root = root
        self.clock = clock
        self.since = since
        self.rules = rules
        self._lock = threading.Lock()
        self._totals: dict[str, pl.DataFrame] = {}
        self._summaries: dict[str, pl.DataFrame] = {}
        self._orders: dict[tuple[str, SortKey], pl.DataFrame] = {}
        self._completions: dict[str, list[str]] | None = None

    def has_spans(self) -> bool:
        """Whether the store holds any span file at all."""
        return bool(StoreLayout(self.root).span_files())

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """The store's part list with sizes and times: it changes exactly when a commit,
        compaction or prune changes what a scan reads (a few stat calls, no Parquet)."""
        out: list[tuple[str, int, int]] = []
        for path in StoreLayout(self.root).span_files():
            try:
                stat = path.stat()
            except FileNotFoundError:  # compacted away between the listing and the stat
                continue
            out.append((str(path), stat.st_size, stat.st_mtime_ns))
        return tuple(out)

    def services(self) -> list[str]:
        """Every service name in the store (for colours), sorted."""
        frame = scan_spans(self.root).select("service_name").unique().collect()
        return sorted(str(s) for s in frame.get_column("service_name").drop_nulls())

    def invalidate(self) -> None:
        """Forget cached rankings (the store changed, or time moved on with ``--follow``)."""
        with self._lock:
            self._totals.clear()
            self._summaries.clear()
            self._orders.clear()

    def spans(self, query: str) -> pl.LazyFrame:
        """The priced spans of the traces matching ``query``, as every command sees them."""
        where = query.strip() or None
        return load_spans(self.root, SpanQuery(self.since, None, where), self.clock(), self.rules)

    def page(self, query: str, sort: SortKey, offset: int, limit: int) -> TracePage:
        """One page of the trace list: ``limit`` traces from ``offset`` in ``sort`` order.

        Raises :class:`~pyflare_cli.errors.QuerySyntaxError` for a bad query.
        """
        parse(query)
        ordered = self._ordered(query, sort)
        part = ordered.slice(offset, limit)
        if "root_service" in part.columns:
            rows = part.select(COLUMNS)
        elif "cost_usd" not in part.columns:  # ranked unpriced: the page's rows priced now
            rows = self._rows(query, part)
        else:
            ids = part.get_column("trace_id").to_list()
            details = trace_details(self.spans(query), ids)
            rows = with_details(part.lazy(), details).collect()
        return TracePage(rows, offset, ordered.height)

    def _rows(self, query: str, part: pl.DataFrame) -> pl.DataFrame:
        """The summaries of the traces of ``part``, in its order, from their priced spans
        only (Parquet skips the rest by trace id)."""
        part = part.select("trace_id")
        ids = part.get_column("trace_id").to_list()
        wanted = self.spans(query).filter(pl.col("trace_id").is_in(ids))
        spans = wanted.select(_SUMMARY_READS).collect().lazy()
        totals = rank_traces(spans, "start", 0)
        ranked = part.lazy().join(totals, on="trace_id", how="left", maintain_order="left")
        return with_details(ranked, trace_details(spans, ids)).collect()

    def _unpriced(self, query: str) -> pl.LazyFrame | None:
        """The spans of the traces matching ``query`` without prices, when that selects the
        same traces as :meth:`spans` (the query reads no column pricing sets); else None.

        Pricing (a join with the price table and the duplicate-call check) is most of the
        cost of ranking every trace of a big store; sorts by start, duration, spans,
        errors or id do not need it, so the first page ranks the unpriced scan and prices
        the traces of the page alone.
        """
        since, until = SpanQuery(self.since).bounds(self.clock())
        spans = scan_spans(self.root, since, until)
        if not query.strip():
            return spans
        node = parse(query)
        if uses_scores(node):
            return None
        read = set(compile_query(node, self.clock()).meta.root_names())
        if read & PRICED_COLUMNS:
            return None
        return filter_traces(spans, node, self.clock())

    def _ordered(self, query: str, sort: SortKey) -> pl.DataFrame:
        key = (query, sort)
        with self._lock:
            if key in self._orders:
                return self._orders[key]
        if sort.column in _DETAIL_SORTS:
            frame = self._summary(query).with_columns(
                pl.col("models").list.join(", ").alias("models_text")
            )
            columns = [*_DETAIL_SORTS[sort.column], "trace_id"]
            ordered = frame.sort(
                columns, descending=[sort.descending] * len(columns), nulls_last=True
            ).drop("models_text")
        elif sort.column in _UNPRICED_SORTS and (spans := self._unpriced(query)) is not None:
            ordered = self._order_unpriced(spans, sort)
        elif sort.column == "trace":
            ordered = self._totals_of(query).sort("trace_id", descending=sort.descending)
        else:
            totals = self._totals_of(query)
            if sort.descending:
                ordered = sort_traces(totals.lazy(), sort.column, None).collect()
            else:
                ordered = totals.sort([TRACE_SORTS[sort.column], "trace_id"], nulls_last=True)
        with self._lock:
            self._orders[key] = ordered
        return ordered

    @staticmethod
    def _order_unpriced(spans: pl.LazyFrame, sort: SortKey) -> pl.DataFrame:
        """The ids of every trace of ``spans`` in ``sort`` order (by its unpriced totals,
        which agree with the priced ones on these columns)."""
        totals = rank_traces(spans, "start", 0)
        if sort.column == "trace":
            ordered = totals.sort("trace_id", descending=sort.descending)
        elif sort.descending:
            ordered = sort_traces(totals, sort.column, None)
        else:
            ordered = totals.sort([TRACE_SORTS[sort.column], "trace_id"], nulls_last=True)
        return ordered.select(POINT_COLUMNS).collect()

    def points(self, query: str, sort: SortKey) -> pl.DataFrame:
        """Every trace the list holds for ``query``: its id, start, duration and errors
        (what the scatter draws; from the ranking the list pages through, no new scan)."""
        return self._ordered(query, sort).select(POINT_COLUMNS)

    def _totals_of(self, query: str) -> pl.DataFrame:
        """Cheap totals of every matching trace (``rank_traces`` without a limit)."""
        with self._lock:
            if query in self._totals:
                return self._totals[query]
        totals = rank_traces(self.spans(query), "start", 0).collect()
        with self._lock:
            self._totals[query] = totals
        return totals

    def _summary(self, query: str) -> pl.DataFrame:
        """Full summaries of every matching trace: only for sorting by root or models."""
        with self._lock:
            if query in self._summaries:
                return self._summaries[query]
        summary = summarize_traces(self.spans(query)).collect()
        with self._lock:
            self._summaries[query] = summary
        return summary

    def facets(self, query: str) -> Facets:
        """Per service, model and status: the traces the list shows once its term is added
        to ``query`` (see :mod:`pyflare_cli.tui.model.facets`)."""
        return count_facets(self.root, query, self.clock(), since=self.since, rules=self.rules)

    def completions(self) -> dict[str, list[str]]:
        """The store's services, models, operations, agents, tools and attribute keys, for
        the search bar to complete (computed once per session)."""
        with self._lock:
            if self._completions is not None:
                return self._completions
        since, _ = SpanQuery(self.since).bounds(self.clock())
        values = completion_values(self.root, since)
        with self._lock:
            self._completions = values
        return values

    def resolve(self, trace_id: str) -> tuple[str, datetime, datetime]:
        """The full id of the one trace starting with ``trace_id``, and its span time range.

        Raises :class:`~pyflare_cli.errors.UsageError` when no trace or several match.
        """
        wanted = trace_id.strip()
        if not wanted:
            raise UsageError("empty trace id")
        matches = trace_ids_with_prefix(scan_spans(self.root), wanted).collect()
        ids = matches.get_column("trace_id").to_list()
        if not ids:
            raise UsageError(f"no trace id starts with {trace_id!r}")
        if len(ids) > 1 and wanted.lower() not in ids:
            shown = ", ".join(i[:16] for i in ids[:5])
            raise UsageError(f"{trace_id!r} matches {len(ids)} or more traces ({shown})")
        index = ids.index(wanted.lower()) if wanted.lower() in ids else 0
        _, first, last = matches.row(index)
        return str(ids[index]), first, last

    def scores(self, trace_id: str) -> pl.DataFrame:
        """The evaluation results of one trace's spans, as ``pyflare eval`` reads them
        (every convention and pyflare's own; :func:`pyflare_cli.query.evaluations.load_scores`),
        oldest first. Not bounded by ``--since``: a trace opened by id shows its scores;
        the whole store is read, since a result may be an evaluator span of another trace
        (or a later one) that points at this trace's span."""
        from pyflare_cli.query.evaluations import load_scores

        full, _, _ = self.resolve(trace_id)
        frame, _ = load_scores(self.root, SpanQuery(), self.clock())
        return frame.filter(pl.col("trace_id") == full).sort("time").collect()

    def trace(self, trace_id: str) -> pl.DataFrame:
        """Every span of one trace (id or unique prefix), priced, sorted by start time."""
        full, first, last = self.resolve(trace_id)
        scan = scan_spans(self.root, first, last + timedelta(microseconds=1))
        spans = priced(scan.filter(pl.col("trace_id") == full), self.root, self.rules)
        return spans.sort("start_time").collect()
