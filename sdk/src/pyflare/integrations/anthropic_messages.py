"""Anthropic Messages requests, responses and stream events as OTel GenAI attributes.

Anthropic counts ``input_tokens`` without the cached prompt; OTel GenAI (and pyflare's
pricing) count input tokens with it, so ``gen_ai.usage.input_tokens`` is the sum of the
three, and the cache reads and writes are reported apart to be priced at their own rates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from opentelemetry.util.types import AttributeValue

from pyflare import semconv
from pyflare.integrations.llm import clean_attributes, parse_arguments
from pyflare.integrations.openai_messages import field


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content or []:
        kind = field(block, "type")
        if kind == "text":
            parts.append({"type": "text", "content": field(block, "text")})
        elif kind == "tool_use":
            parts.append(
                {
                    "type": "tool_call",
                    "id": field(block, "id"),
                    "name": field(block, "name"),
                    "arguments": field(block, "input"),
                }
            )
        elif kind == "tool_result":
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": field(block, "tool_use_id"),
                    "response": field(block, "content"),
                }
            )
        elif kind is not None:
            parts.append({"type": str(kind)})
    return parts


def inputs(messages: Iterable[Any]) -> list[dict[str, Any]]:
    """The request's messages as GenAI input messages."""
    return [{"role": field(m, "role"), "parts": _parts(field(m, "content"))} for m in messages]


def system_instructions(system: Any) -> list[dict[str, Any]] | None:
    """The ``system`` parameter as GenAI system instructions (None when not given)."""
    if isinstance(system, str | list):
        return _parts(system)
    return None


def tool_calls(parts: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    return [
        (str(p["id"]), str(p["name"]), p["arguments"]) for p in parts if p["type"] == "tool_call"
    ]


def usage_attributes(usage: Any) -> dict[str, AttributeValue]:
    if usage is None:
        return {}
    values = {
        "input": field(usage, "input_tokens"),
        "read": field(usage, "cache_read_input_tokens"),
        "write": field(usage, "cache_creation_input_tokens"),
    }
    counts = [v for v in values.values() if isinstance(v, int)]
    return clean_attributes(
        {
            semconv.INPUT_TOKENS: sum(counts) if counts else None,
            semconv.OUTPUT_TOKENS: field(usage, "output_tokens"),
            semconv.CACHE_READ_TOKENS: values["read"],
            semconv.CACHE_WRITE_TOKENS: values["write"],
        }
    )


def response_attributes(message: Any) -> dict[str, AttributeValue]:
    if message is None:
        return {}
    stop = field(message, "stop_reason")
    return {
        **clean_attributes(
            {
                semconv.RESPONSE_ID: field(message, "id"),
                semconv.RESPONSE_MODEL: field(message, "model"),
                semconv.FINISH_REASONS: [stop] if isinstance(stop, str) else None,
            }
        ),
        **usage_attributes(field(message, "usage")),
    }


def outputs(message: Any) -> list[dict[str, Any]]:
    if message is None:
        return []
    parts = _parts(field(message, "content"))
    return [{"role": "assistant", "parts": parts, "finish_reason": field(message, "stop_reason")}]


class EventGatherer:
    """Builds the message of a streamed call from its events."""

    def __init__(self) -> None:
        self.message: dict[str, Any] = {"content": []}
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json: dict[int, list[str]] = {}

    def on_event(self, event: Any) -> bool:
        kind = field(event, "type")
        if kind == "message_start":
            message = field(event, "message")
            self.message.update(id=field(message, "id"), model=field(message, "model"))
            self._usage(field(message, "usage"))
        elif kind == "content_block_start":
            block = field(event, "content_block")
            index = field(event, "index") or 0
            self.blocks[index] = {
                "type": field(block, "type"),
                "text": field(block, "text") or "",
                "id": field(block, "id"),
                "name": field(block, "name"),
            }
        elif kind == "content_block_delta":
            self._delta(field(event, "index") or 0, field(event, "delta"))
        elif kind == "message_delta":
            self.message["stop_reason"] = field(field(event, "delta"), "stop_reason")
            self._usage(field(event, "usage"))
        return True

    def _delta(self, index: int, delta: Any) -> None:
        block = self.blocks.setdefault(index, {"type": "text", "text": ""})
        if field(delta, "type") == "text_delta":
            block["text"] = (block.get("text") or "") + (field(delta, "text") or "")
        elif field(delta, "type") == "input_json_delta":
            self.json.setdefault(index, []).append(field(delta, "partial_json") or "")

    def _usage(self, usage: Any) -> None:
        for name in ("input_tokens", "output_tokens", "cache_read_input_tokens"):
            value = field(usage, name)
            if isinstance(value, int):
                self.usage[name] = value
        value = field(usage, "cache_creation_input_tokens")
        if isinstance(value, int):
            self.usage["cache_creation_input_tokens"] = value

    def result(self) -> dict[str, Any]:
        """The message as the API would have returned it, as far as the stream went."""
        content = []
        for index in sorted(self.blocks):
            block = self.blocks[index]
            if block["type"] == "tool_use":
                raw = "".join(self.json.get(index, []))
                arguments = parse_arguments(raw) if raw else {}
                content.append(
                    {
                        "type": "tool_use",
                        "id": block["id"],
                        "name": block["name"],
                        "input": arguments,
                    }
                )
            else:
                content.append({"type": block["type"], "text": block.get("text")})
        return {**self.message, "content": content, "usage": self.usage or None}
