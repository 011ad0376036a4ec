"""rag-api's side of a ``search_docs`` call, instrumented OpenInference-style.

rag-api is the one service that speaks OpenInference (``openinference.span.kind``,
``llm.*``, ``embedding.*``, ``retrieval.documents.N.*``), so pyflare's normalisation has two
conventions to reconcile in one trace. The rag-api deploy incident lives here: version 2.0.0
rewrites every query with gpt-4o-mini and retrieves more candidates, slowing ``retrieve``.
"""

from __future__ import annotations

import functools
import json
import math
import random

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from pyflare_cli.demo import text
from pyflare_cli.demo.llm import draw_call, error_message, retry_events
from pyflare_cli.demo.scenario import RAG_API, SCOPE_FASTAPI, SCOPE_OPENINFERENCE
from pyflare_cli.demo.spans import INTERNAL, SERVER, AttrValue, Trace, fail, http_error, ns, put

EMBEDDING_NOISE = 0.1
"""Per-dimension spread of query embeddings around their topic's centre."""


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@functools.cache
def topic_centers(topics: tuple[str, ...], dims: int) -> dict[str, tuple[float, ...]]:
    """Fixed (seed-independent) unit vectors, one per topic: the embedding clusters."""
    rng = random.Random(1616)
    return {topic: tuple(_unit([rng.gauss(0.0, 1.0) for _ in range(dims)])) for topic in topics}


@functools.cache
def shift_direction(dims: int) -> tuple[float, ...]:
    """The fixed direction the embeddings move in during the embedding-shift incident."""
    rng = random.Random(4242)
    return tuple(_unit([rng.gauss(0.0, 1.0) for _ in range(dims)]))


def embedding(tr: Trace, topic: str) -> tuple[float, ...]:
    world = tr.world
    dims = world.embedding_dims
    center = topic_centers(world.topics, dims)[topic]
    gauss = tr.rng.gauss
    vector = [c + gauss(0.0, EMBEDDING_NOISE) for c in center]
    if tr.embedding_shift:
        magnitude = world.incidents.embedding_shift.magnitude
        vector = [v + magnitude * d for v, d in zip(vector, shift_direction(dims), strict=True)]
    return tuple(round(x, 6) for x in _unit(vector))


def _session(tr: Trace) -> list[tuple[str, AttrValue]]:
    return [("session.id", tr.session), ("user.id", tr.user)] if tr.session else []


def rag_request(tr: Trace, parent: bytes, start_ns: int, query: str, topic: str) -> tuple[int, int]:
    """Serve ``POST /v1/retrieve``; return (end ns, HTTP status)."""
    rng, world = tr.rng, tr.world
    deploy = world.incidents.rag_deploy
    server = tr.start(RAG_API, SCOPE_FASTAPI, "POST /v1/retrieve", SERVER, parent, start_ns)
    t = start_ns + ns(rng.uniform(0.4, 2.0))
    if tr.rag_deployed or rng.random() < 0.5:
        t, query = _rewrite(tr, server.span_id, t, query)
    retrieve = tr.start(RAG_API, SCOPE_OPENINFERENCE, "retrieve", INTERNAL, server.span_id, t)
    embed_end = _embed(tr, retrieve.span_id, t + ns(rng.uniform(0.1, 0.5)), query, topic)
    embed_ms = (embed_end - t) / 1e6
    search_ms = 90.0 * rng.lognormvariate(0.0, 0.4)
    if tr.rag_deployed:
        # Scale the search so that the whole retrieve span is ~slowdown x slower.
        search_ms = deploy.retriever_slowdown * (embed_ms + search_ms) - embed_ms
    t = embed_end + ns(search_ms)
    retrieve.end_time_unix_nano = t
    top_k = 10 if tr.rag_deployed else 6
    put(
        retrieve,
        [
            ("openinference.span.kind", "RETRIEVER"),
            ("input.value", query),
            *_session(tr),
        ],
    )
    status = 200
    if rng.random() < world.retriever_error_rate:
        kind = world.error("VectorStoreTimeout")
        stack = text.stacktrace("rag", kind.exception_type, kind.message)
        fail(retrieve, kind, t, kind.message, stack, error_type=False)
        status = kind.http_status
    else:
        ids = _documents(tr, retrieve, topic, top_k)
        t = _rerank(tr, server.span_id, t + ns(rng.uniform(0.2, 1.0)), query, ids)
    end = t + ns(rng.uniform(0.5, 2.5))
    server.end_time_unix_nano = end
    put(
        server,
        [
            ("http.request.method", "POST"),
            ("http.route", "/v1/retrieve"),
            ("url.path", "/v1/retrieve"),
            ("url.scheme", "http"),
            ("server.address", "rag-api"),
            ("server.port", 8000),
            ("http.response.status_code", status),
        ],
    )
    if status >= 500:
        http_error(server, status)
    return end, status


