"""Spend priced after aggregating equals spend priced span by span, or is not used (issue 24).

:mod:`analysis.cost.aggregated` prices token sums per group instead of every span; it is
exact only when each group lies in one price band and every rate is a whole number of
pico-dollars, and must say so (None) otherwise. The reference is
:func:`report.spend_parts` of :func:`pricing.with_cost`: the same rows, column for column
and type for type, on spans with every kind of usage (no tokens, cache above the input,
reasoning above the output, reported costs, errors, non-LLM kinds) and prices with dates,
tiers, daily windows, bands without rates and rates with a fraction of a pico-dollar.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pyflare_cli.analysis.cost.aggregated import price_usage, usage_parts
from pyflare_cli.analysis.cost.pricing import (
    PRICE_SCHEMA,
    model_pairs,
    price_table,
    resolve,
    with_cost,
)
from pyflare_cli.analysis.cost.report import spend_parts
from pyflare_cli.query.spend import spend_parts as store_spend_parts
from pyflare_cli.query.windows import current_window
from tests.analysis.cost.test_recompute_genai import MODELS, _spans
from tests.conftest import canonical_spans, commit_spans

T0 = datetime(2026, 11, 1, tzinfo=UTC)
GROUPINGS = [
    (["model"], "day", "day"),
    ([], None, "hour"),
    (["service", "provider"], "week", "day"),
    (["user"], None, "day"),
]
PICO_RATE = 10**6  # one pico-dollar per token, in atto-dollars


def _rows(seed: int, count: int, models: list[tuple[str | None, str]]) -> list[dict[str, Any]]:
    """Spans over two days with every shape of usage the cost code distinguishes."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        provider, model = models[i % len(models)]
        size = rng.choice([None, 0, 40, 900, 1_000, 1_001, 5_000])
        cache_read = rng.choice([None, 0, 30, 2_000])  # above the input sometimes
        output = rng.choice([None, 0, 17, 300])
        reasoning = rng.choice([None, 0, 10, 500])  # above the output sometimes
        if rng.random() < 0.1:
            size = output = None  # no usage: a failed call, or a non-LLM span
        rows.append(
            {
                "span_id": f"s{seed}-{i}",
                "trace_id": f"t{seed}-{i // 3}",
                "start_time": T0 + timedelta(seconds=rng.randrange(2 * 86_400)),
                "provider": provider,
                "model": model,
                "ai_kind": rng.choice(["llm", "llm", "embedding", "agent", None]),
                "status_code": rng.choice(["ok", "error", "unset"]),
                "service_name": rng.choice(["api", "worker"]),
                "user_id": rng.choice([None, "u1", "u2"]),
                "input_tokens": size,
                "output_tokens": output,
                "cache_read_tokens": cache_read,
                "cache_write_tokens": rng.choice([None, 0, 50]),
                "reasoning_tokens": reasoning,
                "reported_cost_usd": rng.choice([None, None, 0.000123, 0.5]),
            }
        )
    return rows


