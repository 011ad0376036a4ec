"""Real instrumentors, the real ``openai`` client, the fake LLM server, a real receiver.

Each instrumentor (OTel's openai-v2, OpenInference OpenAI, OpenInference LangChain over
OpenInference OpenAI, OpenLLMetry, the Langfuse SDK's OpenAI wrapper) runs in its own
process (``drive.py``): they patch the same module. Each makes the same four calls (chat,
a stream with usage, a tool call, a 429) under an application span and exports over
OTLP/HTTP to a receiver on 127.0.0.1. The stored spans must carry what the client saw:
model, tokens, a price, finish reason, kind, error, and hang under the application span.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from genai_prices import Usage, calc_price

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "examples", ROOT / "tests" / "receiver"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from fake_llm import FakeLLMServer  # noqa: E402
from receiver_support import Running  # noqa: E402

from pyflare_cli.query.prices import priced  # noqa: E402
from pyflare_cli.receiver.server import ReceiverConfig  # noqa: E402
from pyflare_cli.sources.decoding import decode  # noqa: E402
from pyflare_cli.sources.opening import Format, sniff  # noqa: E402
from pyflare_cli.sources.tasks import split  # noqa: E402

DRIVER = Path(__file__).with_name("drive.py")
INSTRUMENTORS = ("openai-v2", "openinference", "openllmetry", "langchain", "langfuse")
CALLS = ("chat", "stream", "tool", "rate_limit")
LLM_SPANS_PER_CALL = {"langchain": 2}  # ChatOpenAI and, inside it, ChatCompletion
# What each instrumentor writes as the finish reason of the tool call (OpenLLMetry uses
# GenAI's "tool_call"), and of which calls it writes none (the Langfuse wrapper records
# the finish reason of streams only).
TOOL_FINISH = {"openllmetry": "tool_call"}
NO_FINISH = {"langfuse": {"chat", "tool"}}


@dataclass
class Run:
    spans: pl.DataFrame  # this instrumentor's stored spans, priced
    calls: dict[str, dict[str, Any]]  # what the client saw, by call
    collector_file: Path  # the same requests, framed as the Collector's format: proto


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    work = tmp_path_factory.mktemp("instrumentors")
    root = work / "store"
    config = ReceiverConfig(root=root, http="127.0.0.1:0", grpc=None, flush_interval=0.1, workers=1)
    receiver = Running(config)
    try:
        with FakeLLMServer() as fake:
            endpoint = f"{receiver.http_url}/v1/traces"

            def drive(name: str) -> subprocess.CompletedProcess[str]:
                collector_file = work / f"{name}.bin"
                return subprocess.run(
                    [sys.executable, str(DRIVER), name, fake.openai_url, endpoint, collector_file],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    cwd=ROOT,
                )

            with ThreadPoolExecutor(max_workers=len(INSTRUMENTORS)) as pool:
                done = dict(zip(INSTRUMENTORS, pool.map(drive, INSTRUMENTORS), strict=True))
        for name, result in done.items():
            assert result.returncode == 0, f"{name}: {result.stderr[-3000:]}"
        seen = {
            name: {c["call"]: c for c in map(json.loads, result.stdout.splitlines())}
            for name, result in done.items()
        }
        # Each driver flushed before exiting: the receiver acknowledged every span.
        expected = sum(len(CALLS) * (1 + LLM_SPANS_PER_CALL.get(n, 1)) for n in INSTRUMENTORS)
        stored = receiver.stored(at_least=expected, timeout=60)
        prices = priced(stored.lazy(), root).collect()
        yield {
            name: Run(
                prices.filter(pl.col("service_name") == f"inst-{name}"),
                seen[name],
                work / f"{name}.bin",
            )
            for name in INSTRUMENTORS
        }
    finally:
        receiver.stop()


def _price(model: str, input_tokens: int, output_tokens: int) -> float:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return float(calc_price(usage, model_ref=model, provider_id="openai").total_price)


def _app_span(run: Run, call: str) -> dict[str, Any]:
    rows = run.spans.filter(pl.col("span_id") == run.calls[call]["parent"]).to_dicts()
    assert len(rows) == 1, f"the application span of {call} is not stored once"
    return rows[0]


def _llm_chain(run: Run, call: str) -> list[dict[str, Any]]:
    """The spans under one call's application span, outermost first."""
    chain, parents = [], {run.calls[call]["parent"]}
    while parents:
        rows = run.spans.filter(pl.col("parent_span_id").is_in(parents)).sort("start_time")
        chain.extend(rows.to_dicts())
        parents = set(rows["span_id"])
    return chain


