"""End to end: an app traced with the SDK, read back by the CLI from a file and a receiver.

The app is ``examples/multi_model_pipeline.py`` (OpenAI embeddings and a streamed chat,
Claude with tool use and a cached prompt, a self-hosted reranker, spans from a thread pool)
against the fake APIs: two requests, by users alice and bob.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import multi_model_pipeline
import polars as pl
import pytest
from cli_support import invoke
from receiver_support import Running

from pyflare_cli.receiver.server import ReceiverConfig
from pyflare_cli.store.scan import scan_spans

SPANS_PER_REQUEST = 11


def cli(*args: str) -> Any:
    """``pyflare ARGS --format json`` at the real current time, parsed."""
    now = datetime.now(UTC).isoformat()
    result = invoke(*args, "--format", "json", env={"PYFLARE_NOW": now})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def price(model: str, provider: str, store: Path) -> dict[str, float]:
    (row,) = cli("cost", "prices", model, "--provider", provider, "--store", str(store))
    return dict(row)


def check_store(store: Path) -> None:
    spans = scan_spans(store).collect()
    assert spans.height == 2 * SPANS_PER_REQUEST
    traces = cli("traces", "--store", str(store))
    assert [t["root_name"] for t in traces] == ["answer_request"] * 2
    assert [t["spans"] for t in traces] == [SPANS_PER_REQUEST] * 2
    assert all(t["errors"] == 0 for t in traces)
    for trace in traces:
        assert trace["models"] == [
            "claude-haiku-4-5",
            "gpt-4o",
            "local-cross-encoder",
            "text-embedding-3-small",
        ]
        mine = spans.filter(pl.col("trace_id") == trace["trace_id"])
        assert trace["input_tokens"] == mine.get_column("input_tokens").sum()
        assert trace["output_tokens"] == mine.get_column("output_tokens").sum()
        assert mine.get_column("service_name").unique().to_list() == ["support-pipeline"]
        assert mine.get_column("service_version").unique().to_list() == ["1.4.0"]
        assert mine.get_column("environment").unique().to_list() == ["dev"]

    by_user = {
        row["user"]: row for row in cli("cost", "--by", "user", "--store", str(store))["rows"]
    }
    assert set(by_user) == {"alice", "bob"}
    # Requests are LLM and embedding calls (docs/cost.md): two Claude calls, one GPT-4o call
    # and one embedding per user; the local reranker's span is not a model request.
    assert all(row["requests"] == 4 and row["cost_usd"] > 0 for row in by_user.values())

    report = cli("cost", "--by", "model", "--store", str(store))
    by_model = {row["model"]: row for row in report["rows"]}
    assert {m: r["requests"] for m, r in by_model.items()} == {
        "claude-haiku-4-5": 4,
        "gpt-4o": 2,
        "text-embedding-3-small": 2,
    }
    assert [u["model"] for u in report["unpriced"]] == ["local-cross-encoder"]
    # Each priced model costs exactly its tokens at its prices; Claude's cached prompt is
    # priced at the cache-read rate, the rest of its input at the input rate.
    for model, provider in (("gpt-4o", "openai"), ("claude-haiku-4-5", "anthropic")):
        row, rates = by_model[model], price(model, provider, store)
        cached = row["cached_tokens"]
        expected = (
            (row["input_tokens"] - cached) * rates["input_per_m"]
            + cached * rates["cache_read_per_m"]
            + row["output_tokens"] * rates["output_per_m"]
        ) / 1e6
        assert row["cost_usd"] == pytest.approx(expected, abs=2e-6)
    assert by_model["claude-haiku-4-5"]["cached_tokens"] > 0
    assert by_model["gpt-4o"]["output_tokens"] > 0  # streamed, yet its usage is there


def test_into_a_json_lines_file_then_ingest(tmp_path: Path) -> None:
    traces = tmp_path / "traces.jsonl"
    multi_model_pipeline.main(export=f"file://{traces}")
    store = tmp_path / "store"
    assert invoke("ingest", str(traces), "--store", str(store)).exit_code == 0
    check_store(store)
    spans = scan_spans(store).collect()
    alice = spans.filter(pl.col("user_id") == "alice")
    assert alice.height == SPANS_PER_REQUEST  # every span of her request is stamped
    assert set(alice.get_column("session_id").to_list()) == {"s-alice"}
    scores = spans.filter(pl.col("name") == "score")
    parents = spans.filter(pl.col("name") == "rerank local-cross-encoder")
    assert set(scores.get_column("parent_span_id")) == set(parents.get_column("span_id"))


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_into_a_running_receiver(tmp_path: Path, protocol: str) -> None:
    running = Running(
        ReceiverConfig(
            root=tmp_path / "store",
            http="127.0.0.1:0",
            grpc="127.0.0.1:0",
            flush_interval=0.1,
            workers=1,
        )
    )
    try:
        endpoint = running.http_url if protocol == "http" else running.grpc_target
        multi_model_pipeline.main(export=protocol, endpoint=endpoint)
        stored = running.stored(at_least=2 * SPANS_PER_REQUEST)
        assert stored.height == 2 * SPANS_PER_REQUEST
    finally:
        running.stop()
    check_store(running.root)
