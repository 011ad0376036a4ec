"""One model call: its tokens, latency, retries and errors, and its OTel GenAI span.

Token counts follow the conventions pyflare expects (input includes cached tokens, output
includes reasoning tokens) and the incidents of ``scenario`` act here: the gpt-4o-mini error
rate after the rag-api deploy, the longer Claude prompts, and user-0042's expensive calls.
OpenInference-style LLM spans (rag-api) reuse :func:`draw_call` and only differ in attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from pyflare_cli.demo import text
from pyflare_cli.demo.scenario import SCOPE_ANTHROPIC, SCOPE_OPENAI, ErrorKind, Model
from pyflare_cli.demo.spans import CLIENT, AttrValue, Trace, event, fail, ns, put

ROLES: dict[str, tuple[float, float, float, float, int]] = {
    # role: input median, input sigma, visible output median, output sigma, max_tokens
    "router": (420, 0.25, 9, 0.3, 16),
    "step": (1700, 0.35, 48, 0.35, 1024),
    "final": (1700, 0.35, 240, 0.45, 1024),
    "rewrite": (160, 0.3, 28, 0.3, 64),
    "judge": (1500, 0.4, 90, 0.4, 256),
}
STEP_GROWTH = 650
"""Extra input tokens per agent iteration (the conversation grows)."""
TEXT_CHARS_PER_INPUT_TOKEN = 0.5
"""Captured prompt characters per input token: the system prompt and tool definitions are
not captured, so the recorded conversation is shorter than the token count suggests."""
MAX_PROMPT_CHARS = 16_000
MAX_COMPLETION_CHARS = 6_000

_OPENAI_FAILURES = ("RateLimitError", "RateLimitError", "APITimeoutError", "InternalServerError")
_FINISH = {
    "anthropic": {"stop": "end_turn", "tool": "tool_use", "length": "max_tokens"},
    "default": {"stop": "stop", "tool": "tool_calls", "length": "length"},
}


@dataclass
class Call:
    """The drawn outcome of one model call; times are relative to its start (ms)."""

    model: Model
    role: str
    input_tokens: int
    output_tokens: int
    max_tokens: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    duration_ms: float = 0.0
    finish: str = "stop"
    error: ErrorKind | None = None
    retries: list[tuple[float, ErrorKind]] = field(default_factory=list)

    def finish_reason(self) -> str:
        return _FINISH.get(self.model.provider, _FINISH["default"])[self.finish]


def draw_call(tr: Trace, model: Model, role: str, iteration: int = 0) -> Call:
    """Draw tokens, duration, retries and an eventual error for one call."""
    rng = tr.rng
    in_med, in_sigma, out_med, out_sigma, max_tokens = ROLES[role]
    inputs = in_med * rng.lognormvariate(0.0, in_sigma) + STEP_GROWTH * iteration
    visible = out_med * model.output_factor * rng.lognormvariate(0.0, out_sigma)
    incidents = tr.world.incidents
    if tr.prompt_drift and model.name == incidents.prompt_drift.model:
        inputs *= incidents.prompt_drift.factor
    spike = incidents.cost_spike
    if tr.cost_spike and model.name == spike.model and role in ("step", "final"):
        inputs *= spike.input_factor
        max_tokens = 4096
        if role == "final":
            visible *= spike.output_factor
    finish = "tool" if role == "step" else "stop"
    if role == "final" and rng.random() < 0.02:
        visible = max_tokens
    if visible >= max_tokens:
        visible, finish = max_tokens, "length"
    call = Call(model, role, max(8, int(inputs)), max(1, int(visible)), max_tokens, finish=finish)
    if model.reasons:
        call.reasoning = int(call.output_tokens * rng.uniform(1.0, 3.5))
        call.output_tokens += call.reasoning
    if model.caches_prompt:
        if iteration == 0 and rng.random() < 0.3:
            call.cache_write = min(call.input_tokens, int(rng.uniform(1500, 2500)))
        else:
            call.cache_read = int(call.input_tokens * rng.uniform(0.5, 0.85))
            call.cache_write = int(rng.uniform(150, 600)) if rng.random() < 0.5 else 0
    call.duration_ms = _latency(tr, call)
    _draw_failure(tr, call)
    return call


def _latency(tr: Trace, call: Call) -> float:
    rng, model = tr.rng, call.model
    ttft = model.ttft_ms * rng.lognormvariate(0.0, 0.25)
    decode = call.output_tokens * model.ms_per_token * rng.lognormvariate(0.0, 0.2)
    return ttft + decode + call.input_tokens * 0.04


def _draw_failure(tr: Trace, call: Call) -> None:
    rng, world, model = tr.rng, tr.world, call.model
    deploy = world.incidents.rag_deploy
    rate = model.error_rate
    degraded = tr.model_degraded and model.name == deploy.model
    if degraded:
        rate = deploy.error_rate_after
    if rng.random() < rate:
        if degraded:
            kind = world.error(rng.choice(deploy.error_types_after))
        elif model.provider == "anthropic":
            kind = world.error("OverloadedError")
        else:
            kind = world.error(rng.choice(_OPENAI_FAILURES))
        call.error = kind
        call.output_tokens = call.reasoning = call.cache_read = call.cache_write = 0
        if kind.type == "APITimeoutError":
            call.duration_ms = world.llm_timeout_ms + rng.uniform(1, 20)
            return
        attempt_ms, t = rng.uniform(80, 250), 0.0
        for backoff in (500.0, 1000.0):
            t += attempt_ms
            call.retries.append((t, kind))
            t += backoff * rng.uniform(0.8, 1.2)
        call.duration_ms = t + attempt_ms
        return
    if rng.random() < world.transient_retry_rate:
        kind = world.error("OverloadedError" if model.provider == "anthropic" else "RateLimitError")
        first = rng.uniform(80, 250)
        call.retries.append((first, kind))
        call.duration_ms += first + 500.0 * rng.uniform(0.8, 1.2)


def retry_events(span: Span, start_ns: int, call: Call) -> None:
    for attempt, (at_ms, kind) in enumerate(call.retries, start=1):
        attrs: list[tuple[str, AttrValue]] = [
            ("http.request.resend_count", attempt),
            ("error.type", kind.type),
            ("http.response.status_code", kind.http_status),
        ]
        event(span, "retry", start_ns + ns(at_ms), attrs)


def error_message(call: Call) -> str:
    assert call.error is not None
    return call.error.message.replace("{model}", call.model.name)


def genai_chat(
    tr: Trace,
    service: str,
    parent: bytes,
    start_ns: int,
    call: Call,
    user_text: str,
    tool_calls: Sequence[tuple[str, str, dict[str, str]]] = (),
    answer: str | None = None,
) -> int:
    """Emit an OTel GenAI ``chat {model}`` CLIENT span for ``call``; return its end (ns)."""
    model, rng = call.model, tr.rng
    scope = SCOPE_ANTHROPIC if model.provider == "anthropic" else SCOPE_OPENAI
    span = tr.start(service, scope, f"chat {model.name}", CLIENT, parent, start_ns)
    end_ns = start_ns + ns(call.duration_ms)
    span.end_time_unix_nano = end_ns
    history = 0  # the router's context is its (uncaptured) system prompt
    if call.role != "router":
        history = int(call.input_tokens * TEXT_CHARS_PER_INPUT_TOKEN) - len(user_text)
    prompt = text.input_messages(rng, user_text, min(history, MAX_PROMPT_CHARS))
    attrs: list[tuple[str, AttrValue]] = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", model.provider),
        ("gen_ai.request.model", model.name),
        ("gen_ai.request.max_tokens", call.max_tokens),
        ("gen_ai.request.temperature", 0.0 if call.role in ("router", "judge") else 0.3),
        ("server.address", model.server_address),
        ("server.port", 443),
        ("gen_ai.input.messages", prompt),
    ]
    if tr.session:
        attrs += [("gen_ai.conversation.id", tr.session), ("user.id", tr.user)]
        attrs.append(("session.id", tr.session))
    put(span, attrs)
    retry_events(span, start_ns, call)
    if call.error is not None:
        message = error_message(call)
        family = "anthropic" if model.provider == "anthropic" else "openai"
        stack = text.stacktrace(family, call.error.exception_type, message)
        fail(span, call.error, end_ns, message, stack)
        return end_ns
    visible = call.output_tokens - call.reasoning
    if tool_calls:
        output = text.output_tool_calls(list(tool_calls), call.finish_reason())
    elif answer is not None:
        output = text.output_text_message(answer, call.finish_reason())
    else:
        content = text.text(rng, min(visible * 4, MAX_COMPLETION_CHARS))
        output = text.output_text_message(content, call.finish_reason())
    prefix = "msg_" if model.provider == "anthropic" else "chatcmpl-"
    done: list[tuple[str, AttrValue]] = [
        ("gen_ai.response.model", model.response_model),
        ("gen_ai.response.id", prefix + tr.new_span_id().hex()),
        ("gen_ai.response.finish_reasons", (call.finish_reason(),)),
        ("gen_ai.usage.input_tokens", call.input_tokens),
        ("gen_ai.usage.output_tokens", call.output_tokens),
        ("gen_ai.output.messages", output),
    ]
    if model.caches_prompt:
        done.append(("gen_ai.usage.cache_read.input_tokens", call.cache_read))
        done.append(("gen_ai.usage.cache_creation.input_tokens", call.cache_write))
    if model.reasons:
        done.append(("gen_ai.usage.reasoning.output_tokens", call.reasoning))
    put(span, done)
    if model.provider == "openrouter" and call.role == "final":
        choice = (("index", 0), ("finish_reason", call.finish_reason()))
        event(span, "gen_ai.choice", end_ns, choice)
    return end_ns
