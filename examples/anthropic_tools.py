"""Anthropic tool use, traced: model calls, the tool calls asked for, and the tool's run.

The first ``messages.create`` asks for ``get_order_status``: its span has a
``tool_call get_order_status`` child; the application runs the tool under an
``execute_tool`` span and sends the result back; a streamed follow-up (``messages.stream``)
ends its span when the stream closes. The system prompt is cached, so input tokens count
the cache reads too. Offline, against the fake API::

    python examples/anthropic_tools.py && pyflare ingest traces.jsonl && pyflare traces
"""

from __future__ import annotations

import os
from typing import Any

import pyflare
from anthropic import Anthropic
from fake_llm import FakeLLMServer

MODEL = "claude-haiku-4-5"
SYSTEM = [
    {
        "type": "text",
        "text": "You are the support assistant of an online shop. Be brief.",
        "cache_control": {"type": "ephemeral"},
    }
]
TOOLS = [
    {
        "name": "get_order_status",
        "description": "Status of an order.",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    }
]


@pyflare.trace(kind="tool")
def get_order_status(order_id: str) -> str:
    return f"order {order_id}: shipped"


@pyflare.trace(kind="agent", name="support-agent")
def support(client: Anthropic, question: str) -> str:
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    reply = client.messages.create(
        model=MODEL, max_tokens=300, system=SYSTEM, tools=TOOLS, messages=messages
    )
    messages.append({"role": "assistant", "content": [b.model_dump() for b in reply.content]})
    results = []
    for block in reply.content:
        if block.type == "tool_use":
            output = get_order_status(**block.input)
            results.append({"type": "tool_result", "tool_use_id": block.id, "content": output})
    messages.append({"role": "user", "content": results})
    with client.messages.stream(
        model=MODEL, max_tokens=300, system=SYSTEM, tools=TOOLS, messages=messages
    ) as stream:
        return "".join(stream.text_stream)


def main(export: str = "file://traces.jsonl") -> None:
    handle = pyflare.init(service_name="shop-support", export=export, instrument=["anthropic"])
    with FakeLLMServer() as server:
        client = Anthropic(base_url=server.anthropic_url, api_key="sk-ant-fake")
        with pyflare.attributes(user_id="user-7", session_id="session-9", team="support"):
            print(support(client, "Where is my order A-1001?"))
    handle.shutdown()


if __name__ == "__main__":
    main(os.environ.get("PYFLARE_EXPORT", "file://traces.jsonl"))
