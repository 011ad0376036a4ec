"""Spans as commands and the TUI see them: scanned, time-bounded, searched and priced.

The one place that turns the common options (``--since``, ``--until``, ``--where``) into a
lazy frame, so every command and the TUI filter the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import astuple, dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule, Rates
from pyflare_cli.analysis.cost.pricing import (
    Resolution,
    genai_rates,
    model_pairs,
    price_table,
    resolve,
    with_cost,
)
from pyflare_cli.analysis.search.compile import filter_traces, time_bound
from pyflare_cli.analysis.traces.summary import rank_traces, trace_details, with_details
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
"""Under the store: genai-prices answers already looked up, keyed by the package version.

Looking prices up imports genai-prices (pydantic, its data), which costs more than a
whole listing; the cache keeps answers fast.
"""

CachedLookup = dict[tuple[str | None, str], tuple[Rates, str] | None]


def prices_version() -> str:
    try:
        return metadata.version("genai-prices")
    except metadata.PackageNotFoundError:
        return "unknown"


def _load_cache(path: Path) -> CachedLookup:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != f"2:{prices_version()}":
        return {}
    cache: CachedLookup = {}
    for provider, model, found in data.get("rates", []):
        cache[(provider, model)] = (Rates(*found[0]), found[1]) if found else None
    return cache


def _save_cache(path: Path, cache: CachedLookup) -> None:
    rows = [
        [p, m, [list(astuple(f[0])), f[1]] if f else None]
        for (p, m), f in sorted(cache.items(), key=str)
    ]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps({"version": f"2:{prices_version()}", "rates": rows}))
        os.replace(temp, path)
    except OSError:
        pass  # a read-only store still answers, only more slowly


def resolutions(
    pairs: list[tuple[str | None, str]], root: Path | None, rules: tuple[PriceRule, ...] = ()
) -> list[Resolution]:
    """Resolve every pair, with genai-prices answers cached under the store at ``root``."""
    if root is None:
        return [resolve(p, m, rules) for p, m in pairs]
    cache = _load_cache(root / PRICE_CACHE)
    size = len(cache)

    def cached(provider: str | None, model: str) -> tuple[Rates, str] | None:
        key = (provider, model)
        if key not in cache:
            cache[key] = genai_rates(provider, model)
        return cache[key]

    out = [resolve(p, m, rules, cached) for p, m in pairs]
    if len(cache) != size:
        _save_cache(root / PRICE_CACHE, cache)
    return out


def priced(
    spans: pl.LazyFrame, root: Path | None = None, rules: tuple[PriceRule, ...] = ()
) -> pl.LazyFrame:
    """``spans`` with ``cost_micros``, ``cost_usd`` and ``cost_source`` (see pricing)."""
    pairs = [(p, m) for p, m in model_pairs(spans).collect().iter_rows()]
    return with_cost(spans, price_table(resolutions(pairs, root, rules)))


def load_spans(
    root: Path, query: SpanQuery, now: datetime, rules: tuple[PriceRule, ...] = ()
) -> pl.LazyFrame:
    """The spans of every trace that matches ``query``, with ``cost_usd``.

    ``--where`` selects traces (a trace matches when one of its spans does), so the
    result keeps whole traces; ``--since/--until`` bound span start times.
    """
    since, until = query.bounds(now)
    spans = priced(scan_spans(root, since, until), root, rules)
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
