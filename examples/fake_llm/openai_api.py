"""The OpenAI Chat Completions and Embeddings payloads of the fake, plain and streamed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fake_llm.scenario import Scenario, ident, tokens

CREATED = 1_763_640_000


def _usage(scenario: Scenario) -> dict[str, Any]:
    return {
        "prompt_tokens": scenario.input_tokens,
        "completion_tokens": scenario.output_tokens,
        "total_tokens": scenario.input_tokens + scenario.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _tool_call(body: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    assert scenario.tool is not None
    return {
        "id": ident("call_", body)[:29],
        "type": "function",
        "function": {
            "name": scenario.tool["name"],
            "arguments": json.dumps(scenario.tool["arguments"]),
        },
    }


def chat_response(body: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """A ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if scenario.tool is not None:
        message["tool_calls"] = [_tool_call(body, scenario)]
        finish = "tool_calls"
    else:
        message["content"] = scenario.answer
        finish = "stop"
    return {
        "id": ident("chatcmpl-", body),
        "object": "chat.completion",
        "created": CREATED,
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(scenario),
    }


def chat_events(body: dict[str, Any], scenario: Scenario) -> list[dict[str, Any] | str]:
    """The ``chat.completion.chunk`` events of a streamed answer, then ``[DONE]``."""
    base = {
        "id": ident("chatcmpl-", body),
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": body.get("model"),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {**base, "choices": [choice]}

    events: list[dict[str, Any] | str] = [chunk({"role": "assistant", "content": ""})]
    if scenario.tool is not None:
        call = _tool_call(body, scenario)
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        first = {"index": 0, "id": call["id"], "type": "function"}
        first["function"] = {"name": call["function"]["name"], "arguments": arguments[:half]}
        events.append(chunk({"tool_calls": [first]}))
        rest = {"index": 0, "function": {"arguments": arguments[half:]}}
        events.append(chunk({"tool_calls": [rest]}))
        events.append(chunk({}, "tool_calls"))
    else:
        words = scenario.answer.split(" ")
        for i, word in enumerate(words):
            events.append(chunk({"content": word if i == 0 else " " + word}))
        events.append(chunk({}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**base, "choices": [], "usage": _usage(scenario)})
    events.append("[DONE]")
    return events


def embeddings_response(body: dict[str, Any]) -> dict[str, Any]:
    """An embeddings list: 8 deterministic floats per input."""
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
    data = []
    for index, text in enumerate(texts):
        digest = hashlib.sha256(str(text).encode()).digest()
        vector = [round(b / 255 - 0.5, 4) for b in digest[:8]]
        data.append({"object": "embedding", "index": index, "embedding": vector})
    used = sum(tokens(str(t)) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": used, "total_tokens": used},
    }
