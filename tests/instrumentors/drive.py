"""Drive the real ``openai`` client under one real instrumentor; run in its own process.

Usage: ``python drive.py NAME OPENAI_URL OTLP_TRACES_URL COLLECTOR_FILE``. Several
instrumentors patch the same ``openai`` module, so each runs alone in a fresh
interpreter. The spans go over OTLP/HTTP (the real OpenTelemetry exporter) to the
receiver at ``OTLP_TRACES_URL``; what the client itself saw (usage, model, finish reason,
error) is printed as one JSON line per call, so the test compares the stored spans with
the truth from the API, not with numbers written twice. Every call runs under an
application span, whose id is printed too: the instrumented span must hang under it.
Every batch the exporter sends is also written to ``COLLECTOR_FILE`` as the Collector's
file exporter writes ``format: proto`` (each request after a 4-byte big-endian length),
so the test can read the same spans back from a file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_order",
            "description": "Look an order up.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        },
    }
]
CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the capital of France?"},
]
STREAM = [{"role": "user", "content": "Stream me an answer about Paris"}]
TOOL = [{"role": "user", "content": "Where is order ORD-42?"}]
LIMITED = [{"role": "user", "content": "[rate_limit] hello"}]
MODEL = "gpt-4o-mini"


def _usage_of(usage: Any) -> dict[str, int | None]:
    if usage is None:
        return {"input_tokens": None, "output_tokens": None}
    return {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}


def _openai_calls(client: Any) -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    """The four calls of every run, each returning what the client saw."""

    def chat() -> dict[str, Any]:
        answer = client.chat.completions.create(model=MODEL, messages=CHAT)
        choice = answer.choices[0]
        return {
            **_usage_of(answer.usage),
            "model": answer.model,
            "finish_reason": choice.finish_reason,
            "output": choice.message.content,
        }

    def stream() -> dict[str, Any]:
        chunks = client.chat.completions.create(
            model=MODEL, messages=STREAM, stream=True, stream_options={"include_usage": True}
        )
        usage, finish, model, words = None, None, None, []
        for chunk in chunks:
            model = chunk.model
            usage = chunk.usage or usage
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                words.append(choice.delta.content or "")
        text = "".join(words)
        return {**_usage_of(usage), "model": model, "finish_reason": finish, "output": text}

    def tool() -> dict[str, Any]:
        answer = client.chat.completions.create(model=MODEL, messages=TOOL, tools=TOOLS)
        choice = answer.choices[0]
        return {
            **_usage_of(answer.usage),
            "model": answer.model,
            "finish_reason": choice.finish_reason,
            "tool": choice.message.tool_calls[0].function.name,
        }

    def limited() -> dict[str, Any]:
        try:
            client.chat.completions.create(model=MODEL, messages=LIMITED)
        except Exception as exc:  # the 429 the fake answers
            return {"error": type(exc).__name__, "status": getattr(exc, "status_code", None)}
        raise AssertionError("the fake did not answer 429")

    yield from (("chat", chat), ("stream", stream), ("tool", tool), ("rate_limit", limited))


def _langchain_calls(url: str) -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=MODEL, base_url=url, api_key="sk-fake", max_retries=0)  # type: ignore[arg-type]
    streaming = ChatOpenAI(
        model=MODEL,
        base_url=url,
        api_key="sk-fake",
        max_retries=0,
        stream_usage=True,  # type: ignore[arg-type]
    )

    def seen(message: Any) -> dict[str, Any]:
        usage = message.usage_metadata or {}
        meta = message.response_metadata
        return {
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "model": meta.get("model_name"),
            "finish_reason": meta.get("finish_reason"),
        }

    def chat() -> dict[str, Any]:
        return seen(llm.invoke([(m["role"], m["content"]) for m in CHAT]))

    def stream() -> dict[str, Any]:
        whole: Any = None
        for piece in streaming.stream(STREAM[0]["content"]):
            whole = piece if whole is None else whole + piece
        return seen(whole)

    def tool() -> dict[str, Any]:
        message = llm.bind_tools(TOOLS).invoke(TOOL[0]["content"])
        return {**seen(message), "tool": message.tool_calls[0]["name"]}

    def limited() -> dict[str, Any]:
        try:
            llm.invoke(LIMITED[0]["content"])
        except Exception as exc:
            return {"error": type(exc).__name__, "status": getattr(exc, "status_code", None)}
        raise AssertionError("the fake did not answer 429")

    yield from (("chat", chat), ("stream", stream), ("tool", tool), ("rate_limit", limited))


def _exporter(endpoint: str, collector_file: str) -> Any:
    """The OTLP/HTTP exporter, also writing each request it sends to ``collector_file``."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExporter

    class Tee(SpanExporter):
        def __init__(self) -> None:
            self.otlp = OTLPSpanExporter(endpoint=endpoint, timeout=10)

        def export(self, spans: Any) -> Any:
            message = encode_spans(spans).SerializeToString()
            with open(collector_file, "ab") as handle:
                handle.write(len(message).to_bytes(4, "big") + message)
            return self.otlp.export(spans)

        def shutdown(self) -> None:
            self.otlp.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return True

    return Tee()


