"""``pyflare.attributes``, ``pyflare.span``, ``record_usage`` and context across threads/tasks."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pyflare
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from sdk_support import Recorded, attrs, is_child


def test_attributes_stamp_every_span_below_and_nest(traced: Recorded) -> None:
    with pyflare.attributes(user_id="u1", session_id="s1", feature="search", team="core"):
        with (
            pyflare.span("outer"),
            pyflare.attributes(environment="staging", extra={"tenant": "acme"}),
            pyflare.span("inner"),
        ):
            pass
        assert pyflare.context.current()["user.id"] == "u1"
    with pyflare.span("after"):
        pass
    outer, inner, after = traced.one("outer"), traced.one("inner"), traced.one("after")
    stamped = {
        "user.id": "u1",
        "session.id": "s1",
        "pyflare.feature": "search",
        "pyflare.team": "core",
    }
    assert stamped.items() <= attrs(outer).items()
    assert {**stamped, "deployment.environment.name": "staging", "tenant": "acme"}.items() <= (
        attrs(inner).items()
    )
    assert "user.id" not in attrs(after)


def test_span_context_manager(traced: Recorded) -> None:
    with pyflare.span("retrieve docs", kind="retriever", input={"q": "shoes"}) as span:
        pyflare.set_output(["doc-1", "doc-2"])
        assert trace.get_current_span() is span
    with pytest.raises(KeyError), pyflare.span("broken"):
        raise KeyError("missing")
    retrieve, broken = traced.one("retrieve docs"), traced.one("broken")
    assert attrs(retrieve)["openinference.span.kind"] == "RETRIEVER"
    assert attrs(retrieve)["input.value"] == '{"q": "shoes"}'
    assert attrs(retrieve)["output.value"] == '["doc-1", "doc-2"]'
    assert broken.status.status_code is StatusCode.ERROR
    assert attrs(broken)["error.type"] == "KeyError"


def test_record_usage_on_a_custom_model_span(traced: Recorded) -> None:
    with pyflare.span("generate", kind="llm"):
        pyflare.record_usage(
            model="llama-3.1-8b", provider="self-hosted", input_tokens=120, output_tokens=30
        )
    span = attrs(traced.one("generate"))
    assert span["gen_ai.request.model"] == "llama-3.1-8b"
    assert span["gen_ai.provider.name"] == "self-hosted"
    assert (span["gen_ai.usage.input_tokens"], span["gen_ai.usage.output_tokens"]) == (120, 30)
    assert span["gen_ai.operation.name"] == "chat"


def test_bind_carries_span_and_attributes_into_threads(traced: Recorded) -> None:
    @pyflare.trace(name="work")
    def work(n: int) -> int:
        return n

    with pyflare.attributes(user_id="u7"), pyflare.span("parent"):
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(pyflare.bind(work), range(2)))
        unbound = threading.Thread(target=work, args=(9,))
        unbound.start()
        unbound.join()
    parent = traced.one("parent")
    bound = [s for s in traced.named("work") if attrs(s)["output.value"] != "9"]
    (lost,) = [s for s in traced.named("work") if attrs(s)["output.value"] == "9"]
    assert len(bound) == 2
    assert all(is_child(s, parent) and attrs(s)["user.id"] == "u7" for s in bound)
    assert lost.parent is None and "user.id" not in attrs(lost)  # as OpenTelemetry does


def test_asyncio_tasks_inherit_span_and_attributes(traced: Recorded) -> None:
    @pyflare.trace(name="task")
    async def task(n: int) -> int:
        await asyncio.sleep(0)
        return n

    async def main() -> None:
        with pyflare.attributes(session_id="s9"), pyflare.span("root"):
            await asyncio.gather(*(asyncio.create_task(task(n)) for n in range(3)))

    asyncio.run(main())
    root = traced.one("root")
    tasks = traced.named("task")
    assert len(tasks) == 3
    assert all(is_child(t, root) and attrs(t)["session.id"] == "s9" for t in tasks)


def test_spans_before_init_are_noops() -> None:
    handle = pyflare.active()
    assert handle is None
    with pyflare.span("nothing") as span:
        assert not span.is_recording()
