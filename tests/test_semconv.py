"""Every convention's names give the same canonical columns; the newest name wins.

Each case builds one small OTLP request inline with the attribute names one convention
uses, decodes it for real, and compares the canonical columns with :data:`EXPECTED`
(``overrides`` holds what a convention cannot express, or expresses differently).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyflare_cli import semconv
from pyflare_cli.schema import AI_KINDS, COLUMNS, POLARS_SCHEMA

EXPECTED: dict[str, Any] = {
    "ai_kind": "llm",
    "provider": "openai",
    "model": "gpt-4o-2024-08-06",
    "request_model": "gpt-4o",
    "input_tokens": 1200,
    "output_tokens": 300,
    "total_tokens": 1500,
    "cache_read_tokens": 1000,
    "cache_write_tokens": 100,
    "reasoning_tokens": 50,
    "user_id": "user-7",
    "session_id": "sess-9",
    "input_text": "Where is my order?",
    "output_text": "It ships tomorrow.",
    "finish_reason": "stop",
}

GENAI_MESSAGES_IN = '[{"role":"user","parts":[{"type":"text","content":"Where is my order?"}]}]'
GENAI_MESSAGES_OUT = (
    '[{"role":"assistant","parts":[{"type":"text","content":"It ships tomorrow."}],'
    '"finish_reason":"stop"}]'
)

CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    semconv.GENAI: (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.output_tokens": 300,
            "gen_ai.usage.cache_read.input_tokens": 1000,
            "gen_ai.usage.cache_creation.input_tokens": 100,
            "gen_ai.usage.reasoning.output_tokens": 50,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.conversation.id": "sess-9",
            "user.id": "user-7",
            "gen_ai.input.messages": GENAI_MESSAGES_IN,
            "gen_ai.output.messages": GENAI_MESSAGES_OUT,
        },
        # Structured messages: the text columns hold their words, attributes the JSON.
        {},
    ),
    semconv.GENAI_OLD: (
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "OpenAI",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.prompt_tokens": 1200,
            "gen_ai.usage.completion_tokens": 300,
            "gen_ai.usage.cache_read_input_tokens": 1000,
            "gen_ai.usage.cache_creation_input_tokens": 100,
            "gen_ai.usage.reasoning_tokens": 50,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.conversation.id": "sess-9",
            "enduser.id": "user-7",
            "gen_ai.prompt": "Where is my order?",
            "gen_ai.completion": "It ships tomorrow.",
        },
        {},
    ),
    semconv.OPENINFERENCE: (
        {
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.system": "azure",  # older and less specific: llm.provider wins
            "llm.model_name": "gpt-4o-2024-08-06",
            "llm.invocation_parameters": json.dumps({"model": "gpt-4o", "temperature": 0}),
            "llm.token_count.prompt": 1200,
            "llm.token_count.completion": 300,
            "llm.token_count.total": 1500,
            "llm.token_count.prompt_details.cache_read": 1000,
            "llm.token_count.prompt_details.cache_write": 100,
            "llm.token_count.completion_details.reasoning": 50,
            "llm.output_messages.0.message.finish_reason": "stop",
            "llm.output_messages.0.message.content": "It ships tomorrow.",
            "llm.input_messages.1.message.content": "Where is my order?",
            "llm.input_messages.0.message.content": "You are a support agent.",
            "llm.input_messages.0.message.role": "system",
            "input.value": "raw input",  # the messages come first
            "session.id": "sess-9",
            "user.id": "user-7",
        },
        # Indexed messages are joined in index order.
        {"input_text": "You are a support agent.\nWhere is my order?"},
    ),
    semconv.OPENLLMETRY: (
        {
            "llm.request.type": "chat",
            "llm.vendor": "OpenAI",
            "llm.request.model": "gpt-4o",
            "llm.response.model": "gpt-4o-2024-08-06",
            "llm.usage.prompt_tokens": 1200,
            "llm.usage.completion_tokens": 300,
            "llm.usage.total_tokens": 1500,
            "llm.usage.cache_read_input_tokens": 1000,
            "llm.usage.cache_creation_input_tokens": 100,
            "llm.usage.reasoning_tokens": 50,
            "gen_ai.completion.0.finish_reason": "stop",
            "gen_ai.prompt.0.content": "Where is my order?",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.completion.0.content": "It ships tomorrow.",
            "traceloop.association.properties.session_id": "sess-9",
            "traceloop.association.properties.user_id": "user-7",
        },
        {},
    ),
    semconv.LANGFUSE: (
        {
            "langfuse.observation.type": "generation",
            "langfuse.observation.model.name": "gpt-4o-2024-08-06",
            "langfuse.observation.usage_details": json.dumps(
                {
                    "input": 1200,
                    "output": 300,
                    "total": 1500,
                    "cache_read_input_tokens": 1000,
                    "cache_creation_input_tokens": 100,
                    "reasoning_tokens": 50,
                }
            ),
            "langfuse.observation.cost_details": json.dumps({"total": 0.0042}),
            "langfuse.user.id": "user-7",
            "langfuse.session.id": "sess-9",
            "langfuse.observation.input": "Where is my order?",
            "langfuse.observation.output": "It ships tomorrow.",
        },
        # Langfuse names no provider, request model or finish reason.
        {
            "provider": None,
            "request_model": None,
            "finish_reason": None,
            "reported_cost_usd": 0.0042,
        },
    ),
}


@pytest.mark.parametrize("convention", list(CASES))
def test_llm_span_of_each_convention(otlp: Any, convention: str) -> None:
    attributes, overrides = CASES[convention]
    row = otlp.one(attributes)
    expected = EXPECTED | overrides
    assert {column: row[column] for column in expected} == expected
    # Promoted columns are copies: every original attribute is still there.
    assert set(row["attributes"]) == set(attributes)


def test_deprecated_prompt_and_completion_events(otlp: Any) -> None:
    events = [
        ("gen_ai.content.prompt", 1, {"gen_ai.prompt": "Where is my order?"}),
        ("gen_ai.content.completion", 2, {"gen_ai.completion": "It ships tomorrow."}),
    ]
    row = otlp.one({"gen_ai.system": "openai"}, events=events)
    assert (row["input_text"], row["output_text"]) == ("Where is my order?", "It ships tomorrow.")


TOOL_AND_AGENT: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    semconv.GENAI: (
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_order"},
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"},
    ),
    semconv.OPENINFERENCE: (
        {"openinference.span.kind": "TOOL", "tool.name": "get_order"},
        {"openinference.span.kind": "AGENT", "agent.name": "support"},
    ),
    semconv.OPENLLMETRY: (
        {"traceloop.span.kind": "tool", "traceloop.tool.name": "get_order"},
        {"traceloop.span.kind": "agent", "traceloop.agent.name": "support"},
    ),
}


@pytest.mark.parametrize("convention", list(TOOL_AND_AGENT))
def test_tool_and_agent_spans(otlp: Any, convention: str) -> None:
    tool_attributes, agent_attributes = TOOL_AND_AGENT[convention]
    tool, agent = otlp.one(tool_attributes), otlp.one(agent_attributes)
    assert (tool["ai_kind"], tool["tool_name"], tool["agent_name"]) == ("tool", "get_order", None)
    assert (agent["ai_kind"], agent["agent_name"], agent["tool_name"]) == (
        "agent",
        "support",
        None,
    )


@pytest.mark.parametrize(
    ("kind", "ai_kind"),
    [
        ("tool", "tool"),
        ("agent", "agent"),
        ("span", "chain"),
        ("event", None),
        ("retriever", "retriever"),
    ],
)
def test_langfuse_observation_types(otlp: Any, kind: str, ai_kind: str | None) -> None:
    assert otlp.one({"langfuse.observation.type": kind})["ai_kind"] == ai_kind


@pytest.mark.parametrize(
    ("column", "newer", "older"),
    [
        ("provider", ("gen_ai.provider.name", "anthropic"), ("gen_ai.system", "openai")),
        ("input_tokens", ("gen_ai.usage.input_tokens", 10), ("gen_ai.usage.prompt_tokens", 99)),
        (
            "output_tokens",
            ("gen_ai.usage.output_tokens", 10),
            ("gen_ai.usage.completion_tokens", 99),
        ),
        (
            "cache_read_tokens",
            ("gen_ai.usage.cache_read.input_tokens", 10),
            ("gen_ai.usage.cache_read_input_tokens", 99),
        ),
        (
            "reasoning_tokens",
            ("gen_ai.usage.reasoning.output_tokens", 10),
            ("gen_ai.usage.reasoning_tokens", 99),
        ),
        ("input_text", ("gen_ai.input.messages", "[]"), ("gen_ai.prompt", "old")),
        ("model", ("gen_ai.response.model", "new"), ("llm.model_name", "old")),
        ("session_id", ("session.id", "new"), ("gen_ai.conversation.id", "old")),
        ("input_tokens", ("llm.token_count.prompt", 10), ("llm.usage.prompt_tokens", 99)),
        ("error_type", ("error.type", "new"), ("exception.type", "old")),
    ],
)
def test_newest_name_wins(
    otlp: Any, column: str, newer: tuple[str, Any], older: tuple[str, Any]
) -> None:
    expected = otlp.one(dict([newer]))[column]
    assert expected is not None
    # Whatever the order the attributes come in.
    assert otlp.one(dict([older, newer]))[column] == expected
    assert otlp.one(dict([newer, older]))[column] == expected
    assert otlp.one(dict([older]))[column] != expected


def test_priority_is_per_span(otlp: Any) -> None:
    spans = otlp.canonical(
        otlp.request(
            otlp.span("0000000000000001", attributes={"gen_ai.system": "openai"}),
            otlp.span(
                "0000000000000002",
                attributes={"gen_ai.system": "openai", "gen_ai.provider.name": "aws.bedrock"},
            ),
        )
    )
    assert spans["provider"].to_list() == ["openai", "aws.bedrock"]


# The table itself.


def test_every_rule_feeds_a_canonical_column() -> None:
    for rule in semconv.RULES:
        assert rule.column in COLUMNS or rule.column in semconv.HELPER_COLUMNS, rule
        assert rule.convention in semconv.CONVENTIONS, rule
        transform = rule.transform or ""
        if transform.startswith("map:"):
            assert transform[4:] in semconv.VALUE_MAPS, rule
        else:
            assert transform in ("", "lower", "first", "text", "unquote") or transform.startswith(
                ("json:", "jsonpath:", "sum:")
            ), rule


def test_rules_are_unique_and_ordered_by_column() -> None:
    keys = [(r.column, r.key, r.transform) for r in semconv.RULES]
    assert len(keys) == len(set(keys))
    for column in semconv.PROMOTED_COLUMNS:
        rules = semconv.rules_for(column)
        assert rules and all(r.column == column for r in rules)


def test_mapped_values_are_canonical_ai_kinds() -> None:
    for table in semconv.VALUE_MAPS.values():
        assert set(table.values()) <= set(AI_KINDS)


def test_numeric_columns_have_numeric_types() -> None:
    for column in semconv.INT_COLUMNS:
        assert POLARS_SCHEMA[column] == POLARS_SCHEMA["input_tokens"]
    for column in semconv.FLOAT_COLUMNS:
        assert POLARS_SCHEMA[column] == POLARS_SCHEMA["reported_cost_usd"]


def test_text_source_keys() -> None:
    keys = semconv.text_source_keys()
    assert "llm.input_messages.{n}.message.content" in keys
    assert "gen_ai.input.messages" in keys and "langfuse.observation.output" in keys
    assert not any(":" in key for key in keys)
    assert "gen_ai.usage.input_tokens" not in keys
