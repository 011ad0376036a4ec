"""The demo world: services, models, users and the incidents hidden in the demo data.

The generator (``generator.py``) only knows *how* to draw spans; *what* it draws is decided
here, as frozen dataclasses, so that the tests and the demo's guided tour can name the same
facts ("rag-api 2.0.0 went live in eu-west-1 ten hours before the end") instead of repeating
magic strings. Every instant is relative to the ``end`` passed to the generator: nothing
here reads the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pyflare_cli.clock import utc

CHAT_GATEWAY = "chat-gateway"
AGENT_RUNTIME = "agent-runtime"
RAG_API = "rag-api"
BATCH_EVALUATOR = "batch-evaluator"

US_EAST = "us-east-1"
EU_WEST = "eu-west-1"
PROD = "prod"
STAGING = "staging"

AGENT_NAME = "support-agent"
TOOLS = ("search_docs", "get_order", "refund")


@dataclass(frozen=True)
class Service:
    """One deployed service: what its resource says about it."""

    name: str
    version: str
    staging_version: str
    sdk_language: str = "python"
    sdk_version: str = "1.36.0"


@dataclass(frozen=True)
class Model:
    """A model as the applications call it, with the shape of its traffic.

    Token counts are drawn per call role (see ``generator``) and scaled by the
    ``*_factor`` fields; latency is ``ttft_ms + output_tokens * ms_per_token`` with noise.
    """

    name: str
    provider: str
    response_model: str
    server_address: str
    ttft_ms: float
    ms_per_token: float
    error_rate: float = 0.01
    input_factor: float = 1.0
    output_factor: float = 1.0
    caches_prompt: bool = False
    reasons: bool = False
    embeds: bool = False


@dataclass(frozen=True)
class ErrorKind:
    """An exception a span can end with: ``error.type`` plus its exception event."""

    type: str
    exception_type: str
    message: str
    http_status: int


@dataclass(frozen=True)
class RagDeploy:
    """rag-api 2.0.0 replaces 1.4.2 in one region: slower retrieval, gpt-4o-mini errors.

    The new version retrieves 50 candidates instead of 20 (slow vector search) and
    rewrites every query with gpt-4o-mini, exhausting the region's rate limit, so that
    every gpt-4o-mini call in the region (agent-runtime's router too) fails more often.
    """

    service: str = RAG_API
    region: str = EU_WEST
    old_version: str = "1.4.2"
    new_version: str = "2.0.0"
    before_end: timedelta = timedelta(hours=10, minutes=5)
    """The deploy goes live this long before the run's end: always inside the last day, so
    `pyflare demo && pyflare rca` (the last 24 hours against the 24 before) names it."""
    retriever_slowdown: float = 3.0
    model: str = "gpt-4o-mini"
    error_rate_after: float = 0.20
    error_types_after: tuple[str, ...] = ("RateLimitError", "RateLimitError", "APITimeoutError")

    def start(self, end: datetime) -> datetime:
        """The deploy instant, ``before_end`` before ``end``, at any hour of ``end``."""
        return utc(end) - self.before_end


@dataclass(frozen=True)
class PromptDrift:
    """Over the last day, prompts sent to one model grow (tokens and captured text)."""

    model: str = "claude-sonnet-4-20250514"
    factor: float = 2.5
    since: timedelta = timedelta(days=1)

    def start(self, end: datetime) -> datetime:
        return utc(end) - self.since


@dataclass(frozen=True)
class CostSpike:
    """Over the last day one user sends many long, expensive calls to one model.

    The user's requests come on top of the usual traffic: ``share`` of the chat traces after
    ``start`` are theirs, and the total request rate rises by ``1 / (1 - share)``.
    """

    user: str = "user-0042"
    model: str = "gpt-4o"
    share: float = 0.18
    input_factor: float = 8.0
    output_factor: float = 5.0
    since: timedelta = timedelta(days=1)

    def start(self, end: datetime) -> datetime:
        return utc(end) - self.since


@dataclass(frozen=True)
class EmbeddingShift:
    """Over the last day rag-api's query embeddings move a little (a mild drift)."""

    service: str = RAG_API
    model: str = "text-embedding-3-small"
    magnitude: float = 0.2
    since: timedelta = timedelta(days=1)

    def start(self, end: datetime) -> datetime:
        return utc(end) - self.since


@dataclass(frozen=True)
class Incidents:
    rag_deploy: RagDeploy = field(default_factory=RagDeploy)
    prompt_drift: PromptDrift = field(default_factory=PromptDrift)
    cost_spike: CostSpike = field(default_factory=CostSpike)
    embedding_shift: EmbeddingShift = field(default_factory=EmbeddingShift)


@dataclass(frozen=True)
class Region:
    """A region's share of traffic and the UTC hour of its daily peak."""

    name: str
    weight: float
    peak_hour_utc: float


@dataclass(frozen=True)
class World:
    """Everything the generator draws from. Replace fields with ``dataclasses.replace``."""

    services: tuple[Service, ...]
    models: tuple[Model, ...]
    main_model_weights: tuple[tuple[str, float], ...]
    router_model: str
    rewrite_model: str
    judge_model: str
    embedding_model: str
    reranker_model: str
    users: tuple[str, ...]
    staging_users: tuple[str, ...]
    regions: tuple[Region, ...]
    incidents: Incidents
    errors: tuple[ErrorKind, ...]
    daily_amplitude: float = 0.7
    staging_share: float = 0.04
    eval_share: float = 0.02
    orphan_rate: float = 0.005
    """Share of chat traces whose gateway CLIENT span is dropped (a lost export), leaving
    agent-runtime's SERVER span an orphan whose parent is missing. Deliberate."""
    tool_error_rate: float = 0.04
    retriever_error_rate: float = 0.004
    transient_retry_rate: float = 0.03
    llm_timeout_ms: float = 5_000.0
    embedding_dims: int = 16
    topics: tuple[str, ...] = ("orders", "refunds", "billing", "account", "product", "smalltalk")
    topic_weights: tuple[float, ...] = (0.26, 0.14, 0.16, 0.12, 0.24, 0.08)

    def service(self, name: str) -> Service:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise KeyError(name)

    def model(self, name: str) -> Model:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)

    def error(self, type_: str) -> ErrorKind:
        for kind in self.errors:
            if kind.type == type_:
                return kind
        raise KeyError(type_)

    def service_version(
        self, service: str, env: str, region: str, at: datetime, end: datetime
    ) -> str:
        """The version of ``service`` serving a request at ``at`` in a run ending at ``end``."""
        svc = self.service(service)
        if env == STAGING:
            return svc.staging_version
        deploy = self.incidents.rag_deploy
        if service == deploy.service and region == deploy.region:
            return deploy.new_version if at >= deploy.start(end) else deploy.old_version
        return svc.version

    def traffic_rate(self, hour_utc: float) -> dict[str, float]:
        """Relative request rate per region at a UTC hour of day (the daily cycle)."""
        a = self.daily_amplitude
        return {
            r.name: r.weight * (1.0 + a * math.cos(2 * math.pi * (hour_utc - r.peak_hour_utc) / 24))
            for r in self.regions
        }


