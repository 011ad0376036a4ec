"""One LLM call reported by two spans is counted once in cost and token totals.

Frameworks instrumented on top of a provider's client report the same call twice:
OpenInference's LangChain instrumentor writes the usage of a call on its ``ChatOpenAI``
span, and OpenInference's OpenAI instrumentor writes it again on the ``ChatCompletion``
span of the request inside it (a child, or with current versions a sibling under the same
parent). Summing both doubles the cost.

Two LLM spans are the same call when, in one trace, both report the same input and output
tokens and the same model (or either has none), the inner one lies within the outer one's
time, and the inner one is the outer one's child, or its sibling written by another
instrumentation scope (parallel identical calls of one instrumentor are siblings too, and
stay separate calls). The innermost span, nearest the provider, keeps the usage; the
outer ones are duplicates. Spans with the same times are ordered by span id, so one of
them always stays.
"""

from __future__ import annotations

import polars as pl

_KEYS = ("trace_id", "span_id")
_FIELDS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "scope_name",
    "start_time",
    "end_time",
    "model",
    "input_tokens",
    "output_tokens",
)
DUPLICATE = "duplicate"
"""``cost_source`` of a span whose call another span reports."""
USAGE_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


def _llm_calls(spans: pl.LazyFrame) -> pl.LazyFrame:
    return spans.filter(
        (pl.col("ai_kind") == "llm")
        & pl.col("input_tokens").is_not_null()
        & pl.col("output_tokens").is_not_null()
    )


def candidate_traces(spans: pl.LazyFrame) -> pl.LazyFrame:
    """The traces (``trace_id``) where two LLM calls report the same input and output
    tokens: the only ones :func:`duplicate_calls` can find a pair in.

    Three columns of the LLM spans instead of the nine the pairing reads, so a reader can
    look for candidates first and pair the calls of those few traces only (most stores
    have none).
    """
    keys = ["trace_id", "input_tokens", "output_tokens"]
    return (
        _llm_calls(spans)
        .group_by(keys)
        .agg(pl.len().alias("_calls"))
        .filter(pl.col("_calls") > 1)
        .select("trace_id")
        .unique()
    )


def duplicate_calls(spans: pl.LazyFrame) -> pl.LazyFrame:
    """(trace_id, span_id) of each LLM span whose call an inner LLM span also reports."""
    llm = _llm_calls(spans).select(_FIELDS)
    # Only calls whose (trace, input, output tokens) another call shares can pair up: a
    # cheap window count keeps the self-join below to those few rows.
    llm = llm.filter(pl.len().over("trace_id", "input_tokens", "output_tokens") > 1)
    inner = llm.select(pl.col(c).alias(f"{c}_in") for c in _FIELDS)
    pairs = llm.join(
        inner,
        left_on=["trace_id", "input_tokens", "output_tokens"],
        right_on=["trace_id_in", "input_tokens_in", "output_tokens_in"],
    )
    within = (pl.col("start_time") <= pl.col("start_time_in")) & (
        pl.col("end_time_in") <= pl.col("end_time")
    )
    same_times = (pl.col("start_time") == pl.col("start_time_in")) & (
        pl.col("end_time") == pl.col("end_time_in")
    )
    outer = within & (~same_times | (pl.col("span_id") > pl.col("span_id_in")))
    child = pl.col("parent_span_id_in") == pl.col("span_id")
    sibling = pl.col("parent_span_id_in").eq_missing(pl.col("parent_span_id")) & ~pl.col(
        "scope_name_in"
    ).eq_missing(pl.col("scope_name"))
    model = (
        pl.col("model").is_null()
        | pl.col("model_in").is_null()
        | (pl.col("model") == pl.col("model_in"))
    )
    return (
        pairs.filter(
            (pl.col("span_id") != pl.col("span_id_in")) & outer & (child | sibling) & model
        )
        .select(_KEYS)
        .unique()
    )


def has_call_fields(spans: pl.LazyFrame) -> bool:
    """Whether ``spans`` are spans of traces (requests priced apart from any trace are not)."""
    return set(spans.collect_schema().names()).issuperset((*_FIELDS, "ai_kind"))


def count_calls_once(priced: pl.LazyFrame) -> pl.LazyFrame:
    """Priced spans whose duplicate LLM spans carry no usage and cost nothing.

    The duplicate keeps its row (the trace still shows it) with ``cost_source``
    :data:`DUPLICATE`, cost 0 and its token columns null, so every total counts the call
    once, on the inner span. The duplicates are found inside the same lazy plan; a reader
    that collects them first (they do not depend on prices) uses :func:`mark_duplicates`.
    """
    names = set(priced.collect_schema().names())
    if not names.issuperset((*_FIELDS, "ai_kind", "cost_usd", "cost_source")):
        return priced  # requests priced apart from any trace (the judge's estimates)
    return _marked(priced, duplicate_calls(priced))


def mark_duplicates(priced: pl.LazyFrame, found: pl.DataFrame) -> pl.LazyFrame:
    """:func:`count_calls_once` given the (trace_id, span_id) of :func:`duplicate_calls`,
    collected beforehand from the same spans.

    With none found (most stores) the spans are returned as they are: no join on the ids
    of every span, which is most of the cost of the lazy way.
    """
    if found.height == 0:
        return priced
    return _marked(priced, found.lazy())


def _marked(priced: pl.LazyFrame, found: pl.LazyFrame) -> pl.LazyFrame:
    names = set(priced.collect_schema().names())
    flagged = found.select(_KEYS).with_columns(pl.lit(True).alias("_duplicate"))
    marked = priced.join(flagged, on=list(_KEYS), how="left", maintain_order="left")
    dup = pl.col("_duplicate").fill_null(False)
    costs = [c for c in ("cost_pico", "cost_micros") if c in names]
    usage = [c for c in USAGE_COLUMNS if c in names]
    return marked.with_columns(
        *(pl.when(dup).then(None).otherwise(pl.col(c)).alias(c) for c in usage),
        *(pl.when(dup).then(0).otherwise(pl.col(c)).alias(c) for c in costs),
        pl.when(dup).then(0.0).otherwise(pl.col("cost_usd")).alias("cost_usd"),
        pl.when(dup).then(pl.lit(DUPLICATE)).otherwise(pl.col("cost_source")).alias("cost_source"),
    ).drop("_duplicate")


def is_duplicate() -> pl.Expr:
    """The outer span of an LLM call that an inner span reports too (marked by
    :func:`mark_duplicates` via ``query.prices.priced``): a span, not a call."""
    return pl.col("cost_source").eq_missing(pl.lit(DUPLICATE))
