"""The Anthropic integration against the real client and a local fake of the API."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import pytest
from fake_llm import FakeLLMServer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from pyflare.integrations.llm import ModelCall
from pyflare.processors import DuplicateFilter
from sdk_support import Recorded, attrs, is_child, json_attr

MODEL = "claude-haiku-4-5"
TOOLS: list[Any] = [
    {
        "name": "get_order_status",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    }
]
CACHED_SYSTEM: list[Any] = [
    {"type": "text", "text": "You help shoppers quickly", "cache_control": {"type": "ephemeral"}}
]


def client(fake: FakeLLMServer) -> anthropic.Anthropic:
    # No native spans in these tests: the client gets no tracer provider of its own.
    return anthropic.Anthropic(base_url=fake.anthropic_url, api_key="sk-ant-fake", max_retries=0)


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def test_message_with_cached_system_prompt(
    anthropic_traced: Recorded, fake_llm: FakeLLMServer
) -> None:
    message = client(fake_llm).messages.create(
        model=MODEL, max_tokens=64, system=CACHED_SYSTEM, messages=user("hi")
    )
    span = anthropic_traced.one(f"chat {MODEL}")
    a = attrs(span)
    usage = message.usage
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.max_tokens"] == 64
    assert a["gen_ai.response.finish_reasons"] == ("end_turn",)
    # GenAI input tokens include the cache: Anthropic's input_tokens do not.
    cache_read = usage.cache_read_input_tokens or 0
    assert cache_read > 0
    assert a["gen_ai.usage.input_tokens"] == usage.input_tokens + cache_read
    assert a["gen_ai.usage.cache_read.input_tokens"] == cache_read
    assert a["gen_ai.usage.cache_creation.input_tokens"] == 0
    assert a["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert json_attr(span, "gen_ai.system_instructions") == [
        {"type": "text", "content": "You help shoppers quickly"}
    ]
    assert json_attr(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    ]


def test_tool_use_and_tool_result(anthropic_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    c = client(fake_llm)
    reply = c.messages.create(
        model=MODEL, max_tokens=64, tools=TOOLS, messages=user("Where is A-7?")
    )
    tool_use = next(b for b in reply.content if b.type == "tool_use")
    chat = anthropic_traced.one(f"chat {MODEL}")
    tool = anthropic_traced.one("tool_call get_order_status")
    assert is_child(tool, chat)
    assert attrs(tool)["gen_ai.tool.call.id"] == tool_use.id
    assert attrs(chat)["gen_ai.response.finish_reasons"] == ("tool_use",)
    followup = [
        *user("Where is A-7?"),
        {"role": "assistant", "content": [b.model_dump() for b in reply.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "shipped"}],
        },
    ]
    c.messages.create(model=MODEL, max_tokens=64, messages=followup)
    second = anthropic_traced.named(f"chat {MODEL}")[1]
    last = json_attr(second, "gen_ai.input.messages")[-1]
    assert last["parts"] == [
        {"type": "tool_call_response", "id": tool_use.id, "response": "shipped"}
    ]


def test_stream_true_records_usage_at_the_end(
    anthropic_traced: Recorded, fake_llm: FakeLLMServer
) -> None:
    stream = client(fake_llm).messages.create(
        model=MODEL, max_tokens=64, tools=TOOLS, messages=user("Track A-9"), stream=True
    )
    assert anthropic_traced.spans == []
    events = list(stream)
    assert events[-1].type == "message_stop"
    span = anthropic_traced.one(f"chat {MODEL}")
    a = attrs(span)
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] == 12
    assert a["gen_ai.response.finish_reasons"] == ("tool_use",)
    (message,) = json_attr(span, "gen_ai.output.messages")
    assert message["parts"][1]["arguments"] == {"order_id": "A-9"}
    assert anthropic_traced.one("tool_call get_order_status")


def test_messages_stream_helper(anthropic_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    with client(fake_llm).messages.stream(
        model=MODEL, max_tokens=64, messages=user("stream please")
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    span = anthropic_traced.one(f"chat {MODEL}")
    assert attrs(span)["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert json_attr(span, "gen_ai.output.messages")[0]["parts"][0]["content"] == text


def test_async_create_stream_and_helper(
    anthropic_traced: Recorded, fake_llm: FakeLLMServer
) -> None:
    async def main() -> None:
        c = anthropic.AsyncAnthropic(
            base_url=fake_llm.anthropic_url, api_key="sk-ant-fake", max_retries=0
        )
        await c.messages.create(model=MODEL, max_tokens=64, messages=user("one"))
        stream = await c.messages.create(
            model=MODEL, max_tokens=64, messages=user("two"), stream=True
        )
        async for _ in stream:
            pass
        async with c.messages.stream(model=MODEL, max_tokens=64, messages=user("3")) as s:
            async for _ in s.text_stream:
                pass

    asyncio.run(main())
    spans = anthropic_traced.named(f"chat {MODEL}")
    assert len(spans) == 3
    assert all(attrs(s)["gen_ai.usage.output_tokens"] > 0 for s in spans)


def test_rate_limit(anthropic_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    with pytest.raises(anthropic.RateLimitError):
        client(fake_llm).messages.create(model=MODEL, max_tokens=64, messages=user("[rate_limit]"))
    span = anthropic_traced.one(f"chat {MODEL}")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["pyflare.error.category"] == "rate_limit"
    assert attrs(span)["error.type"] == "RateLimitError"


def test_native_client_span_below_the_wrapper_is_dropped(traced: Recorded) -> None:
    """Anthropic's own call span duplicates the wrapper's; other spans pass untouched."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(DuplicateFilter(SimpleSpanProcessor(exporter)))
    native = provider.get_tracer("com.anthropic.sdk.python")
    pyflare_tracer = provider.get_tracer("pyflare.anthropic")
    with pyflare_tracer.start_as_current_span("chat wrapped"):
        pass
    call = ModelCall("chat claude", "pyflare.anthropic", {})
    with call.current():
        native.start_span("anthropic.messages.create").end()  # the duplicate
        provider.get_tracer("httpx").start_span("POST").end()  # kept
    call.end()
    native.start_span("anthropic.messages.create").end()  # no wrapper above: kept
    names = [s.name for s in exporter.get_finished_spans()]
    assert names == ["chat wrapped", "POST", "anthropic.messages.create"]
