"""The convention rows added for what real instrumentors write (Langfuse v3, OpenInference,
OTel GenAI), each case shaped like the span that library emits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyflare_cli.ingest.redaction import RedactionConfig, redact
from pyflare_cli.sources.messages import readable

OPENAI_USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 300,
    "total_tokens": 1500,
    "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 50, "audio_tokens": 0},
}


def test_langfuse_openai_generation(otlp: Any) -> None:
    # What langfuse.openai (SDK v3) sets on a chat completion's generation span.
    row = otlp.one(
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "gpt-4o-mini-2024-07-18",
            "langfuse.observation.usage_details": json.dumps(OPENAI_USAGE),
            "langfuse.observation.cost_details": json.dumps({"input": 0.0018, "output": 0.0018}),
            "langfuse.observation.input": json.dumps(
                [
                    {"role": "system", "content": "You are terse."},
                    {"role": "user", "content": "Where is my order?"},
                ]
            ),
            "langfuse.observation.output": json.dumps(
                {"role": "assistant", "content": "It ships tomorrow."}
            ),
            "langfuse.observation.metadata.agent_name": "support",
            "user.id": "user-7",
            "session.id": "sess-9",
        }
    )
    assert row["ai_kind"] == "llm"
    assert row["model"] == "gpt-4o-mini-2024-07-18"
    tokens = [row[c] for c in ("input_tokens", "output_tokens", "total_tokens")]
    assert tokens == [1200, 300, 1500]
    assert (row["cache_read_tokens"], row["reasoning_tokens"]) == (1000, 50)
    assert row["reported_cost_usd"] == pytest.approx(0.0036)
    assert row["input_text"] == "You are terse.\nWhere is my order?"
    assert row["output_text"] == "It ships tomorrow."
    assert (row["user_id"], row["session_id"], row["agent_name"]) == ("user-7", "sess-9", "support")
    assert row["status_code"] == "unset"


def test_langfuse_anthropic_usage_keys(otlp: Any) -> None:
    usage = {
        "input_tokens": 20,
        "output_tokens": 7,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 100,
    }
    row = otlp.one(
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.usage_details": json.dumps(usage),
        }
    )
    # Anthropic's input_tokens leaves the cache out; GenAI's input (and pricing) counts it.
    assert [row["input_tokens"], row["output_tokens"], row["total_tokens"]] == [1120, 7, 1127]
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (1000, 100)


@pytest.mark.parametrize(
    ("usage", "tokens"),
    [
        # Langfuse's own keys (what its API and UI show): disjoint, the total is their sum.
        ({"input": 200, "input_cached_tokens": 800, "output": 50, "total": 1050}, (1000, 800)),
        ({"input": 200, "input_cache_read": 800, "output": 50}, (1000, 800)),
        ({"input": 200, "output": 50}, (200, None)),
        # LangChain's usage_metadata: input_tokens already holds the cache reads.
        (
            {"input_tokens": 1000, "output_tokens": 50, "input_token_details": {"cache_read": 800}},
            (1000, 800),
        ),
    ],
)
def test_langfuse_input_tokens_include_the_cache(
    otlp: Any, usage: dict[str, Any], tokens: tuple[int, int | None]
) -> None:
    row = otlp.one(
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.usage_details": json.dumps(usage),
        }
    )
    assert (row["input_tokens"], row["cache_read_tokens"]) == tokens
    assert row["output_tokens"] == 50


@pytest.mark.parametrize(("value", "text"), [('"support"', "support"), ("support", "support")])
def test_langfuse_metadata_values_are_json_encoded(otlp: Any, value: str, text: str) -> None:
    # Langfuse SDK v3+ writes metadata values as JSON: a string arrives quoted.
    row = otlp.one(
        {
            "langfuse.observation.type": "generation",
            "langfuse.trace.metadata.agent_name": value,
            "langfuse.observation.metadata.finish_reason": '"stop"',
        }
    )
    assert (row["agent_name"], row["finish_reason"]) == (text, "stop")


@pytest.mark.parametrize(("level", "status"), [("ERROR", "error"), ("WARNING", "unset")])
def test_langfuse_level(otlp: Any, level: str, status: str) -> None:
    row = otlp.one(
        {
            "langfuse.observation.type": "span",
            "langfuse.observation.level": level,
            "langfuse.observation.status_message": "tool timed out",
        }
    )
    assert (row["ai_kind"], row["status_code"]) == ("chain", status)
    assert row["error_message"] == "tool timed out"


@pytest.mark.parametrize(
    ("kind", "ai_kind"),
    [
        ("PROMPT", "prompt"),
        ("UNKNOWN", None),
        ("RERANKER", "reranker"),
        ("GUARDRAIL", "guardrail"),
        ("EVALUATOR", "evaluator"),
    ],
)
def test_openinference_span_kinds(otlp: Any, kind: str, ai_kind: str | None) -> None:
    assert otlp.one({"openinference.span.kind": kind})["ai_kind"] == ai_kind


def test_openinference_models_and_finish_reason(otlp: Any) -> None:
    row = otlp.one(
        {
            "openinference.span.kind": "LLM",
            "llm.request.model_name": "gpt-4o",
            "llm.response.model_name": "gpt-4o-2024-08-06",
            "llm.finish_reason": "length",
        }
    )
    assert (row["request_model"], row["model"], row["finish_reason"]) == (
        "gpt-4o",
        "gpt-4o-2024-08-06",
        "length",
    )
    embedding = otlp.one(
        {
            "openinference.span.kind": "EMBEDDING",
            "embedding.invocation_parameters": json.dumps({"model": "text-embedding-3-small"}),
        }
    )
    assert (embedding["ai_kind"], embedding["model"]) == ("embedding", "text-embedding-3-small")
    reranker = otlp.one(
        {"openinference.span.kind": "RERANKER", "reranker.model_name": "rerank-english-v3.0"}
    )
    assert reranker["model"] == "rerank-english-v3.0"


def test_openinference_multimodal_contents_in_order(otlp: Any) -> None:
    prefix = "llm.input_messages"
    row = otlp.one(
        {
            f"{prefix}.1.message.contents.1.message_content.text": "and this one?",
            f"{prefix}.0.message.contents.0.message_content.text": "Be brief.",
            f"{prefix}.1.message.contents.0.message_content.text": "What is in this image",
            f"{prefix}.1.message.contents.2.message_content.type": "image",
            f"{prefix}.10.message.contents.0.message_content.text": "last",
        }
    )
    assert row["input_text"] == "Be brief.\nWhat is in this image\nand this one?\nlast"


def test_genai_retrieval_tool_and_system_instructions(otlp: Any) -> None:
    retrieval = otlp.one(
        {"gen_ai.operation.name": "retrieval", "gen_ai.retrieval.query.text": "refund policy"}
    )
    assert (retrieval["ai_kind"], retrieval["input_text"]) == ("retriever", "refund policy")
    tool = otlp.one(
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "get_order",
            "gen_ai.tool.call.arguments": '{"order_id": 42}',
            "gen_ai.tool.call.result": '{"status": "shipped"}',
        }
    )
    assert tool["input_text"] == '{"order_id": 42}'
    assert tool["output_text"] == '{"status": "shipped"}'
    chat = otlp.one(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system_instructions": '[{"type": "text", "content": "You are terse."}]',
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [
                            {"type": "tool_call", "name": "get_order", "arguments": {"id": 1}}
                        ],
                        "finish_reason": "tool_call",
                    }
                ]
            ),
        }
    )
    assert chat["input_text"] == "You are terse.\nHi"
    assert chat["finish_reason"] == "tool_call"
    # A tool call reads as name(arguments); the structured messages stay in attributes.
    assert chat["output_text"] == 'get_order({"id":1})'


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain words", "plain words"),
        ('"a JSON string"', "a JSON string"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "hi"),
        ('[{"type": "image_url", "image_url": {"url": "x"}}]', '[{"type": "image_url", '),
        ('{"unrelated": 1}', '{"unrelated": 1}'),
        ("[" * 10_000, "[" * 10_000),
        ("[" * 5000 + "]" * 5000, "[" * 5000 + "]" * 5000),
    ],
)
def test_readable_text(value: str, text: str) -> None:
    assert readable(value).startswith(text)


def test_redaction_reaches_twice_indexed_keys(otlp: Any) -> None:
    key = "llm.input_messages.0.message.contents.1.message_content.text"
    spans = otlp.canonical(otlp.request(otlp.span(attributes={key: "mail jane@example.com"})))
    config = RedactionConfig(modes={"email": "mask"})
    out = redact(spans, config).row(0, named=True)
    assert "jane@example.com" not in out["input_text"]
    assert "jane@example.com" not in out["attributes"][key]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # OpenAI's assistant message (Langfuse's output), its whole response (OpenInference's
        # output.value), GenAI's tool_call part, the Responses API's function_call item.
        (
            '{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type":'
            ' "function", "function": {"name": "get_order", "arguments": "{\\"id\\": 1}"}}]}',
            'get_order({"id": 1})',
        ),
        (
            '{"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content":'
            ' "Checking.", "tool_calls": [{"function": {"name": "a", "arguments": "{}"}}]}}]}',
            "Checking.\na({})",
        ),
        ('[{"type": "tool_call", "name": "b", "arguments": {"x": [1]}}]', 'b({"x":[1]})'),
        ('{"type": "function_call", "name": "c", "arguments": "{}"}', "c({})"),
        # A tool definition is not something the model said.
        (
            '[{"type": "function", "function": {"name": "get_order"}}]',
            '[{"type": "function", "function": {"name": "get_order"}}]',
        ),
    ],
)
def test_tool_calls_read_as_calls(value: str, text: str) -> None:
    assert readable(value) == text