def _band(model: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {name: None for name in PRICE_SCHEMA.names()}
    rates = {"input": 3, "output": 15, "cache_read": 1, "cache_write": 4, "reasoning": 15}
    row |= {f"rate_{k}": v * PICO_RATE for k, v in rates.items()}
    row |= {"provider": "p", "model": model, "rate_request": 0, "price_source": "test"}
    return row | over


def _table(*bands: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(bands), schema=PRICE_SCHEMA)


def _both(
    frame: pl.LazyFrame, prices: pl.DataFrame, by: list[str], every: str | None, step: str
) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    fast = price_usage(usage_parts(frame, by, every, step).collect(), prices)
    slow = spend_parts(with_cost(frame, prices), by, every, None, step).collect()
    return fast, slow


def _same(fast: pl.DataFrame, slow: pl.DataFrame) -> None:
    keys = slow.columns[: slow.columns.index("cost_pico")]
    assert fast.schema == slow.schema
    assert fast.sort(keys, nulls_last=True).equals(slow.sort(keys, nulls_last=True))


MIDNIGHT = T0 + timedelta(days=1)
NOON = T0 + timedelta(hours=12)
CASES = {
    # (price table, whether aggregating is exact for every grouping)
    "one band each, a model without price": (_table(_band("a"), _band("b")), True),
    "dated at midnight": (
        _table(_band("a", until=MIDNIGHT), _band("a", since=MIDNIGHT, rate_input=7 * PICO_RATE)),
        None,  # exact by day and by hour; a week straddles the date
    ),
    "dated at noon": (
        _table(_band("a", until=NOON), _band("a", since=NOON, rate_input=7 * PICO_RATE)),
        None,  # exact by hour only
    ),
    "tiered at 1,000 input tokens": (
        _table(_band("a", upto=1_000), _band("a", above=1_000, rate_output=30 * PICO_RATE)),
        False,  # sizes of both tiers in every group
    ),
    "a daily window": (
        _table(_band("a", day_from_us=0, day_to_us=8 * 3600 * 10**6), _band("b")),
        False,
    ),
    "a fraction of a pico-dollar": (_table(_band("a", rate_input=2_500_001)), False),
    "a band without rates": (
        _table(_band("a", **{f"rate_{k}": None for k in ("input", "output", "request")})),
        None,  # rate_input null: priced as unpriced, if the other rates are whole
    ),
    "a price per request": (_table(_band("a", rate_request=2 * 10**9), _band("b")), True),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("by", "every", "step"), GROUPINGS)
def test_aggregated_equals_per_span_or_declines(
    case: str, by: list[str], every: str | None, step: str
) -> None:
    prices, exact = CASES[case]
    models: list[tuple[str | None, str]] = [("p", "a"), ("p", "b"), ("p", "c"), (None, "a")]
    frame = canonical_spans(_rows(7, 600, models)).lazy()
    fast, slow = _both(frame, prices, by, every, step)
    if exact is True:
        assert fast is not None
    if exact is False:
        assert fast is None
    if fast is not None:
        _same(fast, slow)


def test_bands_are_applied_per_group_where_each_lies_in_one() -> None:
    """A price change at midnight: by day and by hour the groups are priced after summing."""
    prices, _ = CASES["dated at midnight"]
    frame = canonical_spans(_rows(3, 400, [("p", "a")])).lazy()
    for by, every, step in [(["model"], "day", "day"), ([], None, "hour")]:
        fast, slow = _both(frame, prices, by, every, step)
        assert fast is not None
        _same(fast, slow)
    fast, _ = _both(frame, CASES["dated at noon"][0], ["model"], "day", "day")
    assert fast is None  # each day's spans straddle noon
    fast, slow = _both(frame, CASES["dated at noon"][0], [], None, "hour")
    assert fast is not None
    _same(fast, slow)


def test_real_prices_of_24_models() -> None:
    """genai-prices' own tables (tiers at 200k, dated changes, off-peak windows)."""
    frame = canonical_spans(_spans(5, 24 * 30)).lazy()
    pairs = [(p, m) for p, m in model_pairs(frame).collect().iter_rows()]
    prices = price_table([resolve(p, m) for p, m in pairs])
    fast, _ = _both(frame, prices, ["model"], "day", "day")
    assert fast is None  # deepseek-chat's off-peak window
    whole = [m for m in MODELS if m[1] in ("gpt-4o", "gpt-4o-mini", "o3-mini", "grok-3")]
    rows = [r for r in _spans(5, 24 * 30) if (r["provider"], r["model"]) in whole]
    frame = canonical_spans(rows).lazy()
    for by, every, step in GROUPINGS:
        fast, slow = _both(frame, prices, by, every, step)
        assert fast is not None
        _same(fast, slow)


def test_the_store_path_falls_back_per_window(tmp_path: Path) -> None:
    """query.spend: the aggregated path, a window with a call reported twice, --where."""
    rows = _rows(11, 300, [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("x", "unknown")])
    twice = {"trace_id": "dup", "ai_kind": "llm", "provider": "openai", "model": "gpt-4o"}
    usage = {"input_tokens": 16, "output_tokens": 12}
    start = T0 + timedelta(days=1, hours=3)
    rows += [
        {**twice, **usage, "span_id": "outer", "start_time": start, "ms": 100,
         "scope_name": "openinference.instrumentation.langchain"},
        {**twice, **usage, "span_id": "inner", "parent_span_id": "outer",
         "start_time": start + timedelta(milliseconds=10), "ms": 50,
         "scope_name": "openinference.instrumentation.openai"},
    ]  # fmt: skip
    commit_spans(tmp_path, canonical_spans(rows), "a" * 64)
    now = T0 + timedelta(days=2)
    day_one = current_window(T0.isoformat(), (T0 + timedelta(days=1)).isoformat(), now)
    day_two = current_window((T0 + timedelta(days=1)).isoformat(), now.isoformat(), now)
    windows = [(day_two, "day"), (day_one, None)]  # the call reported twice is on day two
    for where in (None, "model:gpt-4o*"):
        for by in (["model"], ["user"], []):
            got = store_spend_parts(tmp_path, windows, by, "hour", where, now)
            reference = _reference(tmp_path, windows, by, where, now)
            assert len(got) == 2
            for mine, theirs in zip(got, reference, strict=True):
                _same(mine, theirs)
    requests = store_spend_parts(tmp_path, windows, ["model"], "hour", None, now)[0]
    gpt4o = requests.filter(pl.col("model") == "gpt-4o").get_column("requests").sum()
    plain = sum(
        1 for r in rows[:300] if r["model"] == "gpt-4o" and r["start_time"] >= day_two.start
        and (r["ai_kind"] in ("llm", "embedding") or (r["ai_kind"] is None
             and (r["input_tokens"] is not None or r["output_tokens"] is not None)))
    )  # fmt: skip
    assert gpt4o == plain + 1  # the call reported twice counts once


def _reference(
    root: Path, windows: list[Any], by: list[str], where: str | None, now: datetime
) -> list[pl.DataFrame]:
    from pyflare_cli.query.spans import SpanQuery, select_spans

    out = []
    for window, every in windows:
        chosen = select_spans(root, SpanQuery(*window.query_bounds, where), now)
        out.append(spend_parts(chosen.window, by, every, chosen.where, "hour").collect())
    return out
