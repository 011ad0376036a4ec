"""LangChain messages, generations and documents as OTel GenAI / OpenInference attributes.

LangChain normalises usage across providers in ``AIMessage.usage_metadata`` (input tokens
with the cached ones, output tokens with the reasoning ones, as GenAI counts); older or
non-chat models report ``llm_output["token_usage"]`` in OpenAI's names, read as a fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from pyflare import content, semconv
from pyflare.integrations.llm import clean_attributes
from pyflare.integrations.openai_messages import field

ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
MAX_DOCUMENTS = 20


def _parts(message: Any) -> list[dict[str, Any]]:
    body = field(message, "content")
    parts: list[dict[str, Any]] = []
    if field(message, "type") == "tool":
        return [
            {"type": "tool_call_response", "id": field(message, "tool_call_id"), "response": body}
        ]
    if isinstance(body, str):
        if body:
            parts.append({"type": "text", "content": body})
    else:
        for block in body or []:
            if isinstance(block, str):
                parts.append({"type": "text", "content": block})
            elif field(block, "type") == "text":
                parts.append({"type": "text", "content": field(block, "text")})
    for call in field(message, "tool_calls") or []:
        parts.append(
            {
                "type": "tool_call",
                "id": field(call, "id"),
                "name": field(call, "name"),
                "arguments": field(call, "args"),
            }
        )
    return parts


def message(item: Any) -> dict[str, Any]:
    """One LangChain message as a GenAI message."""
    kind = str(field(item, "type") or "")
    role = ROLES.get(kind, field(item, "role") or kind)
    return {"role": role, "parts": _parts(item)}


def inputs(messages: Iterable[Any]) -> list[dict[str, Any]]:
    return [message(m) for m in messages]


def generation_messages(response: Any) -> list[Any]:
    """The first generation of each prompt of an ``LLMResult`` (message or text)."""
    out = []
    for generations in field(response, "generations") or []:
        if generations:
            out.append(generations[0])
    return out


def finish_reason(generation: Any) -> str | None:
    info = field(generation, "generation_info") or {}
    metadata = field(field(generation, "message"), "response_metadata") or {}
    for source in (info, metadata):
        for key in ("finish_reason", "stop_reason"):
            value = source.get(key) if isinstance(source, Mapping) else None
            if isinstance(value, str):
                return value
    return None


def outputs(generations: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str, Any]]]:
    messages: list[dict[str, Any]] = []
    calls: list[tuple[str, str, Any]] = []
    for generation in generations:
        item = field(generation, "message")
        out: dict[str, Any]
        if item is None:
            text = field(generation, "text") or ""
            out = {"role": "assistant", "parts": [{"type": "text", "content": text}]}
        else:
            out = message(item)
            calls += [
                (str(p["id"]), str(p["name"]), p["arguments"])
                for p in out["parts"]
                if p["type"] == "tool_call"
            ]
        out["finish_reason"] = finish_reason(generation)
        messages.append(out)
    return messages, calls


def usage(response: Any, generations: list[Any]) -> dict[str, AttributeValue]:
    """Token counts of an ``LLMResult``, summed over its prompts."""
    totals: dict[str, int] = {}

    def add(key: str, value: Any) -> None:
        if isinstance(value, int):
            totals[key] = totals.get(key, 0) + value

    for generation in generations:
        meta = field(field(generation, "message"), "usage_metadata")
        if not meta:
            continue
        add(semconv.INPUT_TOKENS, field(meta, "input_tokens"))
        add(semconv.OUTPUT_TOKENS, field(meta, "output_tokens"))
        details = field(meta, "input_token_details") or {}
        add(semconv.CACHE_READ_TOKENS, field(details, "cache_read"))
        add(semconv.CACHE_WRITE_TOKENS, field(details, "cache_creation"))
        add(semconv.REASONING_TOKENS, field(field(meta, "output_token_details") or {}, "reasoning"))
    if totals:
        return dict(totals)
    token_usage = field(field(response, "llm_output") or {}, "token_usage") or {}
    return clean_attributes(
        {
            semconv.INPUT_TOKENS: field(token_usage, "prompt_tokens"),
            semconv.OUTPUT_TOKENS: field(token_usage, "completion_tokens"),
        }
    )


def response_model(response: Any, generations: list[Any]) -> str | None:
    for generation in generations:
        metadata = field(field(generation, "message"), "response_metadata") or {}
        for key in ("model_name", "model"):
            value = metadata.get(key) if isinstance(metadata, Mapping) else None
            if isinstance(value, str):
                return value
    value = field(field(response, "llm_output") or {}, "model_name")
    return value if isinstance(value, str) else None


def set_documents(span: Span, documents: Iterable[Any]) -> None:
    """OpenInference ``retrieval.documents.N.document.{id,content,score,metadata}``."""
    if not content.capturing():
        return
    for index, document in enumerate(list(documents)[:MAX_DOCUMENTS]):

        def key(name: str, i: int = index) -> str:
            return semconv.RETRIEVAL_DOCUMENT.format(index=i, field=name)

        metadata = field(document, "metadata") or {}
        doc_id = field(document, "id")
        if doc_id is not None:
            span.set_attribute(key("id"), str(doc_id))
        content.set_text(span, key("content"), field(document, "page_content") or "")
        score = metadata.get("score") if isinstance(metadata, Mapping) else None
        if isinstance(score, int | float):
            span.set_attribute(key("score"), float(score))
        if metadata:
            content.set_text(span, key("metadata"), metadata)
