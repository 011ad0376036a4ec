"""What the cost gate needs to know about a window: totals, the calls over a limit, and
whether the data can be trusted (empty, unpriced, cache tokens beyond the input).

Pure and lazy: priced spans in (see :mod:`pricing`), small frames out, all collected in
one go. The command turns these facts into a verdict (render/verdict.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pyflare_cli.analysis.cost.duplicates import is_duplicate
from pyflare_cli.analysis.cost.pricing import has_usage, sum_micros

REQUEST_KINDS = ("llm", "embedding")


def is_request() -> pl.Expr:
    """An LLM or embedding call: its kind says so, or it has no kind but reports tokens.

    Agent or chain spans that merely carry a model name are not requests, nor is the
    outer span of a call another span reports too (:func:`is_duplicate`).
    """
    kind = pl.col("ai_kind")
    call = kind.is_in(REQUEST_KINDS).fill_null(False) | (kind.is_null() & has_usage())
    return call & ~is_duplicate()


def is_failed() -> pl.Expr:
    return pl.col("status_code").fill_null("") == "error"


def cache_excess() -> pl.Expr:
    """Cache read + write above the input tokens (input tokens include cached ones)."""
    cached = pl.col("cache_read_tokens").fill_null(0) + pl.col("cache_write_tokens").fill_null(0)
    return has_usage() & (cached > pl.col("input_tokens").fill_null(0))


@dataclass(frozen=True)
class GateFacts:
    spans: int
    requests: int
    total_micros: int
    largest_micros: int
    unpriced: int
    """Spans with tokens but no price (and no reported cost)."""
    estimate_micros: int | None
    """What the unpriced spans would add at the window's average price per token."""
    cache_excess: int
    cache_example: str | None
    top_models: pl.DataFrame
    over_limit: pl.DataFrame


def gate_facts(spans: pl.LazyFrame, max_per_request: float | None, top: int = 5) -> GateFacts:
    tokens = pl.col("input_tokens").fill_null(0) + pl.col("output_tokens").fill_null(0)
    unpriced = pl.col("cost_source").is_null() & has_usage()
    priced_tokens = tokens.filter(pl.col("cost_source") == "price").sum()
    summary = spans.select(
        pl.len().alias("spans"),
        is_request().sum().alias("requests"),
        sum_micros().alias("total"),
        pl.col("cost_micros").max().alias("largest"),
        unpriced.sum().alias("unpriced"),
        tokens.filter(unpriced).sum().alias("unpriced_tokens"),
        sum_micros().alias("priced_micros"),
        priced_tokens.alias("priced_tokens"),
        cache_excess().sum().alias("cache_excess"),
        pl.col("span_id").filter(cache_excess()).min().alias("cache_example"),
    )
    models = (
        spans.filter(pl.col("cost_micros").is_not_null())
        .group_by("model")
        .agg(sum_micros().alias("cost_micros"), is_request().sum().alias("requests"))
        .sort(["cost_micros", "model"], descending=[True, False], nulls_last=True)
        .head(top)
        .select("model", (pl.col("cost_micros") / 1e6).alias("cost_usd"), "requests")
    )
    limit = round((max_per_request or 0) * 1e6)
    over = (
        spans.filter(pl.col("cost_micros") > limit)
        .sort(["cost_micros", "trace_id", "span_id"], descending=[True, False, False])
        .head(top if max_per_request is not None else 0)
        .select("trace_id", "span_id", "model", (pl.col("cost_micros") / 1e6).alias("cost_usd"))
    )
    row, top_models, over_limit = pl.collect_all([summary, models, over])
    facts = row.row(0, named=True)
    estimate = None
    if facts["unpriced"] and facts["priced_tokens"]:
        per_token = facts["priced_micros"] / facts["priced_tokens"]
        estimate = round(per_token * (facts["unpriced_tokens"] or 0))
    return GateFacts(
        spans=facts["spans"],
        requests=facts["requests"],
        total_micros=facts["total"] or 0,
        largest_micros=facts["largest"] or 0,
        unpriced=facts["unpriced"],
        estimate_micros=estimate,
        cache_excess=facts["cache_excess"],
        cache_example=facts["cache_example"],
        top_models=top_models,
        over_limit=over_limit,
    )
