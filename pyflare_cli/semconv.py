"""Every attribute name that feeds a canonical column, for every convention, in one table.

Instrumentations disagree on names: OTel GenAI renamed its attributes several times,
OpenInference (Phoenix/Arize), OpenLLMetry (Traceloop) and Langfuse each have their own.
:data:`RULES` lists, per canonical column, the names each convention uses, newest and most
specific first; normalisation takes the first one present on a span. Adding a convention
is adding rows here, not code.

Keys are namespaced by where the value lives: a plain key is a span attribute,
``resource:<key>`` a resource attribute, ``event:<event name>:<key>`` an attribute of a
span event. ``{n}`` in a key matches a list index (``llm.input_messages.0.message.content``);
the values of all indices are joined with newlines, in index order.

Transforms applied to the raw string value before the first-present choice:

- ``lower``: lower-case it.
- ``first``: the value is a JSON array; take its first element.
- ``json:<field>``: the value is a JSON object; take ``field`` (``a.b`` for a nested one).
- ``jsonpath:<path>``: take the JSONPath ``path`` (``$[0].finish_reason``).
- ``sum:<field>,<field>``: the value is a JSON object; add up these numeric fields.
- ``map:<table>``: translate through :data:`VALUE_MAPS` (unknown values give null).
- ``text``: the readable text of structured messages (:mod:`pyflare_cli.sources.messages`).
- ``unquote``: a JSON string literal (``"stop"``, as Langfuse writes metadata values) is
  decoded; any other value is kept as it is.

A key may hold ``{n}`` more than once (``...messages.{n}.message.contents.{n}...``): the
values are then ordered by each index in turn.

Columns outside the canonical schema (``level``, ``system_instructions``) are read here
and folded into canonical columns by normalisation: a Langfuse ``ERROR`` level makes the
span an error, system instructions open the input text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GENAI = "otel-genai"
GENAI_OLD = "otel-genai-deprecated"
OPENINFERENCE = "openinference"
OPENLLMETRY = "openllmetry"
LANGFUSE = "langfuse"
OTEL = "otel"

CONVENTIONS = (GENAI, GENAI_OLD, OPENINFERENCE, OPENLLMETRY, LANGFUSE, OTEL)


@dataclass(frozen=True)
class Rule:
    """One attribute name that feeds one canonical column."""

    column: str
    key: str
    convention: str
    transform: str | None = None


VALUE_MAPS: dict[str, dict[str, str]] = {
    "genai_operation": {
        "chat": "llm",
        "text_completion": "llm",
        "generate_content": "llm",
        "embeddings": "embedding",
        "execute_tool": "tool",
        "invoke_agent": "agent",
        "create_agent": "agent",
        "invoke_workflow": "workflow",
        "retrieval": "retriever",
    },
    "openinference_kind": {
        "llm": "llm",
        "embedding": "embedding",
        "retriever": "retriever",
        "reranker": "reranker",
        "tool": "tool",
        "agent": "agent",
        "chain": "chain",
        "guardrail": "guardrail",
        "evaluator": "evaluator",
        "prompt": "prompt",
        # "unknown" is the spec's own word for "not said": no kind.
    },
    "traceloop_kind": {
        "workflow": "workflow",
        "task": "chain",
        "agent": "agent",
        "tool": "tool",
    },
    "traceloop_request_type": {
        "chat": "llm",
        "completion": "llm",
        "embedding": "embedding",
        "rerank": "reranker",
    },
    "langfuse_type": {
        "generation": "llm",
        "embedding": "embedding",
        "agent": "agent",
        "tool": "tool",
        "chain": "chain",
        "retriever": "retriever",
        "evaluator": "evaluator",
        "guardrail": "guardrail",
        "span": "chain",
    },
}


def _rules(column: str, *entries: tuple[str, str] | tuple[str, str, str]) -> list[Rule]:
    out = []
    for entry in entries:
        key, convention = entry[0], entry[1]
        transform = entry[2] if len(entry) == 3 else None
        out.append(Rule(column, key, convention, transform))
    return out


RULES: tuple[Rule, ...] = tuple(
    _rules(
        "service_name",
        ("resource:service.name", OTEL),
    )
    + _rules(
        "service_version",
        ("resource:service.version", OTEL),
        ("resource:langfuse.release", LANGFUSE),
        ("langfuse.release", LANGFUSE),
        ("langfuse.version", LANGFUSE),
    )
    + _rules(
        "environment",
        ("resource:deployment.environment.name", OTEL),
        ("resource:deployment.environment", OTEL),
        ("langfuse.environment", LANGFUSE),
        ("deployment.environment.name", OTEL),
    )
    + _rules(
        "ai_kind",
        ("langfuse.observation.type", LANGFUSE, "map:langfuse_type"),
        ("openinference.span.kind", OPENINFERENCE, "map:openinference_kind"),
        ("gen_ai.operation.name", GENAI, "map:genai_operation"),
        ("traceloop.span.kind", OPENLLMETRY, "map:traceloop_kind"),
        ("llm.request.type", OPENLLMETRY, "map:traceloop_request_type"),
    )
    + _rules(
        "provider",
        ("gen_ai.provider.name", GENAI, "lower"),
        ("gen_ai.system", GENAI_OLD, "lower"),
        ("llm.provider", OPENINFERENCE, "lower"),
        ("llm.system", OPENINFERENCE, "lower"),
        ("llm.vendor", OPENLLMETRY, "lower"),
    )
    + _rules(
        "response_model",
        ("gen_ai.response.model", GENAI),
        ("llm.response.model", OPENLLMETRY),
        ("langfuse.observation.model.name", LANGFUSE),
        ("llm.response.model_name", OPENINFERENCE),
        ("llm.model_name", OPENINFERENCE),
        ("embedding.model_name", OPENINFERENCE),
        ("reranker.model_name", OPENINFERENCE),
    )
    + _rules(
        "request_model",
        ("gen_ai.request.model", GENAI),
        ("llm.request.model", OPENLLMETRY),
        ("llm.request.model_name", OPENINFERENCE),
        ("llm.invocation_parameters", OPENINFERENCE, "json:model"),
        ("embedding.invocation_parameters", OPENINFERENCE, "json:model"),
    )
    + _rules(
        "input_tokens",
        ("gen_ai.usage.input_tokens", GENAI),
        ("gen_ai.usage.prompt_tokens", GENAI_OLD),
        ("llm.token_count.prompt", OPENINFERENCE),
        ("llm.usage.prompt_tokens", OPENLLMETRY),
        # Langfuse's usage keys are disjoint (its total is their sum): its "input" and
        # Anthropic's raw "input_tokens" leave the cached tokens out, which GenAI's input
        # (and pricing) counts in, so the cache keys are added back. OpenAI's raw
        # prompt_tokens, and LangChain's input_tokens (cache reads nested under
        # input_token_details), already include them.
        ("langfuse.observation.usage_details", LANGFUSE, "json:prompt_tokens"),
        (
            "langfuse.observation.usage_details",
            LANGFUSE,
            "sum:input,input_cached_tokens,input_cache_read,input_cache_creation",
        ),
        (
            "langfuse.observation.usage_details",
            LANGFUSE,
            "sum:input_tokens,cache_read_input_tokens,cache_creation_input_tokens",
        ),
    )
    + _rules(
        "output_tokens",
        ("gen_ai.usage.output_tokens", GENAI),
        ("gen_ai.usage.completion_tokens", GENAI_OLD),
        ("llm.token_count.completion", OPENINFERENCE),
        ("llm.usage.completion_tokens", OPENLLMETRY),
        ("langfuse.observation.usage_details", LANGFUSE, "json:output"),
        ("langfuse.observation.usage_details", LANGFUSE, "json:completion_tokens"),
        ("langfuse.observation.usage_details", LANGFUSE, "json:output_tokens"),
    )
    + _rules(
        "total_tokens",
        ("gen_ai.usage.total_tokens", GENAI),
        ("llm.token_count.total", OPENINFERENCE),
        ("llm.usage.total_tokens", OPENLLMETRY),
        ("langfuse.observation.usage_details", LANGFUSE, "json:total"),
        ("langfuse.observation.usage_details", LANGFUSE, "json:total_tokens"),
    )
    + _rules(
        "cache_read_tokens",
        ("gen_ai.usage.cache_read.input_tokens", GENAI),
        ("gen_ai.usage.cache_read_input_tokens", GENAI_OLD),
        ("gen_ai.usage.input_tokens.cached", GENAI_OLD),
        ("llm.token_count.prompt_details.cache_read", OPENINFERENCE),
        ("llm.usage.cache_read_input_tokens", OPENLLMETRY),
        ("langfuse.observation.usage_details", LANGFUSE, "json:cache_read_input_tokens"),
        ("langfuse.observation.usage_details", LANGFUSE, "json:input_cached_tokens"),
        ("langfuse.observation.usage_details", LANGFUSE, "json:input_cache_read"),
        (
            "langfuse.observation.usage_details",
            LANGFUSE,
            "json:prompt_tokens_details.cached_tokens",
        ),
        ("langfuse.observation.usage_details", LANGFUSE, "json:input_token_details.cache_read"),
    )
    + _rules(
        "cache_write_tokens",
        ("gen_ai.usage.cache_creation.input_tokens", GENAI),
        ("gen_ai.usage.cache_creation_input_tokens", GENAI_OLD),
        ("gen_ai.usage.input_tokens.cache_write", GENAI_OLD),
        ("llm.token_count.prompt_details.cache_write", OPENINFERENCE),
        ("llm.usage.cache_creation_input_tokens", OPENLLMETRY),
        ("langfuse.observation.usage_details", LANGFUSE, "json:cache_creation_input_tokens"),
        ("langfuse.observation.usage_details", LANGFUSE, "json:input_cache_creation"),
        ("langfuse.observation.usage_details", LANGFUSE, "json:input_token_details.cache_creation"),
    )
    + _rules(
        "reasoning_tokens",
        ("gen_ai.usage.reasoning.output_tokens", GENAI),
        ("gen_ai.usage.reasoning_tokens", GENAI_OLD),
        ("gen_ai.usage.output_tokens.reasoning", GENAI_OLD),
        ("llm.token_count.completion_details.reasoning", OPENINFERENCE),
        ("llm.usage.reasoning_tokens", OPENLLMETRY),
        ("langfuse.observation.usage_details", LANGFUSE, "json:reasoning_tokens"),
        ("langfuse.observation.usage_details", LANGFUSE, "json:output_reasoning_tokens"),
        (
            "langfuse.observation.usage_details",
            LANGFUSE,
            "json:completion_tokens_details.reasoning_tokens",
        ),
        ("langfuse.observation.usage_details", LANGFUSE, "json:output_token_details.reasoning"),
    )
    + _rules(
        "reported_cost_usd",
        ("gen_ai.usage.cost", GENAI),
        ("llm.cost.total", OPENINFERENCE),
        ("gen_ai.usage.cost_usd", OPENLLMETRY),
        ("langfuse.observation.cost_details", LANGFUSE, "json:total"),
        ("langfuse.observation.cost_details", LANGFUSE, "sum:input,output"),
    )
    + _rules(
        "finish_reason",
        ("gen_ai.response.finish_reasons", GENAI, "first"),
        ("gen_ai.output.messages", GENAI, "jsonpath:$[0].finish_reason"),
        ("llm.finish_reason", OPENINFERENCE),
        ("llm.output_messages.0.message.finish_reason", OPENINFERENCE),
        ("gen_ai.completion.0.finish_reason", OPENLLMETRY),
        ("llm.response.finish_reason", OPENLLMETRY),
        # The Langfuse SDK's OpenAI wrapper records it for streams only, in metadata.
        ("langfuse.observation.metadata.finish_reason", LANGFUSE, "unquote"),
    )
    + _rules(
        "tool_name",
        ("gen_ai.tool.name", GENAI),
        ("tool.name", OPENINFERENCE),
        ("traceloop.tool.name", OPENLLMETRY),
    )
    + _rules(
        "agent_name",
        ("gen_ai.agent.name", GENAI),
        ("agent.name", OPENINFERENCE),
        ("traceloop.agent.name", OPENLLMETRY),
        ("langfuse.observation.metadata.agent_name", LANGFUSE, "unquote"),
        ("langfuse.trace.metadata.agent_name", LANGFUSE, "unquote"),
    )
    + _rules(
        "user_id",
        ("langfuse.user.id", LANGFUSE),
        ("user.id", OTEL),
        ("enduser.id", OTEL),
        ("resource:user.id", OTEL),
        ("traceloop.association.properties.user_id", OPENLLMETRY),
    )
    + _rules(
        "session_id",
        ("langfuse.session.id", LANGFUSE),
        ("session.id", OPENINFERENCE),
        ("gen_ai.conversation.id", GENAI),
        ("traceloop.association.properties.session_id", OPENLLMETRY),
    )
    + _rules(
        "input_text",
        ("langfuse.observation.input", LANGFUSE, "text"),
        ("gen_ai.input.messages", GENAI, "text"),
        ("gen_ai.retrieval.query.text", GENAI),
        ("gen_ai.tool.call.arguments", GENAI),
        ("gen_ai.prompt", GENAI_OLD, "text"),
        ("event:gen_ai.content.prompt:gen_ai.prompt", GENAI_OLD, "text"),
        ("llm.input_messages.{n}.message.content", OPENINFERENCE),
        ("llm.input_messages.{n}.message.contents.{n}.message_content.text", OPENINFERENCE),
        ("input.value", OPENINFERENCE, "text"),
        ("gen_ai.prompt.{n}.content", OPENLLMETRY),
        ("traceloop.entity.input", OPENLLMETRY, "text"),
    )
    + _rules(
        "output_text",
        ("langfuse.observation.output", LANGFUSE, "text"),
        ("gen_ai.output.messages", GENAI, "text"),
        ("gen_ai.tool.call.result", GENAI),
        ("gen_ai.completion", GENAI_OLD, "text"),
        ("event:gen_ai.content.completion:gen_ai.completion", GENAI_OLD, "text"),
        ("llm.output_messages.{n}.message.content", OPENINFERENCE),
        ("llm.output_messages.{n}.message.contents.{n}.message_content.text", OPENINFERENCE),
        ("output.value", OPENINFERENCE, "text"),
        ("gen_ai.completion.{n}.content", OPENLLMETRY),
        ("traceloop.entity.output", OPENLLMETRY, "text"),
    )
    + _rules(
        "system_instructions",
        ("gen_ai.system_instructions", GENAI, "text"),
    )
    + _rules(
        "level",
        ("langfuse.observation.level", LANGFUSE, "lower"),
    )
    + _rules(
        "error_type",
        ("error.type", OTEL),
        ("event:exception:exception.type", OTEL),
        ("exception.type", OTEL),
    )
    + _rules(
        "error_message",
        ("event:exception:exception.message", OTEL),
        ("exception.message", OTEL),
        ("langfuse.observation.status_message", LANGFUSE),
    )
    + _rules(
        "embedding",
        ("embedding.embeddings.0.embedding.vector", OPENINFERENCE),
        ("gen_ai.embeddings.0.vector", OPENLLMETRY),
    )
)

INT_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
FLOAT_COLUMNS = ("reported_cost_usd",)
PROMOTED_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(rule.column for rule in RULES))
"""Columns filled from attributes (``response_model`` is folded into ``model`` later)."""
HELPER_COLUMNS = ("response_model", "system_instructions", "level")
"""Promoted columns that normalisation folds into canonical ones, then drops."""

INDEX_PLACEHOLDER = "{n}"


def rules_for(column: str) -> list[Rule]:
    """The rules of one column, in priority order."""
    return [rule for rule in RULES if rule.column == column]


def text_source_keys() -> frozenset[str]:
    """Span attribute keys (without index placeholders expanded) that feed input/output text.

    Redaction applies to these attribute values too, so a redacted prompt does not survive
    in ``attributes``.
    """
    return frozenset(
        rule.key
        for rule in RULES
        if rule.column in ("input_text", "output_text", "system_instructions")
        and ":" not in rule.key
    )


ID_LIKE_KEYS = re.compile(
    r"(^|[._])(id|ids|uuid|guid|trace|span|request|session|pod|instance|ip|fingerprint|text"
    r"|query|metadata|content|body|url|full|path|original|address|port)$|\.\d+\."
)
"""Ids, payloads and indexed (array) attributes: never categories worth slicing by."""
COLUMN_OR_PAYLOAD_KEYS = re.compile(
    r"^(service\.(name|version)|deployment\.environment(\.name)?|telemetry\.|gen_ai\."
    r"|llm\.|input\.|output\.|openinference\.|exception\.|error\.|process\.)"
)
"""Attribute keys already covered by columns, or payloads, not categories."""


def is_category_key(key: str) -> bool:
    """Whether span attribute ``key`` may name a category (a value worth grouping by).

    The store keeps these keys' short values in a second, small map column
    (``category_attributes``, :mod:`pyflare_cli.store.category`), and rca's dimensions
    are drawn from them only: one rule for both, so the small column holds every key rca
    can choose."""
    return not (COLUMN_OR_PAYLOAD_KEYS.search(key) or ID_LIKE_KEYS.search(key))
