"""Streamed OpenAI answers, sync and async: the span ends with the stream, with its usage.

The wrapper asks the API to report usage in the stream (``stream_options``) and keeps that
extra chunk from the caller, so a streamed call is priced like any other. A traced
generator re-streams the text: its span covers the whole iteration. Offline, against the
fake API::

    python examples/openai_streaming.py && pyflare ingest traces.jsonl && pyflare cost --by model
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pyflare
from fake_llm import FakeLLMServer
from openai import AsyncOpenAI, OpenAI


@pyflare.trace(kind="chain")
def stream_answer(client: OpenAI, question: str) -> Iterator[str]:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


async def stream_async(client: AsyncOpenAI, question: str) -> str:
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": question}], stream=True
    )
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream]
    return "".join(parts)


@pyflare.trace(kind="workflow")
async def both(client: AsyncOpenAI) -> list[str]:
    questions = ["What is OTLP?", "What is a span?"]
    return list(await asyncio.gather(*(stream_async(client, q) for q in questions)))


def main(export: str = "file://traces.jsonl") -> None:
    handle = pyflare.init(service_name="streaming-chat", export=export, instrument=["openai"])
    with FakeLLMServer() as server:
        client = OpenAI(base_url=server.openai_url, api_key="sk-fake")
        print("".join(stream_answer(client, "Explain streaming in one line")))
        async_client = AsyncOpenAI(base_url=server.openai_url, api_key="sk-fake")
        print(asyncio.run(both(async_client)))
    handle.shutdown()


if __name__ == "__main__":
    main(os.environ.get("PYFLARE_EXPORT", "file://traces.jsonl"))
