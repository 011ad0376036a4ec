"""The attribute names the SDK writes, in one place.

pyflare's CLI reads many conventions (see ``pyflare_cli/semconv.py``); it reads the current
OTel GenAI names first, so that is what the SDK writes for model calls, tools and agents.
GenAI has no span kind for chains, retrievers, rerankers, guardrails or evaluators, so every
span of the SDK also carries OpenInference's ``openinference.span.kind``. Names outside both
conventions (user context, PyTorch, error categories) are kept here too, so that the CLI's
readers and the SDK's writers can be compared at a glance.
"""

from __future__ import annotations

from typing import Final

# OTel GenAI (current names)
OPERATION: Final = "gen_ai.operation.name"
PROVIDER: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_STOP: Final = "gen_ai.request.stop_sequences"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_STREAM: Final = "gen_ai.request.stream"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
CACHE_WRITE_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
REASONING_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_TYPE: Final = "gen_ai.tool.type"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
AGENT_NAME: Final = "gen_ai.agent.name"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
EMBEDDING_DIMENSIONS: Final = "gen_ai.embeddings.dimension.count"

# OTel general
ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
HTTP_STATUS: Final = "http.response.status_code"
USER_ID: Final = "user.id"
ENVIRONMENT: Final = "deployment.environment.name"

# OpenInference
SPAN_KIND: Final = "openinference.span.kind"
SESSION_ID: Final = "session.id"
INPUT_VALUE: Final = "input.value"
INPUT_MIME: Final = "input.mime_type"
OUTPUT_VALUE: Final = "output.value"
OUTPUT_MIME: Final = "output.mime_type"
EMBEDDING_VECTOR: Final = "embedding.embeddings.0.embedding.vector"
RETRIEVAL_DOCUMENT: Final = "retrieval.documents.{index}.document.{field}"

# pyflare's own
FEATURE: Final = "pyflare.feature"
TEAM: Final = "pyflare.team"
ERROR_CATEGORY: Final = "pyflare.error.category"
TRUNCATED: Final = "pyflare.truncated"

# The span kinds of ``@pyflare.trace(kind=...)``: OpenInference kind, GenAI operation.
KINDS: Final[dict[str, tuple[str | None, str | None]]] = {
    "llm": ("LLM", "chat"),
    "embedding": ("EMBEDDING", "embeddings"),
    "tool": ("TOOL", "execute_tool"),
    "agent": ("AGENT", "invoke_agent"),
    "chain": ("CHAIN", None),
    "retriever": ("RETRIEVER", None),
    "reranker": ("RERANKER", None),
    "guardrail": ("GUARDRAIL", None),
    "evaluator": ("EVALUATOR", None),
    "workflow": (None, "invoke_workflow"),
}


def kind_attributes(kind: str | None, name: str) -> dict[str, str]:
    """The attributes that make a span of ``kind`` (named ``name``) that kind in pyflare."""
    if kind is None:
        return {}
    try:
        span_kind, operation = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown span kind {kind!r}; use one of {', '.join(KINDS)}") from None
    out = {} if span_kind is None else {SPAN_KIND: span_kind}
    if operation is not None:
        out[OPERATION] = operation
    if kind == "tool":
        out[TOOL_NAME] = name
    elif kind == "agent":
        out[AGENT_NAME] = name
    return out