def _users(count: int) -> tuple[str, ...]:
    return tuple(f"user-{i:04d}" for i in range(1, count + 1))


OPENROUTER_LLAMA = "openrouter/meta-llama/llama-3.1-70b-instruct"
"""Called through OpenRouter: the provider prefix stays in the model name."""

_SERVERS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}


def _model(name: str, provider: str, response_model: str, **profile: Any) -> Model:
    server = _SERVERS.get(provider, "openrouter.ai")
    return Model(name, provider, response_model, server, **profile)


OPENAI_ERRORS = (
    ErrorKind(
        "RateLimitError",
        "openai.RateLimitError",
        "Error code: 429 - Rate limit reached "
        "for {model} in organization org-demo on tokens per min (TPM)",
        429,
    ),
    ErrorKind("APITimeoutError", "openai.APITimeoutError", "Request timed out.", 504),
    ErrorKind(
        "InternalServerError",
        "openai.InternalServerError",
        "Error code: 500 - The server had an error while processing your request.",
        500,
    ),
)
ANTHROPIC_ERRORS = (
    ErrorKind(
        "OverloadedError",
        "anthropic.OverloadedError",
        "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', "
        "'message': 'Overloaded'}}",
        529,
    ),
)
TOOL_ERRORS = (
    ErrorKind("OrderNotFound", "support_agent.tools.OrderNotFound", "order {order} not found", 404),
    ErrorKind(
        "RefundDeclined",
        "support_agent.tools.RefundDeclined",
        "refund for order {order} declined by payments: outside the 30-day window",
        402,
    ),
    ErrorKind(
        "VectorStoreTimeout",
        "qdrant_client.http.exceptions.ResponseHandlingException",
        "timed out waiting for vector search on collection kb-chunks",
        503,
    ),
)

