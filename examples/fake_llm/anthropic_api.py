"""The Anthropic Messages payloads of the fake, plain and streamed."""

from __future__ import annotations

import json
from typing import Any

from fake_llm.scenario import Scenario, ident


def _usage(scenario: Scenario, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": scenario.input_tokens - scenario.cache_read,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": scenario.cache_read,
        "cache_creation_input_tokens": 0,
    }


def _blocks(body: dict[str, Any], scenario: Scenario) -> list[dict[str, Any]]:
    if scenario.tool is not None:
        return [
            {"type": "text", "text": "Let me look that up."},
            {
                "type": "tool_use",
                "id": ident("toolu_", body)[:30],
                "name": scenario.tool["name"],
                "input": scenario.tool["arguments"],
            },
        ]
    return [{"type": "text", "text": scenario.answer}]


def message_response(body: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """A ``message`` object."""
    return {
        "id": ident("msg_", body),
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": _blocks(body, scenario),
        "stop_reason": "tool_use" if scenario.tool is not None else "end_turn",
        "stop_sequence": None,
        "usage": _usage(scenario, scenario.output_tokens),
    }


def message_events(
    body: dict[str, Any], scenario: Scenario
) -> list[tuple[str | None, dict[str, Any] | str]]:
    """The server-sent events of a streamed message, as the API sends them."""
    start = message_response(body, scenario)
    start.update(content=[], stop_reason=None, usage=_usage(scenario, 1))
    events: list[tuple[str | None, dict[str, Any] | str]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(_blocks(body, scenario)):
        if block["type"] == "text":
            empty = {"type": "text", "text": ""}
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": empty},
                )
            )
            for i, word in enumerate(block["text"].split(" ")):
                delta = {"type": "text_delta", "text": word if i == 0 else " " + word}
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
        else:
            opened = {**block, "input": {}}
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": opened},
                )
            )
            raw = json.dumps(block["input"])
            for piece in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
                delta = {"type": "input_json_delta", "partial_json": piece}
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    stop = "tool_use" if scenario.tool is not None else "end_turn"
    delta_event = {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": scenario.output_tokens},
    }
    events.append(("message_delta", delta_event))
    events.append(("message_stop", {"type": "message_stop"}))
    return events
