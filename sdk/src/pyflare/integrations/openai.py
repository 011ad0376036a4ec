"""OpenAI: a ``chat {model}`` / ``embeddings {model}`` span per call of the official client.

Patches ``chat.completions.create``/``parse`` and ``embeddings.create``, sync and async, on
the client classes, so clients made before and after ``init`` are covered (see :mod:`.llm`
for why a thin wrapper). Streamed chat calls get ``stream_options={"include_usage": True}`` when the
caller did not set ``stream_options``, so the last chunk carries the token usage and the
call can be priced; that extra usage-only chunk is kept from the caller, who did not ask
for it. Set ``INJECT_STREAM_USAGE = False`` for a server that refuses ``stream_options``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from opentelemetry.util.types import AttributeValue

from pyflare import content, semconv
from pyflare.integrations import openai_messages as messages
from pyflare.integrations.llm import (
    ModelCall,
    clean_attributes,
    server_attributes,
    wrap_async_stream,
    wrap_stream,
)

SCOPE = "pyflare.openai"
INJECT_STREAM_USAGE = True

_originals: list[tuple[type, str, Any]] = []


def _provider(client: Any) -> str:
    host = str(getattr(getattr(client, "base_url", None), "host", "") or "")
    return "azure.ai.openai" if "azure" in host else "openai"


def _chat_call(resource: Any, kwargs: dict[str, Any]) -> ModelCall:
    client = getattr(resource, "_client", None)
    model = kwargs.get("model")
    stop = kwargs.get("stop")
    max_tokens = kwargs.get("max_completion_tokens")
    if not isinstance(max_tokens, int):
        max_tokens = kwargs.get("max_tokens")
    attributes: dict[str, AttributeValue] = {
        semconv.OPERATION: "chat",
        semconv.PROVIDER: _provider(client),
        **server_attributes(client),
        **clean_attributes(
            {
                semconv.REQUEST_MODEL: model,
                semconv.REQUEST_MAX_TOKENS: max_tokens,
                semconv.REQUEST_TEMPERATURE: kwargs.get("temperature"),
                semconv.REQUEST_TOP_P: kwargs.get("top_p"),
                semconv.REQUEST_SEED: kwargs.get("seed"),
                semconv.REQUEST_FREQUENCY_PENALTY: kwargs.get("frequency_penalty"),
                semconv.REQUEST_PRESENCE_PENALTY: kwargs.get("presence_penalty"),
                semconv.REQUEST_STOP: [stop] if isinstance(stop, str) else stop,
                semconv.REQUEST_STREAM: kwargs.get("stream") is True or None,
            }
        ),
    }
    name = f"chat {model}" if isinstance(model, str) else "chat"
    call = ModelCall(name, SCOPE, attributes)
    if content.capturing() and kwargs.get("messages") is not None:
        content.set_text(call.span, semconv.INPUT_MESSAGES, messages.inputs(kwargs["messages"]))
    return call


def _parsed(result: Any) -> Any:
    """The parsed body of a call made through ``with_raw_response``, else ``result``.

    Only the legacy raw response is parsed (it caches what it parsed); the body of a
    ``with_streaming_response`` call is the caller's to read, so that call is not recorded.
    """
    if not hasattr(result, "http_response"):
        return result
    parse = getattr(result, "parse", None)
    if type(result).__name__ == "LegacyAPIResponse" and callable(parse):
        try:
            return parse()
        except Exception:
            return None
    return None


def _record_completion(call: ModelCall, completion: Any) -> None:
    call.set(messages.response_attributes(completion))
    outputs, tool_calls = messages.outputs(getattr(completion, "choices", None) or [])
    if outputs:
        content.set_text(call.span, semconv.OUTPUT_MESSAGES, outputs)
    call.tool_calls(tool_calls)


def _prepare_stream(kwargs: dict[str, Any]) -> bool:
    """Ask for usage in the stream when the caller left ``stream_options`` unset."""
    if not INJECT_STREAM_USAGE or isinstance(kwargs.get("stream_options"), dict):
        return False
    kwargs["stream_options"] = {"include_usage": True}
    return True


def _start_stream(call: ModelCall, hide_usage: bool) -> Callable[[Any], bool]:
    gathered = messages.StreamGatherer(hide_usage)
    call.before_end(lambda: _record_gathered(call, gathered))
    return gathered.on_chunk


def _record_gathered(call: ModelCall, gathered: messages.StreamGatherer) -> None:
    call.set(gathered.attributes())
    outputs, tool_calls = gathered.outputs()
    if outputs:
        content.set_text(call.span, semconv.OUTPUT_MESSAGES, outputs)
    call.tool_calls(tool_calls)


def _wrap_chat(original: Any) -> Any:
    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _chat_call(self, kwargs)
        streaming = kwargs.get("stream") is True
        hide_usage = _prepare_stream(kwargs) if streaming else False
        try:
            with call.current():
                result = original(self, *args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        parsed = _parsed(result)
        if streaming and parsed is not None:
            wrap_stream(parsed, call, _start_stream(call, hide_usage))
            return result
        _record_completion(call, parsed)
        call.end()
        return result

    return create


def _wrap_async_chat(original: Any) -> Any:
    @functools.wraps(original)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _chat_call(self, kwargs)
        streaming = kwargs.get("stream") is True
        hide_usage = _prepare_stream(kwargs) if streaming else False
        try:
            with call.current():
                result = await original(self, *args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        parsed = _parsed(result)
        if streaming and parsed is not None:
            wrap_async_stream(parsed, call, _start_stream(call, hide_usage))
            return result
        _record_completion(call, parsed)
        call.end()
        return result

    return create


def _embedding_call(resource: Any, kwargs: dict[str, Any]) -> ModelCall:
    client = getattr(resource, "_client", None)
    model = kwargs.get("model")
    attributes: dict[str, AttributeValue] = {
        semconv.OPERATION: "embeddings",
        semconv.PROVIDER: _provider(client),
        **server_attributes(client),
        **clean_attributes({semconv.REQUEST_MODEL: model}),
    }
    name = f"embeddings {model}" if isinstance(model, str) else "embeddings"
    call = ModelCall(name, SCOPE, attributes)
    content.set_input(call.span, kwargs.get("input"))
    return call


def _record_embedding(call: ModelCall, response: Any) -> None:
    call.set(messages.embedding_attributes(response))
    data = getattr(response, "data", None) or []
    vector = getattr(data[0], "embedding", None) if data else None
    if content.capturing() and isinstance(vector, list) and vector:
        call.set({semconv.EMBEDDING_VECTOR: [float(v) for v in vector]})


def _wrap_embeddings(original: Any) -> Any:
    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _embedding_call(self, kwargs)
        try:
            with call.current():
                result = original(self, *args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        _record_embedding(call, _parsed(result))
        call.end()
        return result

    return create


def _wrap_async_embeddings(original: Any) -> Any:
    @functools.wraps(original)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = _embedding_call(self, kwargs)
        try:
            with call.current():
                result = await original(self, *args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        _record_embedding(call, _parsed(result))
        call.end()
        return result

    return create


def instrument() -> None:
    """Patch the client classes (once; again after :func:`uninstrument`)."""
    if _originals:
        return
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import AsyncEmbeddings, Embeddings

    patches: list[tuple[type, str, Callable[[Any], Any]]] = [
        (Completions, "create", _wrap_chat),
        (AsyncCompletions, "create", _wrap_async_chat),
        (Completions, "parse", _wrap_chat),  # structured outputs: its own request
        (AsyncCompletions, "parse", _wrap_async_chat),
        (Embeddings, "create", _wrap_embeddings),
        (AsyncEmbeddings, "create", _wrap_async_embeddings),
    ]
    for cls, name, wrap in patches:
        original = cls.__dict__.get(name)
        if original is None:  # an older client without it
            continue
        _originals.append((cls, name, original))
        setattr(cls, name, wrap(original))


def uninstrument() -> None:
    """Restore the client classes."""
    while _originals:
        cls, name, original = _originals.pop()
        setattr(cls, name, original)
