"""The common span loading of commands: time bounds, --where, prices and their cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pyflare_cli.query.spans import PRICE_CACHE, SpanQuery, list_traces, load_spans, priced

NOW = datetime(2025, 11, 21, tzinfo=UTC)


def _llm_spans() -> pl.LazyFrame:
    return pl.DataFrame(
        {
            "provider": ["openai"],
            "model": ["gpt-4o"],
            "input_tokens": [1_000_000],
            "output_tokens": [0],
            "cache_read_tokens": [None],
            "cache_write_tokens": [None],
            "reasoning_tokens": [None],
            "reported_cost_usd": [None],
            "start_time": [NOW],
        },
        schema_overrides={
            "cache_read_tokens": pl.Int64,
            "cache_write_tokens": pl.Int64,
            "reasoning_tokens": pl.Int64,
            "reported_cost_usd": pl.Float64,
            "start_time": pl.Datetime("ns", "UTC"),
        },
    ).lazy()


def test_prices_are_cached_under_the_store(tmp_path: Path) -> None:
    first = priced(_llm_spans(), tmp_path).collect().item(0, "cost_usd")
    assert first == pytest.approx(2.5)
    cache_file = tmp_path / PRICE_CACHE
    data = json.loads(cache_file.read_text())
    assert data["rates"][0][:2] == ["openai", "gpt-4o"]
    data["rates"][0][2][0] = [9_000_000, 10_000_000, 1_000_000, 1_000_000, 10_000_000]
    cache_file.write_text(json.dumps(data))
    assert priced(_llm_spans(), tmp_path).collect().item(0, "cost_usd") == pytest.approx(9.0)
    data["version"] = "0.0.0-other"
    cache_file.write_text(json.dumps(data))
    assert priced(_llm_spans(), tmp_path).collect().item(0, "cost_usd") == pytest.approx(2.5)


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / PRICE_CACHE).parent.mkdir(parents=True)
    (tmp_path / PRICE_CACHE).write_text("{not json")
    assert priced(_llm_spans(), tmp_path).collect().item(0, "cost_usd") == pytest.approx(2.5)


def test_load_spans_and_list_traces_on_fixture_store(tmp_path: Path) -> None:
    from pyflare_cli.ingest.pipeline import Ingestor

    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "otlp"
    ingestor = Ingestor(tmp_path)
    try:
        ingestor.ingest([str(fixtures / "trace.json")])
    finally:
        ingestor.close()
    everything = load_spans(tmp_path, SpanQuery(), NOW).collect()
    assert everything.height == 4 and "cost_usd" in everything.columns
    errors = load_spans(tmp_path, SpanQuery(where="status:error"), NOW).collect()
    assert errors.height == 4  # whole traces are kept
    none = load_spans(tmp_path, SpanQuery(since="1h"), NOW).collect()
    assert none.height == 0
    listed = list_traces(load_spans(tmp_path, SpanQuery(), NOW), "duration", 5)
    assert listed.get_column("root_name").to_list() == ["POST /chat"]
    assert listed.get_column("models").to_list() == [["gpt-4o-2024-08-06"]]
