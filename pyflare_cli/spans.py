"""Spans as commands and the TUI see them: scanned, time-bounded, searched and priced.

The one place that turns the common options (``--since``, ``--until``, ``--where``) into a
lazy frame, so every command and the TUI filter the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.pricing import Rates, model_pairs, price_table, with_cost
from pyflare_cli.analysis.search import filter_traces, time_bound
from pyflare_cli.analysis.traces import rank_traces, trace_details, with_details
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


PRICE_CACHE = Path(".cache") / "prices.json"
"""Under the store: model rates already looked up, keyed by the genai-prices version.

Looking prices up imports genai-prices (pydantic, its data), which costs more than a
whole listing; the cache keeps answers fast.
"""


def _prices_version() -> str:
    try:
        return metadata.version("genai-prices")
    except metadata.PackageNotFoundError:
        return "unknown"


def _load_cache(path: Path) -> dict[tuple[str | None, str], Rates | None]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _prices_version():
        return {}
    cache: dict[tuple[str | None, str], Rates | None] = {}
    for provider, model, rates in data.get("rates", []):
        cache[(provider, model)] = (rates[0], rates[1], rates[2], rates[3]) if rates else None
    return cache


def _save_cache(path: Path, cache: dict[tuple[str | None, str], Rates | None]) -> None:
    rows = [[p, m, list(r) if r else None] for (p, m), r in sorted(cache.items(), key=str)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps({"version": _prices_version(), "rates": rows}))
        os.replace(temp, path)
    except OSError:
        pass  # a read-only store still answers, only more slowly


def priced(spans: pl.LazyFrame, root: Path | None = None) -> pl.LazyFrame:
    """``spans`` with ``cost_usd`` (see :mod:`pyflare_cli.analysis.pricing`).

    With ``root``, rates are cached under the store (see :data:`PRICE_CACHE`).
    """
    pairs = [(p, m) for p, m in model_pairs(spans).collect().iter_rows()]
    if root is None:
        return with_cost(spans, price_table(pairs))
    cache = _load_cache(root / PRICE_CACHE)
    size = len(cache)
    prices = price_table(pairs, cache)
    if len(cache) != size:
        _save_cache(root / PRICE_CACHE, cache)
    return with_cost(spans, prices)


def load_spans(root: Path, query: SpanQuery, now: datetime) -> pl.LazyFrame:
    """The spans of every trace that matches ``query``, with ``cost_usd``.

    ``--where`` selects traces (a trace matches when one of its spans does), so the
    result keeps whole traces; ``--since/--until`` bound span start times.
    """
    since, until = query.bounds(now)
    spans = priced(scan_spans(root, since, until), root)
    if query.where and query.where.strip():
        spans = filter_traces(spans, query.where, now)
    return spans


def list_traces(spans: pl.LazyFrame, by: str, limit: int) -> pl.DataFrame:
    """The summaries of the first ``limit`` traces by ``by`` (see :mod:`analysis.traces`).

    Two passes: rank every trace on cheap totals, then fetch the details of the few that
    made the cut by id, which Parquet predicate pushdown makes cheap.
    """
    ranked = rank_traces(spans, by, limit).collect()
    ids = ranked.get_column("trace_id").to_list()
    return with_details(ranked.lazy(), trace_details(spans, ids)).collect()
