"""The fast paths of pricing give the same numbers as the full ones (issue 24).

``with_cost`` tests only the band conditions some band of the price table sets, and
``query.prices.priced`` finds duplicate calls before the plan instead of inside it. The
reference for the first is the same code with every condition tested (a band of a model
no span has, which sets every condition, keeps all of them in the filter); for the
second, :func:`count_calls_once`, which finds the duplicates inside the lazy plan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from pyflare_cli.analysis.cost.duplicates import count_calls_once
from pyflare_cli.analysis.cost.pricing import (
    PRICE_SCHEMA,
    model_pairs,
    price_table,
    resolve,
    with_cost,
)
from pyflare_cli.query.prices import priced
from tests.analysis.cost.test_recompute_genai import MODELS, _spans
from tests.conftest import canonical_spans

EVERY_CONDITION = {
    "provider": "nobody",
    "model": "no-such-model",
    "since": datetime(2000, 1, 1, tzinfo=UTC),
    "until": datetime(2100, 1, 1, tzinfo=UTC),
    "day_from_us": 0,
    "day_to_us": 86_400_000_000,
    "above": -1,
    "upto": 10**12,
    "rate_input": 1,
    "rate_output": 1,
    "rate_cache_read": 1,
    "rate_cache_write": 1,
    "rate_reasoning": 1,
    "rate_request": 0,
    "price_source": "test: every condition set",
}


def _costs(frame: pl.LazyFrame, table: pl.DataFrame) -> pl.DataFrame:
    return (
        with_cost(frame, table)
        .select("span_id", "cost_pico", "cost_micros", "cost_usd", "cost_source")
        .collect()
    )


@pytest.mark.parametrize(("provider", "model"), MODELS)
def test_pruned_band_filter_equals_the_full_one(provider: str | None, model: str) -> None:
    # One model at a time: its table sets some conditions (a date, a tier, a day window)
    # or none, so every subset the pruning can choose is taken somewhere.
    pair = (provider, model)
    rows = [r for r in _spans(3, len(MODELS) * 40) if (r["provider"], r["model"]) == pair]
    frame = canonical_spans(rows).lazy()
    pairs = [(p, m) for p, m in model_pairs(frame).collect().iter_rows()]
    table = price_table([resolve(p, m) for p, m in pairs])
    full = pl.concat([table, pl.DataFrame([EVERY_CONDITION], schema=PRICE_SCHEMA)])
    got, expected = _costs(frame, table), _costs(frame, full)
    assert got.height == len(rows)
    assert got.equals(expected)


def test_no_price_at_all_still_keeps_every_span_once() -> None:
    frame = canonical_spans(_spans(4, 50)).lazy()
    empty = price_table([])
    got = _costs(frame, empty)
    assert got.height == 50
    assert got.equals(_costs(frame, pl.DataFrame([EVERY_CONDITION], schema=PRICE_SCHEMA)))


T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _call(
    span_id: str, parent: str | None, start: int, end: int, **over: object
) -> dict[str, object]:
    row = {
        "trace_id": "t1",
        "span_id": span_id,
        "parent_span_id": parent,
        "scope_name": "openinference.instrumentation.openai",
        "start_time": T0 + timedelta(milliseconds=start),
        "end_time": T0 + timedelta(milliseconds=end),
        "ai_kind": "llm",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "input_tokens": 16,
        "output_tokens": 12,
        "total_tokens": 28,
    }
    return {**row, **over}


NO_USAGE = {"input_tokens": None, "output_tokens": None, "total_tokens": None}


@pytest.mark.parametrize("with_duplicates", [True, False])
def test_priced_with_duplicates_found_first_equals_the_lazy_way(with_duplicates: bool) -> None:
    langchain = "openinference.instrumentation.langchain"
    rows = [
        _call("outer", "app", 0, 100, scope_name=langchain),
        # Without duplicates: the same shape, but the inner call used other tokens.
        _call("inner", "outer", 10, 90, output_tokens=12 if with_duplicates else 13),
        _call("nested-a", None, 200, 300, trace_id="t2", scope_name="a"),
        _call("nested-b", "nested-a", 205, 295, trace_id="t2", scope_name="b"),
        _call("nested-c", "nested-b", 210, 290, trace_id="t2"),
        _call("other", "app", 400, 500, input_tokens=5, output_tokens=5, total_tokens=10),
        # Parallel identical calls of one instrumentor: a candidate trace without a pair.
        _call("p1", "app", 700, 800, trace_id="t3"),
        _call("p2", "app", 710, 790, trace_id="t3"),
        _call("app", None, 0, 600, ai_kind=None, model=None, provider=None, input_tokens=None),
        # A failed call (no usage) that LangChain and OpenAI both report, and one that
        # only OpenAI reports beside another call: a candidate trace without a pair.
        _call("lc-429", "a4", 0, 50, trace_id="t4", scope_name=langchain, **NO_USAGE),
        _call("oa-429", "a4", 5, 30, trace_id="t4", **NO_USAGE),
        _call("oa-failed", "a5", 0, 50, trace_id="t5", **NO_USAGE),
        _call("oa-ok", "a5", 60, 90, trace_id="t5"),
        # Two failed calls shaped as one but for their input texts: two calls (paired
        # without the text first, then read again with it and told apart).
        _call("lc-a", "a6", 0, 50, trace_id="t6", scope_name=langchain, **NO_USAGE, input_text="a"),
        _call("oa-b", "a6", 5, 30, trace_id="t6", **NO_USAGE, input_text="b"),
    ]
    if not with_duplicates:
        rows = [r for r in rows if r["trace_id"] not in ("t2", "t4")]
    frame = canonical_spans(rows).lazy()
    pairs = [(p, m) for p, m in model_pairs(frame).collect().iter_rows()]
    lazy_way = count_calls_once(with_cost(frame, price_table([resolve(p, m) for p, m in pairs])))
    got, expected = priced(frame).collect(), lazy_way.collect()
    assert got.equals(expected)
    marked = got.filter(pl.col("cost_source") == "duplicate").get_column("span_id").to_list()
    expected = ["lc-429", "nested-a", "nested-b", "outer"] if with_duplicates else []
    assert sorted(marked) == expected