def _otel(name: str, endpoint: str, collector_file: str) -> tuple[Any, Any]:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"inst-{name}"}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(endpoint, collector_file)))
    return provider, provider.get_tracer("pyflare.tests.app")


def _instrument(name: str, provider: Any) -> None:
    if name == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif name == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Traceloop

        Traceloop().instrument(tracer_provider=provider)
    elif name in ("openinference", "langchain"):
        from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference

        OpenInference().instrument(tracer_provider=provider)
        if name == "langchain":
            from openinference.instrumentation.langchain import LangChainInstrumentor

            LangChainInstrumentor().instrument(tracer_provider=provider)


def main() -> None:
    name, openai_url, endpoint, collector_file = sys.argv[1:5]
    os.environ["OTEL_SERVICE_NAME"] = f"inst-{name}"  # read by every SDK's Resource
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    shutdown: Callable[[], None]
    if name == "langfuse":
        from langfuse import Langfuse, propagate_attributes

        # The Langfuse SDK's own provider and processor; only its exporter points here.
        langfuse = Langfuse(
            public_key="pk-lf-test",
            secret_key="sk-lf-test",
            base_url="http://127.0.0.1:9",
            span_exporter=_exporter(endpoint, collector_file),
            environment="test",
        )
        from langfuse.openai import OpenAI

        client = OpenAI(base_url=openai_url, api_key="sk-fake", max_retries=0)

        @contextmanager
        def parent(label: str) -> Iterator[str]:
            with (
                langfuse.start_as_current_observation(name=f"app {label}", as_type="agent") as obs,
                propagate_attributes(
                    user_id="user-7", session_id="session-3", metadata={"agent_name": "support"}
                ),
            ):
                yield obs.id

        calls = _openai_calls(client)
        shutdown = langfuse.shutdown
    else:
        provider, tracer = _otel(name, endpoint, collector_file)
        _instrument(name, provider)

        @contextmanager
        def parent(label: str) -> Iterator[str]:
            with tracer.start_as_current_span(f"app {label}") as span:
                yield format(span.get_span_context().span_id, "016x")

        if name == "langchain":
            calls = _langchain_calls(openai_url)
        else:
            from openai import OpenAI

            calls = _openai_calls(OpenAI(base_url=openai_url, api_key="sk-fake", max_retries=0))

        def shutdown() -> None:
            provider.force_flush(30_000)
            provider.shutdown()

    scope: Callable[[str], AbstractContextManager[str]] = parent
    for label, call in calls:
        with scope(label) as parent_id:
            seen = call()
        print(json.dumps({"call": label, "parent": parent_id, **seen}), flush=True)
    shutdown()


if __name__ == "__main__":
    main()
