"""The OpenAI integration against the real client and a local fake of the API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pyflare
import pytest
from fake_llm import FakeLLMServer
from opentelemetry.trace import SpanKind, StatusCode
from sdk_support import Recorded, attrs, is_child, json_attr

MODEL = "gpt-4o-mini"
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def client(fake: FakeLLMServer, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.openai_url, api_key="sk-fake", max_retries=0, **options)


def ask(text: str) -> list[Any]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


def test_chat_completion(openai_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    reply = client(fake_llm).chat.completions.create(
        model=MODEL, messages=ask("hello there"), temperature=0.3, max_tokens=50, seed=7
    )
    span = openai_traced.one(f"chat {MODEL}")
    a = attrs(span)
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "pyflare.openai"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == MODEL
    assert (a["gen_ai.request.temperature"], a["gen_ai.request.max_tokens"]) == (0.3, 50)
    assert a["gen_ai.request.seed"] == 7
    assert a["gen_ai.response.model"] == MODEL
    assert a["gen_ai.response.id"] == reply.id
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.usage.input_tokens"] == reply.usage.prompt_tokens  # type: ignore[union-attr]
    assert a["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens  # type: ignore[union-attr]
    assert a["server.address"] == "127.0.0.1"
    assert json_attr(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "hello there"}]},
    ]
    assert json_attr(span, "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": reply.choices[0].message.content}],
            "finish_reason": "stop",
        }
    ]


def test_tool_calls_become_child_spans(openai_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    reply = client(fake_llm).chat.completions.create(
        model=MODEL, messages=ask("Paris"), tools=TOOLS
    )
    (call,) = reply.choices[0].message.tool_calls or []
    chat = openai_traced.one(f"chat {MODEL}")
    tool = openai_traced.one("tool_call get_weather")
    assert is_child(tool, chat)
    assert attrs(tool)["gen_ai.tool.call.id"] == call.id
    assert json.loads(attrs(tool)["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert attrs(chat)["gen_ai.response.finish_reasons"] == ("tool_calls",)
    (message,) = json_attr(chat, "gen_ai.output.messages")
    assert message["parts"] == [
        {"type": "tool_call", "id": call.id, "name": "get_weather", "arguments": {"city": "Paris"}}
    ]


def test_streaming_reports_usage_and_hides_the_extra_chunk(
    openai_traced: Recorded, fake_llm: FakeLLMServer
) -> None:
    stream = client(fake_llm).chat.completions.create(
        model=MODEL, messages=ask("stream this"), stream=True
    )
    assert isinstance(stream, openai.Stream)
    assert openai_traced.spans == []  # the span ends with the stream
    chunks = list(stream)
    assert all(chunk.choices for chunk in chunks)  # no usage-only chunk reaches the caller
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    span = openai_traced.one(f"chat {MODEL}")
    a = attrs(span)
    assert a["gen_ai.request.stream"] is True
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert json_attr(span, "gen_ai.output.messages")[0]["parts"][0]["content"] == text
    assert fake_llm.requests[-1][1]["stream_options"] == {"include_usage": True}


def test_streaming_when_caller_asks_for_usage_keeps_the_chunk(
    openai_traced: Recorded, fake_llm: FakeLLMServer
) -> None:
    stream = client(fake_llm).chat.completions.create(
        model=MODEL, messages=ask("usage"), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and not chunks[-1].choices
    assert attrs(openai_traced.one(f"chat {MODEL}"))["gen_ai.usage.output_tokens"] > 0


def test_streamed_tool_call_and_early_close(
    openai_traced: Recorded, fake_llm: FakeLLMServer
) -> None:
    with client(fake_llm).chat.completions.create(
        model=MODEL, messages=ask("Rome"), tools=TOOLS, stream=True
    ) as stream:
        for _ in stream:
            pass
    tool = openai_traced.one("tool_call get_weather")
    assert json.loads(attrs(tool)["gen_ai.tool.call.arguments"]) == {"city": "Rome"}
    stream = client(fake_llm).chat.completions.create(
        model=MODEL, messages=ask("closed early"), stream=True
    )
    next(iter(stream))
    stream.close()
    spans = openai_traced.named(f"chat {MODEL}")
    assert len(spans) == 2 and all(s.end_time for s in spans)


def test_async_create_and_stream(openai_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    async def main() -> str:
        async_client = openai.AsyncOpenAI(
            base_url=fake_llm.openai_url, api_key="sk-fake", max_retries=0
        )
        with pyflare.span("parent"):
            await async_client.chat.completions.create(model="gpt-4o", messages=ask("one"))
            stream = await async_client.chat.completions.create(
                model="gpt-4o", messages=ask("two"), stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(main()).endswith("two")
    parent = openai_traced.one("parent")
    calls = openai_traced.named("chat gpt-4o")
    assert len(calls) == 2 and all(is_child(c, parent) for c in calls)
    assert all(attrs(c)["gen_ai.usage.output_tokens"] > 0 for c in calls)


@pytest.mark.parametrize(
    ("marker", "error", "category", "status"),
    [
        ("[rate_limit]", openai.RateLimitError, "rate_limit", 429),
        ("[bad_request]", openai.BadRequestError, "bad_request", 400),
        ("[server_error]", openai.InternalServerError, "server_error", 500),
    ],
)
def test_errors_are_categorised(
    openai_traced: Recorded,
    fake_llm: FakeLLMServer,
    marker: str,
    error: type[Exception],
    category: str,
    status: int,
) -> None:
    with pytest.raises(error):
        client(fake_llm).chat.completions.create(model=MODEL, messages=ask(marker))
    span = openai_traced.one(f"chat {MODEL}")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == error.__name__
    assert attrs(span)["pyflare.error.category"] == category
    assert attrs(span)["http.response.status_code"] == status


def test_timeout_is_categorised(openai_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    with pytest.raises(openai.APITimeoutError):
        client(fake_llm, timeout=0.2).chat.completions.create(
            model=MODEL, messages=ask("[timeout]")
        )
    assert attrs(openai_traced.one(f"chat {MODEL}"))["pyflare.error.category"] == "timeout"


def test_embeddings(openai_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    response = client(fake_llm).embeddings.create(model="text-embedding-3-small", input="a b c d")
    span = openai_traced.one("embeddings text-embedding-3-small")
    a = attrs(span)
    assert a["gen_ai.operation.name"] == "embeddings"
    assert a["gen_ai.usage.input_tokens"] == 4
    assert a["gen_ai.embeddings.dimension.count"] == 8
    assert a["input.value"] == "a b c d"
    assert list(a["embedding.embeddings.0.embedding.vector"]) == pytest.approx(
        response.data[0].embedding
    )


def test_raw_response_is_recorded(openai_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    raw = client(fake_llm).chat.completions.with_raw_response.create(
        model=MODEL, messages=ask("raw")
    )
    assert raw.parse().choices[0].message.content
    assert attrs(openai_traced.one(f"chat {MODEL}"))["gen_ai.usage.output_tokens"] > 0


def test_stream_helper(openai_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    with client(fake_llm).chat.completions.stream(model=MODEL, messages=ask("helper")) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    span = openai_traced.one(f"chat {MODEL}")
    assert (
        final.choices[0].message.content
        == json_attr(span, "gen_ai.output.messages")[0]["parts"][0]["content"]
    )
    assert attrs(span)["gen_ai.usage.output_tokens"] > 0


def test_parse_is_recorded(openai_traced: Recorded, fake_llm: FakeLLMServer) -> None:
    parsed = client(fake_llm).chat.completions.parse(model=MODEL, messages=ask("structured"))
    span = openai_traced.one(f"chat {MODEL}")
    assert attrs(span)["gen_ai.usage.output_tokens"] == parsed.usage.completion_tokens  # type: ignore[union-attr]


def test_uninstrument_restores_the_client(traced: Recorded, fake_llm: FakeLLMServer) -> None:
    from openai.resources.chat.completions import Completions
    from pyflare.integrations import openai as integration

    original = Completions.create
    integration.instrument()
    assert Completions.create is not original
    integration.uninstrument()
    assert Completions.create is original
    client(fake_llm).chat.completions.create(model=MODEL, messages=ask("plain"))
    assert traced.spans == []
