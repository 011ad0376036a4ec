"""What the OpenAI and Anthropic wrappers share: the model-call span, streams, errors.

Why wrappers and not only the maintained instrumentations: pyflare needs, on one span per
call, the current OTel GenAI names, the token usage of *streamed* responses (so a streamed
call is not priced at $0), the tool calls the model asked for as child spans, and an error
category (rate_limit, timeout, bad_request, auth, not_found, server_error, connection) that
alerts and ``pyflare rca`` can group by. The instrumentations available when this was
written each miss some of these (OpenAI's v2 instrumentation emits no tool-call spans nor
categories; OpenInference writes its own names; Anthropic's built-in tracing has no input
tokens and no streamed usage), so the wrappers are thin patches of ``create`` that add just
that. A streamed response is returned as the client's own stream object; its iterator is
wrapped, so the span ends when the stream is exhausted, closed or fails.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from pyflare import content, processors, runtime, semconv, spans

CATEGORIES_BY_STATUS = {
    400: "bad_request",
    401: "auth",
    403: "auth",
    404: "not_found",
    409: "bad_request",
    413: "bad_request",
    422: "bad_request",
    429: "rate_limit",
}

_delegations: dict[int, bool] = {}
_delegation_lock = threading.Lock()


def expect_delegation(span_id: int) -> None:
    """A framework's model span (LangChain's) that a provider wrapper may record below."""
    with _delegation_lock:
        _delegations[span_id] = False


def delegated(span_id: int) -> bool:
    """Whether a provider wrapper recorded the call below this span (forgets the span)."""
    with _delegation_lock:
        return _delegations.pop(span_id, False)


def error_category(error: BaseException) -> str:
    """The category of a failed model call, from its HTTP status or its exception class."""
    name = type(error).__name__.lower()
    if "timeout" in name or isinstance(error, TimeoutError):
        return "timeout"
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        if status in CATEGORIES_BY_STATUS:
            return CATEGORIES_BY_STATUS[status]
        if status >= 500:
            return "server_error"
        if status >= 400:
            return "bad_request"
    if "ratelimit" in name:
        return "rate_limit"
    if "connection" in name:
        return "connection"
    if "overloaded" in name or "internalserver" in name:
        return "server_error"
    return "other"


def server_attributes(client: Any) -> dict[str, AttributeValue]:
    """``server.address``/``server.port`` from a client's ``base_url``."""
    url = getattr(client, "base_url", None)
    host = getattr(url, "host", None)
    if not host:
        return {}
    port = getattr(url, "port", None) or (443 if getattr(url, "scheme", "") == "https" else 80)
    return {semconv.SERVER_ADDRESS: str(host), semconv.SERVER_PORT: int(port)}


def clean_attributes(values: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """``values`` without the unset ones (None, the clients' NOT_GIVEN/omit sentinels)."""
    out: dict[str, AttributeValue] = {}
    for key, value in values.items():
        if isinstance(value, bool | int | float | str):
            out[key] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            out[key] = list(value)
    return out


class ModelCall:
    """One model call's span, from the request to the end of the response (or stream)."""

    def __init__(self, name: str, scope: str, attributes: Mapping[str, AttributeValue]) -> None:
        self.span = runtime.tracer(scope).start_span(
            name, kind=SpanKind.CLIENT, attributes=dict(attributes)
        )
        self.started = time.monotonic()
        self._ended = False
        self._before_end: list[Callable[[], None]] = []
        self._span_id = self.span.get_span_context().span_id
        processors.claim(self._span_id)
        parent = getattr(self.span, "parent", None)
        if parent is not None:
            with _delegation_lock:
                if parent.span_id in _delegations:
                    _delegations[parent.span_id] = True

    def current(self) -> Any:
        """A context manager making the span current (for the HTTP call below it)."""
        return trace.use_span(
            self.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        )

    def set(self, values: Mapping[str, AttributeValue]) -> None:
        if not self._ended:
            self.span.set_attributes(values)

    def fail(self, error: BaseException) -> None:
        if self._ended:
            return
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            self.span.set_attribute(semconv.HTTP_STATUS, status)
        spans.record_error(self.span, error, error_category(error))
        self.end()

    def before_end(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` (record what a stream gathered) just before the span ends."""
        self._before_end.append(hook)

    def end(self) -> None:
        if self._ended:
            return
        for hook in self._before_end:
            hook()
        self._ended = True
        processors.release(self._span_id)
        self.span.end()

    def tool_calls(self, calls: Sequence[tuple[str, str, Any]]) -> None:
        tool_call_spans(self.span, calls)


def tool_call_spans(parent: Span, calls: Sequence[tuple[str, str, Any]]) -> None:
    """A child span of ``parent`` per tool call the model asked for: ``tool_call <name>``.

    They mark the model's request, not the tool's run (that is the application's
    ``execute_tool`` span), so they carry the tool's name and arguments but no kind.
    """
    tracer = runtime.tracer("pyflare")
    context = trace.set_span_in_context(parent)
    for call_id, name, arguments in calls:
        child = tracer.start_span(
            f"tool_call {name}",
            context=context,
            attributes={
                semconv.TOOL_NAME: name,
                semconv.TOOL_TYPE: "function",
                semconv.TOOL_CALL_ID: call_id,
            },
        )
        content.set_text(child, semconv.TOOL_CALL_ARGUMENTS, arguments)
        child.end()


def parse_arguments(raw: Any) -> Any:
    """Tool-call arguments as JSON data when they are a JSON string."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def wrap_stream(stream: Any, call: ModelCall, on_item: Callable[[Any], bool]) -> Any:
    """``stream`` with its iterator watched: ``on_item`` sees every item (False hides it).

    The stream object itself is returned, so its type, ``response`` and helpers stay; its
    ``close`` also ends the span. Without the iterator attribute the clients have used
    since 1.0, the span ends now, without the streamed usage.
    """
    inner = getattr(stream, "_iterator", None)
    if inner is None:
        call.end()
        return stream
    original_close = stream.close

    def watched() -> Iterator[Any]:
        try:
            for item in inner:
                if on_item(item):
                    yield item
        except GeneratorExit:
            inner.close()
            call.end()
            raise
        except BaseException as error:
            call.fail(error)
            raise
        call.end()

    def close() -> None:
        try:
            original_close()
        finally:
            call.end()

    stream._iterator = watched()
    stream.close = close
    return stream


def wrap_async_stream(stream: Any, call: ModelCall, on_item: Callable[[Any], bool]) -> Any:
    """:func:`wrap_stream` for the clients' async streams."""
    inner = getattr(stream, "_iterator", None)
    if inner is None:
        call.end()
        return stream
    original_close = stream.close

    async def watched() -> AsyncIterator[Any]:
        try:
            async for item in inner:
                if on_item(item):
                    yield item
        except GeneratorExit:
            await inner.aclose()
            call.end()
            raise
        except BaseException as error:
            call.fail(error)
            raise
        call.end()

    async def close() -> None:
        try:
            await original_close()
        finally:
            call.end()

    stream._iterator = watched()
    stream.close = close
    return stream
