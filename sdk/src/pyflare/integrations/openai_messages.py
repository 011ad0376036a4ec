"""OpenAI requests, responses and stream chunks as OTel GenAI attributes and messages.

Everything is read by duck typing (attributes of the client's pydantic models, or keys of
plain dicts), so a newer client with more fields, or a compatible server's response, still
gives what it has. Messages follow the GenAI JSON shape: ``{"role", "parts": [{"type":
"text", "content"} | {"type": "tool_call", "id", "name", "arguments"} | {"type":
"tool_call_response", "id", "response"}], "finish_reason"}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.util.types import AttributeValue

from pyflare import semconv
from pyflare.integrations.llm import clean_attributes, parse_arguments


def field(item: Any, name: str) -> Any:
    """``item.name`` or ``item[name]``; None when absent."""
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)


def _text_parts(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"type": "text", "content": value}]
    parts: list[dict[str, Any]] = []
    for part in value or []:
        kind = field(part, "type")
        if kind == "text":
            parts.append({"type": "text", "content": field(part, "text")})
        elif kind is not None:
            parts.append({"type": str(kind)})
    return parts


def _tool_call_parts(calls: Any) -> list[dict[str, Any]]:
    parts = []
    for call in calls or []:
        function = field(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": field(call, "id"),
                "name": field(function, "name"),
                "arguments": parse_arguments(field(function, "arguments")),
            }
        )
    return parts


def inputs(messages: Iterable[Any]) -> list[dict[str, Any]]:
    """The request's messages as GenAI input messages."""
    out = []
    for message in messages:
        role = field(message, "role")
        if role == "tool":
            parts: list[dict[str, Any]] = [
                {
                    "type": "tool_call_response",
                    "id": field(message, "tool_call_id"),
                    "response": field(message, "content"),
                }
            ]
        else:
            parts = _text_parts(field(message, "content"))
            parts += _tool_call_parts(field(message, "tool_calls"))
        out.append({"role": role, "parts": parts})
    return out


def outputs(choices: Iterable[Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str, Any]]]:
    """The response's choices as GenAI output messages, and its tool calls."""
    messages: list[dict[str, Any]] = []
    calls: list[tuple[str, str, Any]] = []
    for choice in choices:
        message = field(choice, "message")
        parts = _text_parts(field(message, "content") or "")
        if parts and parts[0].get("content") == "":
            parts = []
        tool_parts = _tool_call_parts(field(message, "tool_calls"))
        calls += [(str(p["id"]), str(p["name"]), p["arguments"]) for p in tool_parts]
        messages.append(
            {
                "role": field(message, "role") or "assistant",
                "parts": parts + tool_parts,
                "finish_reason": field(choice, "finish_reason"),
            }
        )
    return messages, calls


def usage_attributes(usage: Any) -> dict[str, AttributeValue]:
    """Token counts; OpenAI's prompt tokens include the cached ones, as GenAI counts."""
    if usage is None:
        return {}
    return clean_attributes(
        {
            semconv.INPUT_TOKENS: field(usage, "prompt_tokens"),
            semconv.OUTPUT_TOKENS: field(usage, "completion_tokens"),
            semconv.CACHE_READ_TOKENS: field(
                field(usage, "prompt_tokens_details"), "cached_tokens"
            ),
            semconv.REASONING_TOKENS: field(
                field(usage, "completion_tokens_details"), "reasoning_tokens"
            ),
        }
    )


def response_attributes(completion: Any) -> dict[str, AttributeValue]:
    """Id, model, finish reasons and usage of a chat completion."""
    if completion is None:
        return {}
    reasons = [field(c, "finish_reason") for c in field(completion, "choices") or []]
    return {
        **clean_attributes(
            {
                semconv.RESPONSE_ID: field(completion, "id"),
                semconv.RESPONSE_MODEL: field(completion, "model"),
                semconv.FINISH_REASONS: [r for r in reasons if isinstance(r, str)] or None,
            }
        ),
        **usage_attributes(field(completion, "usage")),
    }


def embedding_attributes(response: Any) -> dict[str, AttributeValue]:
    """Model, input tokens and vector size of an embeddings response."""
    if response is None:
        return {}
    data = field(response, "data") or []
    vector = field(data[0], "embedding") if data else None
    usage = field(response, "usage")
    return clean_attributes(
        {
            semconv.RESPONSE_MODEL: field(response, "model"),
            semconv.INPUT_TOKENS: field(usage, "prompt_tokens"),
            semconv.EMBEDDING_DIMENSIONS: len(vector) if isinstance(vector, list) else None,
        }
    )


class StreamGatherer:
    """Builds the response of a streamed chat call from its chunks."""

    def __init__(self, hide_usage_chunk: bool) -> None:
        self.hide_usage_chunk = hide_usage_chunk
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.text: dict[int, list[str]] = {}
        self.finish: dict[int, str] = {}
        self.calls: dict[tuple[int, int], dict[str, Any]] = {}

    def on_chunk(self, chunk: Any) -> bool:
        """Take in one chunk; False for the usage-only chunk the caller did not ask for."""
        self.id = self.id or field(chunk, "id")
        self.model = field(chunk, "model") or self.model
        usage = field(chunk, "usage")
        if usage is not None:
            self.usage = usage
        choices = field(chunk, "choices") or []
        for choice in choices:
            index = field(choice, "index") or 0
            delta = field(choice, "delta")
            text = field(delta, "content")
            if isinstance(text, str):
                self.text.setdefault(index, []).append(text)
            for call in field(delta, "tool_calls") or []:
                slot = self.calls.setdefault(
                    (index, field(call, "index") or 0), {"id": None, "name": "", "args": []}
                )
                function = field(call, "function")
                slot["id"] = field(call, "id") or slot["id"]
                slot["name"] += field(function, "name") or ""
                slot["args"].append(field(function, "arguments") or "")
            if field(choice, "finish_reason"):
                self.finish[index] = field(choice, "finish_reason")
        return not (self.hide_usage_chunk and usage is not None and not choices)

    def attributes(self) -> dict[str, AttributeValue]:
        reasons = [self.finish[i] for i in sorted(self.finish)]
        return {
            **clean_attributes(
                {
                    semconv.RESPONSE_ID: self.id,
                    semconv.RESPONSE_MODEL: self.model,
                    semconv.FINISH_REASONS: reasons or None,
                }
            ),
            **usage_attributes(self.usage),
        }

    def outputs(self) -> tuple[list[dict[str, Any]], list[tuple[str, str, Any]]]:
        indices = sorted(set(self.text) | set(self.finish) | {i for i, _ in self.calls})
        messages: list[dict[str, Any]] = []
        calls: list[tuple[str, str, Any]] = []
        for index in indices:
            parts: list[dict[str, Any]] = []
            text = "".join(self.text.get(index, []))
            if text:
                parts.append({"type": "text", "content": text})
            for (choice, _), slot in sorted(self.calls.items()):
                if choice != index:
                    continue
                arguments = parse_arguments("".join(slot["args"]))
                parts.append(
                    {
                        "type": "tool_call",
                        "id": slot["id"],
                        "name": slot["name"],
                        "arguments": arguments,
                    }
                )
                calls.append((str(slot["id"]), slot["name"], arguments))
            messages.append(
                {"role": "assistant", "parts": parts, "finish_reason": self.finish.get(index)}
            )
        return messages, calls
