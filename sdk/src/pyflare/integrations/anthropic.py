"""Anthropic: a ``chat {model}`` span per ``messages.create`` / ``messages.stream`` call.

Patches the client classes, sync and async (see :mod:`.llm` for why a thin wrapper). The
client's own tracing (Anthropic 2.x makes a span per API call when a tracer provider is
set) is kept for calls made outside this wrapper; below a wrapper span it is dropped by
:class:`pyflare.processors.DuplicateFilter`, since it would count the call twice.
``messages.stream(...)`` is covered by wrapping the stream manager: the span ends when the
``with`` block closes the stream, with the usage the stream reported.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from opentelemetry.util.types import AttributeValue

from pyflare import content, semconv
from pyflare.integrations import anthropic_messages as messages
from pyflare.integrations.llm import (
    ModelCall,
    clean_attributes,
    server_attributes,
    wrap_async_stream,
    wrap_stream,
)

SCOPE = "pyflare.anthropic"

_originals: list[tuple[type, str, Any]] = []


def _provider(client: Any) -> str:
    name = type(client).__name__
    if "Bedrock" in name:
        return "aws.bedrock"
    if "Vertex" in name:
        return "gcp.vertex_ai"
    return "anthropic"


def _call(resource: Any, kwargs: dict[str, Any], streaming: bool) -> ModelCall:
    client = getattr(resource, "_client", None)
    model = kwargs.get("model")
    attributes: dict[str, AttributeValue] = {
        semconv.OPERATION: "chat",
        semconv.PROVIDER: _provider(client),
        **server_attributes(client),
        **clean_attributes(
            {
                semconv.REQUEST_MODEL: model,
                semconv.REQUEST_MAX_TOKENS: kwargs.get("max_tokens"),
                semconv.REQUEST_TEMPERATURE: kwargs.get("temperature"),
                semconv.REQUEST_TOP_P: kwargs.get("top_p"),
                semconv.REQUEST_STOP: kwargs.get("stop_sequences"),
                semconv.REQUEST_STREAM: streaming or None,
            }
        ),
    }
    call = ModelCall(f"chat {model}" if isinstance(model, str) else "chat", SCOPE, attributes)
    if content.capturing():
        system = messages.system_instructions(kwargs.get("system"))
        if system:
            content.set_text(call.span, semconv.SYSTEM_INSTRUCTIONS, system)
        if kwargs.get("messages") is not None:
            content.set_text(call.span, semconv.INPUT_MESSAGES, messages.inputs(kwargs["messages"]))
    return call


def _record(call: ModelCall, message: Any) -> None:
    call.set(messages.response_attributes(message))
    outputs = messages.outputs(message)
    if outputs:
        content.set_text(call.span, semconv.OUTPUT_MESSAGES, outputs)
        call.tool_calls(messages.tool_calls(outputs[0]["parts"]))


def _gather(call: ModelCall) -> Callable[[Any], bool]:
    gatherer = messages.EventGatherer()
    call.before_end(lambda: _record(call, gatherer.result()))
    return gatherer.on_event


def _parsed(result: Any) -> Any:
    if type(result).__name__ == "LegacyAPIResponse":
        try:
            return result.parse()
        except Exception:
            return None
    return None if hasattr(result, "http_response") else result


def _wrap_create(original: Any) -> Any:
    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        streaming = kwargs.get("stream") is True
        call = _call(self, kwargs, streaming)
        try:
            with call.current():
                result = original(self, *args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        parsed = _parsed(result)
        if streaming and parsed is not None:
            wrap_stream(parsed, call, _gather(call))
            return result
        _record(call, parsed)
        call.end()
        return result

    return create


def _wrap_async_create(original: Any) -> Any:
    @functools.wraps(original)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        streaming = kwargs.get("stream") is True
        call = _call(self, kwargs, streaming)
        try:
            with call.current():
                result = await original(self, *args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        parsed = _parsed(result)
        if streaming and parsed is not None:
            wrap_async_stream(parsed, call, _gather(call))
            return result
        _record(call, parsed)
        call.end()
        return result

    return create


class _StreamManager:
    """``messages.stream(...)``'s manager, with a span from ``__enter__`` to the stream's end."""

    def __init__(self, manager: Any, resource: Any, kwargs: dict[str, Any]) -> None:
        self._manager = manager
        self._resource = resource
        self._kwargs = kwargs

    def __enter__(self) -> Any:
        call = _call(self._resource, self._kwargs, True)
        try:
            with call.current():
                stream = self._manager.__enter__()
        except BaseException as error:
            call.fail(error)
            raise
        raw = getattr(stream, "_raw_stream", None)
        if raw is None:
            call.end()
        else:
            wrap_stream(raw, call, _gather(call))
        return stream

    def __exit__(self, *exc: Any) -> Any:
        return self._manager.__exit__(*exc)

    async def __aenter__(self) -> Any:
        call = _call(self._resource, self._kwargs, True)
        try:
            with call.current():
                stream = await self._manager.__aenter__()
        except BaseException as error:
            call.fail(error)
            raise
        raw = getattr(stream, "_raw_stream", None)
        if raw is None:
            call.end()
        else:
            wrap_async_stream(raw, call, _gather(call))
        return stream

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._manager.__aexit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)


def _wrap_stream(original: Any) -> Any:
    @functools.wraps(original)
    def stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _StreamManager(original(self, *args, **kwargs), self, kwargs)

    return stream


def instrument() -> None:
    """Patch the client classes (once; again after :func:`uninstrument`)."""
    if _originals:
        return
    from anthropic.resources.messages import AsyncMessages, Messages

    patches: list[tuple[type, str, Callable[[Any], Any]]] = [
        (Messages, "create", _wrap_create),
        (AsyncMessages, "create", _wrap_async_create),
        (Messages, "stream", _wrap_stream),
        (AsyncMessages, "stream", _wrap_stream),
    ]
    for cls, name, wrap in patches:
        original = cls.__dict__.get(name)
        if original is None:
            continue
        _originals.append((cls, name, original))
        setattr(cls, name, wrap(original))


def uninstrument() -> None:
    """Restore the client classes."""
    while _originals:
        cls, name, original = _originals.pop()
        setattr(cls, name, original)