@pytest.mark.parametrize("name", INSTRUMENTORS)
def test_every_span_arrives_under_its_application_span(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    per_call = LLM_SPANS_PER_CALL.get(name, 1)
    assert run.spans.height == len(CALLS) * (1 + per_call)
    assert run.spans["span_id"].n_unique() == run.spans.height
    for call in CALLS:
        app = _app_span(run, call)
        assert app["parent_span_id"] is None
        chain = _llm_chain(run, call)
        assert len(chain) == per_call, f"{name} {call}: {[s['name'] for s in chain]}"
        assert {s["trace_id"] for s in chain} == {app["trace_id"]}
        assert {s["ai_kind"] for s in chain} == {"llm"}


@pytest.mark.parametrize("name", INSTRUMENTORS)
@pytest.mark.parametrize("call", ["chat", "stream", "tool"])
def test_model_tokens_cost_and_finish_reason_are_what_the_api_said(
    runs: dict[str, Run], name: str, call: str
) -> None:
    run = runs[name]
    seen = run.calls[call]
    price = _price(seen["model"], seen["input_tokens"], seen["output_tokens"])
    assert price > 0
    chain = _llm_chain(run, call)
    if len(chain) == 2:
        # LangChain's ChatOpenAI span and OpenAI's ChatCompletion inside it report the same
        # call: the outer one is the duplicate, so totals count the call once.
        outer, inner = chain
        assert (outer["name"], inner["name"]) == ("ChatOpenAI", "ChatCompletion")
        assert outer["cost_source"] == "duplicate" and outer["cost_usd"] == 0
        assert outer["input_tokens"] is None and outer["output_tokens"] is None
        assert outer["model"] == seen["model"], name
        chain = [inner]
    assert sum(s["cost_usd"] for s in _llm_chain(run, call)) == pytest.approx(price, rel=1e-9)
    for span in chain:
        where = f"{name} {call} {span['name']}"
        assert span["cost_source"] == "price", where
        assert span["model"] == seen["model"], where
        assert span["provider"] in ("openai", None), where
        assert span["input_tokens"] == seen["input_tokens"], where
        assert span["output_tokens"] == seen["output_tokens"], where
        assert span["total_tokens"] == seen["input_tokens"] + seen["output_tokens"], where
        assert span["cost_usd"] == pytest.approx(price, rel=1e-9), where
        assert span["status_code"] != "error", where
        if call in NO_FINISH.get(name, set()):
            assert span["finish_reason"] is None, where
        elif call == "tool":
            assert span["finish_reason"] == TOOL_FINISH.get(name, seen["finish_reason"]), where
        else:
            assert span["finish_reason"] == seen["finish_reason"] == "stop", where


@pytest.mark.parametrize("name", INSTRUMENTORS)
def test_readable_prompt_and_answer(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    chat = _llm_chain(run, "chat")[-1]
    assert "What is the capital of France?" in chat["input_text"]
    assert not chat["input_text"].lstrip().startswith(("[", "{")), chat["input_text"]
    assert chat["output_text"].startswith("Here is a short answer to: What is the capital")
    stream = _llm_chain(run, "stream")[-1]
    assert stream["output_text"].startswith("Here is a short answer to: Stream me an answer")
    tool = _llm_chain(run, "tool")[-1]
    # A tool call reads as name(arguments), whatever JSON shape carried it.
    assert tool["output_text"].startswith('get_order({"order_id":'), tool["output_text"]
    assert '"ORD-42"})' in tool["output_text"]


@pytest.mark.parametrize("name", INSTRUMENTORS)
def test_a_429_is_an_error_span_with_no_tokens_and_no_cost(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    seen = run.calls["rate_limit"]
    assert seen["status"] == 429
    assert seen["error"].endswith("RateLimitError")  # LangChain's is OpenAIRateLimitError
    for span in _llm_chain(run, "rate_limit"):
        where = f"{name} {span['name']}"
        assert span["status_code"] == "error", where
        assert "429" in (span["error_message"] or ""), where
        assert span["input_tokens"] is None and span["output_tokens"] is None, where
        assert not span["cost_usd"], where
        if name != "langfuse":  # Langfuse writes a level and a status message only
            assert "RateLimitError" in (span["error_type"] or ""), where
    assert _app_span(run, "rate_limit")["status_code"] != "error"


def test_langfuse_trace_attributes_fill_user_session_and_agent(runs: dict[str, Run]) -> None:
    run = runs["langfuse"]
    llm = run.spans.filter(pl.col("ai_kind") == "llm")
    assert set(llm["user_id"]) == {"user-7"}
    assert set(llm["session_id"]) == {"session-3"}
    assert set(llm["agent_name"]) == {"support"}
    assert set(run.spans.filter(pl.col("ai_kind") != "llm")["ai_kind"]) == {"agent"}


@pytest.mark.parametrize("name", INSTRUMENTORS)
def test_the_collector_file_of_the_same_requests_gives_identical_rows(
    runs: dict[str, Run], name: str, tmp_path: Path
) -> None:
    run = runs[name]
    assert sniff(run.collector_file) is Format.COLLECTOR_FRAMED
    tasks = split(run.collector_file, Format.COLLECTOR_FRAMED, run.collector_file.name)
    decoded = [decode(task) for task in tasks]
    assert [letter for d in decoded for letter in d.dead] == []
    from_file = priced(pl.concat([d.spans for d in decoded]).lazy(), tmp_path).collect()
    # The receiver's rows went through Parquet: compare in its types, row by row.
    received = run.spans.sort("span_id")
    from_file = from_file.select(received.columns).cast(received.schema).sort("span_id")
    assert from_file.height == received.height > 0
    assert from_file.equals(received)


def _stats_requests(run: Run) -> pl.DataFrame:
    """``pyflare stats --by model``'s LLM-call rows of one run, with metrics' model calls."""
    from pyflare_cli.analysis.stats.figures import stats_table
    from pyflare_cli.analysis.stats.metrics import llm_calls
    from pyflare_cli.analysis.stats.units import unit_rows

    spans = run.spans.lazy()
    table = stats_table(unit_rows(spans, "llm", ["model"]), ["model"]).collect()
    assert table["requests"].sum() == llm_calls(spans).collect()["calls"].sum()
    return table


@pytest.mark.parametrize("name", INSTRUMENTORS)
def test_stats_count_each_call_once(runs: dict[str, Run], name: str) -> None:
    """Stats' LLM calls (and metrics' model calls) are one per call the client made, also
    when LangChain and OpenAI's instrumentor both report it, the failed call (a 429,
    without usage) included."""
    table = _stats_requests(runs[name])
    assert table["requests"].sum() == len(CALLS), table
    assert table["errors"].sum() == 1, table
    seen = runs[name].calls.values()
    assert table["input_tokens"].sum() == sum(c.get("input_tokens") or 0 for c in seen)


@pytest.mark.parametrize("name", INSTRUMENTORS)
def test_cost_counts_each_call_once_as_stats_does(runs: dict[str, Run], name: str) -> None:
    """``pyflare cost``'s requests (the report and the gate) are stats' LLM calls: the
    outer span of a call LangChain and OpenAI both report is not a request of its own."""
    from pyflare_cli.analysis.cost.gate import gate_facts
    from pyflare_cli.analysis.cost.report import cost_table

    spans = runs[name].spans.lazy()
    calls = _stats_requests(runs[name])["requests"].sum()
    assert gate_facts(spans, None).requests == calls
    table = cost_table(spans, ["model"]).collect()
    assert table["requests"].sum() == calls, table


def test_a_failed_langchain_call_is_one_request(runs: dict[str, Run]) -> None:
    """LangChain's ChatOpenAI and OpenAI's ChatCompletion of the 429 (no usage on either,
    siblings of two scopes, the same input text) are one failed request: the outer span
    is marked a duplicate, the inner one keeps the error."""
    spans = runs["langchain"].spans
    parent = runs["langchain"].calls["rate_limit"]["parent"]
    failed = spans.filter(pl.col("parent_span_id") == parent).sort("start_time")
    assert failed["name"].to_list() == ["ChatOpenAI", "ChatCompletion"]
    assert failed["status_code"].to_list() == ["error", "error"]
    assert failed["input_tokens"].null_count() == 2
    assert failed["cost_source"].to_list() == ["duplicate", None]
    table = _stats_requests(runs["langchain"])
    assert (table["requests"].sum(), table["errors"].sum()) == (len(CALLS), 1)