def _rewrite(tr: Trace, parent: bytes, start: int, query: str) -> tuple[int, str]:
    """The OpenInference LLM span that rewrites the query (falls back to it on error)."""
    call = draw_call(tr, tr.world.model(tr.world.rewrite_model), "rewrite")
    span = tr.start(RAG_API, SCOPE_OPENINFERENCE, "OpenAI.chat", INTERNAL, parent, start)
    end = start + ns(call.duration_ms)
    span.end_time_unix_nano = end
    params = json.dumps({"model": call.model.name, "temperature": 0.0, "max_tokens": 64})
    attrs: list[tuple[str, AttrValue]] = [
        ("openinference.span.kind", "LLM"),
        ("llm.provider", call.model.provider),
        ("llm.system", "openai"),
        ("llm.model_name", call.model.name),
        ("llm.invocation_parameters", params),
        ("input.value", query),
        ("input.mime_type", "text/plain"),
        ("llm.input_messages.0.message.role", "user"),
        ("llm.input_messages.0.message.content", query),
        *_session(tr),
    ]
    retry_events(span, start, call)
    if call.error is not None:
        put(span, attrs)
        message = error_message(call)
        stack = text.stacktrace("openai", call.error.exception_type, message)
        fail(span, call.error, end, message, stack, error_type=False)
        return end + ns(tr.rng.uniform(0.2, 1.0)), query
    rewritten = f"{query.rstrip('?!. ')} (support knowledge base)"
    attrs += [
        ("output.value", rewritten),
        ("llm.output_messages.0.message.role", "assistant"),
        ("llm.output_messages.0.message.content", rewritten),
        ("llm.token_count.prompt", call.input_tokens),
        ("llm.token_count.completion", call.output_tokens),
        ("llm.token_count.total", call.input_tokens + call.output_tokens),
    ]
    put(span, attrs)
    return end + ns(tr.rng.uniform(0.2, 1.0)), rewritten


def _embed(tr: Trace, parent: bytes, start: int, query: str, topic: str) -> int:
    model = tr.world.model(tr.world.embedding_model)
    span = tr.start(RAG_API, SCOPE_OPENINFERENCE, "OpenAIEmbedding", INTERNAL, parent, start)
    end = start + ns(model.ttft_ms * tr.rng.lognormvariate(0.35, 0.35))
    span.end_time_unix_nano = end
    tokens = max(4, len(query) // 4)
    put(
        span,
        [
            ("openinference.span.kind", "EMBEDDING"),
            ("embedding.model_name", model.name),
            ("llm.provider", model.provider),
            ("embedding.embeddings.0.embedding.text", query),
            ("embedding.embeddings.0.embedding.vector", embedding(tr, topic)),
            ("llm.token_count.prompt", tokens),
            ("llm.token_count.total", tokens),
            *_session(tr),
        ],
    )
    return end


def _documents(tr: Trace, span: Span, topic: str, k: int) -> list[str]:
    rng = tr.rng
    base = tr.world.topics.index(topic) * 100
    scores = sorted((rng.uniform(0.45, 0.93) for _ in range(k)), reverse=True)
    ids = [f"kb-{base + rng.randrange(100):04d}" for _ in range(k)]
    attrs: list[tuple[str, AttrValue]] = []
    for i, (doc_id, score) in enumerate(zip(ids, scores, strict=True)):
        title = text.DOC_TITLES[(base // 100 + i) % len(text.DOC_TITLES)]
        prefix = f"retrieval.documents.{i}.document."
        attrs += [
            (prefix + "id", doc_id),
            (prefix + "content", f"{title}: {text.text(rng, 140)}"),
            (prefix + "score", round(score, 4)),
        ]
    attrs.append(("retrieval.documents.0.document.metadata", json.dumps({"source": "kb"})))
    put(span, attrs)
    return ids


def _rerank(tr: Trace, parent: bytes, start: int, query: str, ids: list[str]) -> int:
    rng, world = tr.rng, tr.world
    span = tr.start(RAG_API, SCOPE_OPENINFERENCE, "rerank", INTERNAL, parent, start)
    end = start + ns(8.0 * len(ids) * rng.lognormvariate(0.0, 0.3))
    span.end_time_unix_nano = end
    top = ids[:3] if rng.random() < 0.6 else ids[-3:]
    scores = sorted((rng.uniform(0.3, 0.99) for _ in top), reverse=True)
    attrs: list[tuple[str, AttrValue]] = [
        ("openinference.span.kind", "RERANKER"),
        ("reranker.model_name", world.reranker_model),
        ("reranker.query", query),
        ("reranker.top_k", 3),
        *_session(tr),
    ]
    for i, (doc_id, score) in enumerate(zip(top, scores, strict=True)):
        prefix = f"reranker.output_documents.{i}.document."
        attrs += [(prefix + "id", doc_id), (prefix + "score", round(score, 4))]
    put(span, attrs)
    return end
