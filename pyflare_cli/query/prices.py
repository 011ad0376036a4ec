"""Prices as every reader of the store applies them: the rules in force and the answer cache.

The price rules are those of ``pyflare.yaml``, then those of a LiteLLM price file when a
command is given one (``--prices``), then genai-prices. Looking a model up in genai-prices
imports the package (pydantic, its data), which costs more than a whole listing, so the
answers are cached under the store, keyed by the package version.
"""

from __future__ import annotations

import json
import os
from dataclasses import astuple
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pyflare_cli.analysis.cost.duplicates import (
    candidate_traces,
    has_call_fields,
    mark_duplicates,
    pair_calls,
)
from pyflare_cli.analysis.cost.price_rules import PriceRule, litellm_rules
from pyflare_cli.analysis.cost.pricing import (
    Resolution,
    genai_schedule,
    model_pairs,
    price_table,
    resolve,
    with_cost,
)
from pyflare_cli.analysis.cost.schedule import Band, BandRates
from pyflare_cli.errors import UsageError

if TYPE_CHECKING:
    from pyflare_cli.config.file import Config

PRICE_CACHE = Path(".cache") / "prices.json"
"""Under the store: genai-prices answers already looked up, keyed by the package version."""

CachedLookup = dict[tuple[str | None, str], tuple[tuple[Band, ...], str] | None]
CACHE_FORMAT = 3


def prices_version() -> str:
    try:
        return metadata.version("genai-prices")
    except metadata.PackageNotFoundError:
        return "unknown"


def price_rules(cfg: Config, prices: Path | None = None) -> tuple[tuple[PriceRule, ...], str]:
    """The rules of ``cfg`` then of the LiteLLM file ``prices``, and the price data version."""
    rules = cfg.price_rules
    version = f"genai-prices {prices_version()}"
    if cfg.price_rules:
        version += f" + {cfg.path} ({len(cfg.price_rules)} rule(s))"
    if prices is not None:
        try:
            data = json.loads(prices.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"--prices {prices}: cannot read it as JSON ({exc})") from None
        extra = litellm_rules(data, str(prices))
        rules = rules + extra
        version += f" + {prices.name} ({len(extra)} model(s))"
    return rules, version


def _load_cache(path: Path) -> CachedLookup:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != f"{CACHE_FORMAT}:{prices_version()}":
        return {}
    cache: CachedLookup = {}
    try:
        for provider, model, found in data.get("rates", []):
            cache[(provider, model)] = (
                (tuple(_band_of(b) for b in found[0]), found[1]) if found else None
            )
    except (TypeError, ValueError, IndexError):
        return {}
    return cache


def _band_json(band: Band) -> list[object]:
    return [
        list(astuple(band.rates)) if band.rates else None,
        band.source,
        band.since.isoformat() if band.since else None,
        band.until.isoformat() if band.until else None,
        band.day_from_us,
        band.day_to_us,
        band.above,
        band.upto,
    ]


def _band_of(row: list[Any]) -> Band:
    rates, source, since, until, *rest = row
    return Band(
        BandRates(*rates) if rates else None,
        source,
        datetime.fromisoformat(since) if since else None,
        datetime.fromisoformat(until) if until else None,
        *rest,
    )


def _save_cache(path: Path, cache: CachedLookup) -> None:
    rows = [
        [p, m, [[_band_json(b) for b in f[0]], f[1]] if f else None]
        for (p, m), f in sorted(cache.items(), key=str)
    ]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        version = f"{CACHE_FORMAT}:{prices_version()}"
        temp.write_text(json.dumps({"version": version, "rates": rows}))
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

    def cached(provider: str | None, model: str) -> tuple[tuple[Band, ...], str] | None:
        key = (provider, model)
        if key not in cache:
            cache[key] = genai_schedule(provider, model)
        return cache[key]

    out = [resolve(p, m, rules, cached) for p, m in pairs]
    if len(cache) != size:
        _save_cache(root / PRICE_CACHE, cache)
    return out


def priced(
    spans: pl.LazyFrame, root: Path | None = None, rules: tuple[PriceRule, ...] = ()
) -> pl.LazyFrame:
    """``spans`` with ``cost_micros``, ``cost_usd`` and ``cost_source`` (see pricing).

    An LLM call reported by two spans is counted once (:mod:`analysis.cost.duplicates`).
    What the lazy plan needs to know first is read in one collect: the (provider, model)
    pairs to price and the traces where a call may be reported twice (a few rows; neither
    depends on prices); only those traces' calls are then paired. The plan returned joins
    the small price table and, only when there are duplicates, their ids: it never re-runs
    the duplicate search or joins every span on its ids for nothing.
    """
    queries = [model_pairs(spans)]
    if has_call_fields(spans):
        queries.append(candidate_traces(spans))
    found = pl.collect_all(queries)
    pairs = [(p, m) for p, m in found[0].iter_rows()]
    costed = with_cost(spans, price_table(resolutions(pairs, root, rules)))
    if len(found) == 1:
        return costed
    return mark_duplicates(costed, pair_calls(spans, found[1].get_column("trace_id")))