DEFAULT_WORLD = World(
    services=(
        Service(CHAT_GATEWAY, "1.8.3", "1.9.0-rc.1", sdk_language="nodejs", sdk_version="2.0.1"),
        Service(AGENT_RUNTIME, "3.4.1", "3.5.0-rc.2"),
        Service(RAG_API, "1.4.2", "2.0.0-rc.3"),
        Service(BATCH_EVALUATOR, "0.9.0", "0.9.0"),
    ),
    models=(
        _model(
            "gpt-4o",
            "openai",
            "gpt-4o-2024-08-06",
            ttft_ms=380,
            ms_per_token=14.0,
            error_rate=0.008,
        ),
        _model("gpt-4o-mini", "openai", "gpt-4o-mini", ttft_ms=260, ms_per_token=7.5),
        _model(
            "o3-mini",
            "openai",
            "o3-mini-2025-01-31",
            ttft_ms=650,
            ms_per_token=5.5,
            output_factor=0.9,
            reasons=True,
        ),
        _model(
            "claude-sonnet-4-20250514",
            "anthropic",
            "claude-sonnet-4-20250514",
            ttft_ms=520,
            ms_per_token=13.0,
            error_rate=0.012,
            output_factor=1.3,
            caches_prompt=True,
        ),
        _model(
            OPENROUTER_LLAMA,
            "openrouter",
            OPENROUTER_LLAMA,
            ttft_ms=700,
            ms_per_token=11.0,
            error_rate=0.025,
            output_factor=1.1,
        ),
        _model(
            "text-embedding-3-small",
            "openai",
            "text-embedding-3-small",
            ttft_ms=45,
            ms_per_token=0.0,
            error_rate=0.002,
            embeds=True,
        ),
    ),
    main_model_weights=(
        ("gpt-4o", 0.30),
        ("claude-sonnet-4-20250514", 0.34),
        ("gpt-4o-mini", 0.14),
        ("o3-mini", 0.09),
        (OPENROUTER_LLAMA, 0.13),
    ),
    router_model="gpt-4o-mini",
    rewrite_model="gpt-4o-mini",
    judge_model="gpt-4o-mini",
    embedding_model="text-embedding-3-small",
    reranker_model="BAAI/bge-reranker-v2-m3",
    users=_users(50),
    staging_users=("qa-0001", "qa-0002", "qa-0003"),
    regions=(Region(US_EAST, 0.6, 18.0), Region(EU_WEST, 0.4, 12.0)),
    incidents=Incidents(),
    errors=OPENAI_ERRORS + ANTHROPIC_ERRORS + TOOL_ERRORS,
)

SCOPE_HTTP_JS = "@opentelemetry/instrumentation-http"
SCOPE_FASTAPI = "opentelemetry.instrumentation.fastapi"
SCOPE_HTTPX = "opentelemetry.instrumentation.httpx"
SCOPE_PSYCOPG = "opentelemetry.instrumentation.psycopg"
SCOPE_OPENAI = "opentelemetry.instrumentation.openai_v2"
SCOPE_ANTHROPIC = "opentelemetry.instrumentation.anthropic"
SCOPE_AGENT = "support_agent"
SCOPE_OPENINFERENCE = "openinference.instrumentation.llama_index"
SCOPE_EVALUATOR = "batch_evaluator"

SCOPE_VERSIONS: dict[str, str] = {
    SCOPE_HTTP_JS: "0.203.0",
    SCOPE_FASTAPI: "0.57b0",
    SCOPE_HTTPX: "0.57b0",
    SCOPE_PSYCOPG: "0.57b0",
    SCOPE_OPENAI: "2.1b0",
    SCOPE_ANTHROPIC: "0.42.0",
    SCOPE_AGENT: "3.4.1",
    SCOPE_OPENINFERENCE: "4.3.0",
    SCOPE_EVALUATOR: "0.9.0",
}
"""Instrumentation scopes (name -> version) the services report spans under."""
