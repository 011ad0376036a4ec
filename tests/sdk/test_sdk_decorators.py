"""``@pyflare.trace`` on functions, coroutines, generators and async generators."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pyflare
import pytest
from opentelemetry.trace import StatusCode
from sdk_support import Recorded, attrs, is_child


def test_bare_decorator_names_the_span_and_captures_arguments_and_result(
    traced: Recorded,
) -> None:
    @pyflare.trace
    def add(a: int, b: int = 2) -> int:
        return a + b

    assert add(1, b=5) == 6
    span = traced.one(
        "test_bare_decorator_names_the_span_and_captures_arguments_and_result.<locals>.add"
    )
    assert json.loads(attrs(span)["input.value"]) == {"a": 1, "b": 5}
    assert attrs(span)["input.mime_type"] == "application/json"
    assert attrs(span)["output.value"] == "6"
    assert span.status.status_code is StatusCode.UNSET


def test_name_kind_and_attributes(traced: Recorded) -> None:
    @pyflare.trace(name="lookup", kind="tool", attributes={"team.owner": "search"})
    def lookup(query: str) -> str:
        return f"found {query}"

    lookup("shoes")
    span = traced.one("lookup")
    assert attrs(span)["openinference.span.kind"] == "TOOL"
    assert attrs(span)["gen_ai.operation.name"] == "execute_tool"
    assert attrs(span)["gen_ai.tool.name"] == "lookup"
    assert attrs(span)["team.owner"] == "search"
    assert attrs(span)["output.value"] == "found shoes"
    assert attrs(span)["output.mime_type"] == "text/plain"


def test_positional_name_and_no_capture(traced: Recorded) -> None:
    @pyflare.trace("plan", kind="agent", capture_input=False, capture_output=False)
    def plan(secret: str) -> str:
        return secret

    plan("x")
    span = traced.one("plan")
    assert attrs(span)["gen_ai.agent.name"] == "plan"
    assert "input.value" not in attrs(span) and "output.value" not in attrs(span)


def test_unknown_kind_fails_at_decoration() -> None:
    with pytest.raises(ValueError, match="unknown span kind 'robot'"):
        pyflare.trace(kind="robot")(lambda: None)


def test_methods_leave_self_out_and_nest(traced: Recorded) -> None:
    class Pipeline:
        @pyflare.trace(name="run", kind="chain")
        def run(self, question: str) -> str:
            return self.step(question)

        @pyflare.trace(name="step")
        def step(self, question: str) -> str:
            return question.upper()

    assert Pipeline().run("hi") == "HI"
    run, step = traced.one("run"), traced.one("step")
    assert json.loads(attrs(run)["input.value"]) == {"question": "hi"}
    assert is_child(step, run)


def test_exception_is_recorded_and_raised(traced: Recorded) -> None:
    @pyflare.trace(name="boom")
    def boom() -> None:
        raise ValueError("bad input from bob@example.com")

    with pytest.raises(ValueError):
        boom()
    span = traced.one("boom")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError: bad input from [REDACTED:email]"
    assert attrs(span)["error.type"] == "ValueError"
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.message"] == "bad input from [REDACTED:email]"
    assert "bob@example.com" not in str(event.attributes["exception.stacktrace"])


def test_async_function(traced: Recorded) -> None:
    @pyflare.trace(name="outer")
    async def outer() -> list[int]:
        return list(await asyncio.gather(inner(1), inner(2)))

    @pyflare.trace(name="inner")
    async def inner(n: int) -> int:
        await asyncio.sleep(0)
        return n * 10

    assert asyncio.run(outer()) == [10, 20]
    parent = traced.one("outer")
    children = traced.named("inner")
    assert len(children) == 2 and all(is_child(c, parent) for c in children)
    assert attrs(parent)["output.value"] == "[10, 20]"


def test_async_exception(traced: Recorded) -> None:
    @pyflare.trace(name="fails")
    async def fails() -> None:
        raise RuntimeError("nope")

    with pytest.raises(RuntimeError):
        asyncio.run(fails())
    assert traced.one("fails").status.status_code is StatusCode.ERROR


def test_generator_span_covers_iteration_and_children(traced: Recorded) -> None:
    @pyflare.trace(name="child")
    def child(word: str) -> str:
        return word

    @pyflare.trace(name="tokens", kind="llm")
    def tokens(text: str) -> Iterator[str]:
        for word in text.split():
            yield child(word) + " "

    @pyflare.trace(name="consumer")
    def consume(word: str) -> str:
        return word

    generator = tokens("a b c")
    assert traced.spans == []  # nothing runs before the first next()
    out = [consume(item) for item in generator]
    assert out == ["a ", "b ", "c "]
    span = traced.one("tokens")
    assert attrs(span)["output.value"] == "a b c "
    assert all(is_child(c, span) for c in traced.named("child"))
    assert not any(is_child(c, span) for c in traced.named("consumer"))


def test_generator_closed_early_ends_span(traced: Recorded) -> None:
    closed = []

    @pyflare.trace(name="numbers")
    def numbers() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.append(True)

    for n in numbers():
        if n == 2:
            break
    span = traced.one("numbers")
    assert closed == [True]
    assert span.end_time is not None
    assert json.loads(attrs(span)["output.value"]) == [0, 1, 2]
    assert span.status.status_code is StatusCode.UNSET


def test_generator_error_and_send(traced: Recorded) -> None:
    @pyflare.trace(name="echo")
    def echo() -> Iterator[str]:
        received = yield "ready"
        while received != "stop":
            received = yield f"got {received}"
        raise KeyError("stopped")

    generator = echo()
    assert next(generator) == "ready"
    assert generator.send("x") == "got x"
    with pytest.raises(KeyError):
        generator.send("stop")
    assert traced.one("echo").status.status_code is StatusCode.ERROR


def test_generator_throw_is_forwarded(traced: Recorded) -> None:
    @pyflare.trace(name="resilient")
    def resilient() -> Iterator[str]:
        while True:
            try:
                yield "ok"
            except ValueError:
                yield "recovered"
                return

    generator = resilient()
    assert next(generator) == "ok"
    assert generator.throw(ValueError("retry")) == "recovered"
    with pytest.raises(StopIteration):
        next(generator)
    assert traced.one("resilient").status.status_code is StatusCode.UNSET


def test_async_generator(traced: Recorded) -> None:
    @pyflare.trace(name="fetch")
    async def fetch(n: int) -> int:
        return n

    @pyflare.trace(name="stream", kind="chain")
    async def stream(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield await fetch(i)

    async def main() -> list[int]:
        return [i async for i in stream(3)]

    assert asyncio.run(main()) == [0, 1, 2]
    span = traced.one("stream")
    assert json.loads(attrs(span)["output.value"]) == [0, 1, 2]
    assert all(is_child(c, span) for c in traced.named("fetch"))


def test_async_generator_closed_early_and_failing(traced: Recorded) -> None:
    @pyflare.trace(name="endless")
    async def endless() -> AsyncIterator[int]:
        n = 0
        while True:
            yield n
            n += 1

    @pyflare.trace(name="broken")
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise ConnectionError("lost")

    async def main() -> None:
        generator = endless()
        async for n in generator:
            if n == 1:
                break
        await generator.aclose()
        with pytest.raises(ConnectionError):
            async for _ in broken():
                pass

    asyncio.run(main())
    assert traced.one("endless").end_time is not None
    assert traced.one("broken").status.status_code is StatusCode.ERROR


def test_values_are_truncated_after_redaction() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    with pyflare.init(export=exporter, batch=False, set_global=False, max_value_length=20):

        @pyflare.trace(name="long")
        def long(text: str) -> str:
            return text

        long("mail bob@example.com " + "x" * 100)
    (span,) = exporter.get_finished_spans()
    output = attrs(span)["output.value"]
    assert output == "mail [REDACTED:email...[truncated 102 chars]"
    assert attrs(span)["pyflare.truncated"] is True


def test_capture_content_off_and_redaction_off() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    with pyflare.init(export=first, batch=False, set_global=False, capture_content=False):
        pyflare.trace(name="quiet")(lambda x: x)("secret")
    with pyflare.init(export=second, batch=False, set_global=False, redaction=False):
        pyflare.trace(name="raw")(lambda x: x)("bob@example.com")
    (quiet,), (raw,) = first.get_finished_spans(), second.get_finished_spans()
    assert "input.value" not in attrs(quiet)
    assert attrs(raw)["output.value"] == "bob@example.com"


def test_non_json_values_are_described(traced: Recorded) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    @pyflare.trace(name="weird")
    def weird(data: bytes, thing: object, items: set[int]) -> dict[str, object]:
        return {"n": 1, "thing": thing}

    weird(b"abc", Opaque(), {3})
    span = traced.one("weird")
    assert json.loads(attrs(span)["input.value"]) == {
        "data": "<3 bytes>",
        "thing": "<Opaque>",
        "items": [3],
    }
