"""One LLM call reported by two spans is counted once in cost and token totals.

Frameworks instrumented on top of a provider's client report the same call twice:
OpenInference's LangChain instrumentor writes the usage of a call on its ``ChatOpenAI``
span, and OpenInference's OpenAI instrumentor writes it again on the ``ChatCompletion``
span of the request inside it (a child, or with current versions a sibling under the same
parent). Summing both doubles the cost; counting both doubles requests and errors.

Two LLM spans are the same call when, in one trace, the inner one lies within the outer
one's time, both name the same model (or either names none), and either

- both report the same input and output tokens, and the inner span is the outer one's
  child, or its sibling written by another instrumentation scope; or
- the outer span reports no usage at all (a call that failed, as a 429, or a stream
  without usage), the inner span is its child or its sibling written by another scope,
  and their input texts do not differ (equal, or either not recorded).

Parallel identical calls of one instrumentor are siblings of one scope and stay separate
calls; so do retries one after another (neither lies within the other). The innermost
span, nearest the provider, keeps the usage; the outer ones are duplicates. Spans with
the same times are ordered by span id, so one of them always stays.
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


TEXT = "input_text"
"""Compared for calls without usage when the spans have it (every store does)."""


def _usage() -> pl.Expr:
    return pl.col("input_tokens").is_not_null() & pl.col("output_tokens").is_not_null()


def _no_usage() -> pl.Expr:
    return pl.col("input_tokens").is_null() & pl.col("output_tokens").is_null()


def _llm_calls(spans: pl.LazyFrame) -> pl.LazyFrame:
    return spans.filter(pl.col("ai_kind") == "llm")


def candidate_traces(spans: pl.LazyFrame) -> pl.LazyFrame:
    """The traces (``trace_id``) where two LLM calls report the same input and output
    tokens, or where an LLM call without usage has another LLM call beside it: the only
    ones :func:`duplicate_calls` can find a pair in.

    Three columns of the LLM spans instead of the ten the pairing reads, so a reader can
    look for candidates first and pair the calls of those few traces only
    (:func:`pair_calls`; on the 1M-span demo store, 3,032 of 69,862 traces with LLM calls,
    none with a pair).
    """
    keys = ["trace_id", "input_tokens", "output_tokens"]
    return (
        _llm_calls(spans)
        .group_by(keys)
        .agg(pl.len().alias("_calls"))
        .group_by("trace_id")
        .agg(
            ((pl.col("_calls") > 1) & _usage()).any().alias("_twins"),
            _no_usage().any().alias("_bare"),
            pl.col("_calls").sum().alias("_calls"),
        )
        .filter(pl.col("_twins") | (pl.col("_bare") & (pl.col("_calls") > 1)))
        .select("trace_id")
    )


def pair_calls(spans: pl.LazyFrame, traces: pl.Series) -> pl.DataFrame:
    """:func:`duplicate_calls` of the calls in ``traces`` (from :func:`candidate_traces`).

    Their LLM spans are read once without the input text (the widest column) and paired
    in memory as if no text were recorded: a superset of the pairs, usually empty. Only
    the traces holding such a pair are read again with the text and paired for good.
    """
    if traces.len() == 0:
        return pl.DataFrame(schema={k: pl.String for k in _KEYS})
    # Pairs lie within a trace: pairing the candidate traces' calls finds them all.
    chosen = _llm_calls(spans.filter(pl.col("trace_id").is_in(traces.implode())))
    untexted = chosen.select(*_FIELDS, "ai_kind", pl.lit(None, pl.String).alias(TEXT)).collect()
    loose = duplicate_calls(untexted.lazy()).collect()
    if loose.height == 0 or TEXT not in spans.collect_schema().names():
        return loose
    again = chosen.filter(pl.col("trace_id").is_in(loose.get_column("trace_id").implode()))
    return duplicate_calls(_projected(again).collect().lazy()).collect()


def duplicate_calls(spans: pl.LazyFrame) -> pl.LazyFrame:
    """(trace_id, span_id) of each LLM span whose call an inner LLM span also reports."""
    llm = _projected(_llm_calls(spans))
    return pl.concat([_same_usage(llm), _without_usage(llm)]).unique()


def _projected(spans: pl.LazyFrame) -> pl.LazyFrame:
    """The columns the pairing reads; a frame without ``input_text`` has none recorded."""
    names = spans.collect_schema().names()
    text = pl.col(TEXT) if TEXT in names else pl.lit(None, pl.String).alias(TEXT)
    return spans.select(*_FIELDS, "ai_kind", text)


def _inner(calls: pl.LazyFrame) -> pl.LazyFrame:
    """``calls`` as the inner side of a pair: every column suffixed ``_in``."""
    return calls.select(pl.col(c).alias(f"{c}_in") for c in calls.collect_schema().names())


def _outer_and_same_model() -> pl.Expr:
    """The left span contains the right one in time (ties broken by span id) and both
    name one model, or either names none."""
    within = (pl.col("start_time") <= pl.col("start_time_in")) & (
        pl.col("end_time_in") <= pl.col("end_time")
    )
    same_times = (pl.col("start_time") == pl.col("start_time_in")) & (
        pl.col("end_time") == pl.col("end_time_in")
    )
    outer = within & (~same_times | (pl.col("span_id") > pl.col("span_id_in")))
    model = (
        pl.col("model").is_null()
        | pl.col("model_in").is_null()
        | (pl.col("model") == pl.col("model_in"))
    )
    return (pl.col("span_id") != pl.col("span_id_in")) & outer & model


def _other_scope() -> pl.Expr:
    return ~pl.col("scope_name_in").eq_missing(pl.col("scope_name"))


def _same_usage(llm: pl.LazyFrame) -> pl.LazyFrame:
    """Pairs of calls reporting the same tokens: a child, or a sibling of another scope."""
    keys = ["trace_id", "input_tokens", "output_tokens"]
    # Only calls whose (trace, input, output tokens) another call shares can pair up: a
    # cheap window count keeps the self-join below to those few rows.
    calls = llm.filter(_usage() & (pl.len().over(keys) > 1))
    pairs = calls.join(
        _inner(calls),
        left_on=keys,
        right_on=[f"{k}_in" for k in keys],
    )
    child = pl.col("parent_span_id_in") == pl.col("span_id")
    sibling = pl.col("parent_span_id_in").eq_missing(pl.col("parent_span_id")) & _other_scope()
    return pairs.filter(_outer_and_same_model() & (child | sibling)).select(_KEYS)


def _without_usage(llm: pl.LazyFrame) -> pl.LazyFrame:
    """Pairs whose outer call reports no usage: its child, or its sibling of another
    scope, on an input text that does not differ. Joined on the parent link (not on the
    trace alone), so a trace of many calls does not pair each with each."""
    outer = llm.filter(_no_usage() & pl.col("trace_id").is_not_null())
    inner = _inner(llm)
    texts = (
        pl.col(TEXT).is_null()
        | pl.col(f"{TEXT}_in").is_null()
        | (pl.col(TEXT) == pl.col(f"{TEXT}_in"))
    )
    children = outer.join(
        inner,
        left_on=["trace_id", "span_id"],
        right_on=["trace_id_in", "parent_span_id_in"],
        coalesce=False,
    )
    siblings = outer.join(
        inner,
        left_on=["trace_id", "parent_span_id"],
        right_on=["trace_id_in", "parent_span_id_in"],
        nulls_equal=True,
        coalesce=False,
    ).filter(_other_scope())
    found = [f.filter(_outer_and_same_model() & texts).select(_KEYS) for f in (children, siblings)]
    return pl.concat(found)


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
