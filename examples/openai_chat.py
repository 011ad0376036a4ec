"""OpenAI chat with a tool, traced: one ``chat gpt-4o-mini`` span per call, tokens and costs.

Runs offline against the local fake of the OpenAI API (``fake_llm``); to use the real API,
drop the fake and build ``OpenAI()`` from ``OPENAI_API_KEY``. Spans go to ``traces.jsonl``
(or ``$PYFLARE_EXPORT``, e.g. ``http`` for a running ``pyflare receive``)::

    python examples/openai_chat.py && pyflare ingest traces.jsonl && pyflare traces
"""

from __future__ import annotations

import json
import os

import openai
import pyflare
from fake_llm import FakeLLMServer
from openai import OpenAI

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pyflare.trace(kind="tool")
def get_weather(city: str) -> str:
    return f"Sunny and 21C in {city}"


@pyflare.trace(kind="chain")
def answer(client: OpenAI, question: str) -> str:
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "You are a concise travel assistant."},
        {"role": "user", "content": question},
    ]
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL], temperature=0.2
    )
    message = reply.choices[0].message
    if not message.tool_calls:
        return message.content or ""
    messages.append(message.model_dump(exclude_none=True))
    for call in message.tool_calls:
        result = get_weather(**json.loads(call.function.arguments))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    final = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    return final.choices[0].message.content or ""


def main(export: str = "file://traces.jsonl") -> None:
    handle = pyflare.init(service_name="travel-chat", export=export, instrument=["openai"])
    with FakeLLMServer() as server:
        client = OpenAI(base_url=server.openai_url, api_key="sk-fake", max_retries=0)
        with pyflare.attributes(user_id="user-42", session_id="session-1", feature="chat"):
            print(answer(client, "Paris"))
            try:  # the fake answers 429: the span records rate_limit
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "[rate_limit]"}]
                )
            except openai.RateLimitError as error:
                print("rate limited:", error.status_code)
    handle.shutdown()


if __name__ == "__main__":
    main(os.environ.get("PYFLARE_EXPORT", "file://traces.jsonl"))
