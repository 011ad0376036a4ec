"""A pipeline over several models, traced end to end into one trace per request.

Per request: embed the question (OpenAI embeddings), retrieve (a traced retriever),
rerank with a local model reported with ``record_usage``, draft with Claude (tool use,
cached system prompt), polish with a streamed GPT-4o answer; documents are scored in a
thread pool with ``pyflare.bind`` so those spans stay in the trace. ``pyflare.attributes``
stamps user, session, feature and team on every span, so cost is attributable per user::

    python examples/multi_model_pipeline.py && pyflare ingest traces.jsonl
    pyflare cost --by user && pyflare cost --by model && pyflare traces
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyflare
from anthropic import Anthropic
from fake_llm import FakeLLMServer
from openai import OpenAI

KNOWLEDGE = [
    "Refunds are paid within 5 business days.",
    "Orders ship within 24 hours on weekdays.",
    "Premium support answers within one hour.",
]
SYSTEM = [
    {
        "type": "text",
        "text": "You draft replies for the support team of an online shop.",
        "cache_control": {"type": "ephemeral"},
    }
]
LOOKUP = {
    "name": "lookup_order",
    "description": "Look an order up.",
    "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}},
}


@pyflare.trace(kind="retriever")
def retrieve(vector: list[float], k: int = 2) -> list[str]:
    return KNOWLEDGE[:k]


@pyflare.trace(kind="reranker", name="rerank local-cross-encoder")
def rerank(question: str, documents: list[str]) -> list[str]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        scores = list(pool.map(pyflare.bind(score), documents, [question] * len(documents)))
    pyflare.record_usage(
        model="local-cross-encoder", provider="self-hosted", input_tokens=len(documents) * 64
    )
    return [doc for _, doc in sorted(zip(scores, documents, strict=True), reverse=True)]


@pyflare.trace(kind="evaluator")
def score(document: str, question: str) -> float:
    return len(set(document.lower().split()) & set(question.lower().split())) / 10


@pyflare.trace(kind="tool")
def lookup_order(order_id: str) -> str:
    return f"{order_id}: shipped"


@pyflare.trace(kind="workflow", name="answer_request")
def answer(openai_client: OpenAI, claude: Anthropic, question: str) -> str:
    embedded = openai_client.embeddings.create(model="text-embedding-3-small", input=question)
    documents = rerank(question, retrieve(embedded.data[0].embedding))
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": f"{question}\nContext: {' '.join(documents)}"}
    ]
    draft = claude.messages.create(
        model="claude-haiku-4-5", max_tokens=400, system=SYSTEM, tools=[LOOKUP], messages=messages
    )
    results = [
        {"type": "tool_result", "tool_use_id": b.id, "content": lookup_order("A-1001")}
        for b in draft.content
        if b.type == "tool_use"
    ]
    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in draft.content]},
        {"role": "user", "content": results},
    ]
    second = claude.messages.create(model="claude-haiku-4-5", max_tokens=400, messages=messages)
    text = "".join(b.text for b in second.content if b.type == "text")
    stream = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": f"Polish this reply: {text}"}],
        stream=True,
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def main(export: str = "file://traces.jsonl", endpoint: str | None = None) -> None:
    handle = pyflare.init(
        service_name="support-pipeline",
        service_version="1.4.0",
        environment="dev",
        export=export,
        endpoint=endpoint,
        instrument=["openai", "anthropic"],
    )
    with FakeLLMServer() as server:
        openai_client = OpenAI(base_url=server.openai_url, api_key="sk-fake")
        claude = Anthropic(base_url=server.anthropic_url, api_key="sk-ant-fake")
        for user, question in (("alice", "Where is order A-1001?"), ("bob", "Refund time?")):
            with pyflare.attributes(user_id=user, session_id=f"s-{user}", feature="support"):
                print(user, "->", answer(openai_client, claude, question))
    handle.shutdown()


if __name__ == "__main__":
    main(os.environ.get("PYFLARE_EXPORT", "file://traces.jsonl"))
