"""A user's chat request end to end: chat-gateway -> agent-runtime -> tools -> rag-api.

This is the trace most demo data consists of. chat-gateway (a Node.js service) serves
``POST /v1/chat`` and calls agent-runtime over HTTP; agent-runtime runs ``invoke_agent
support-agent``, a loop of model calls and ``execute_tool`` spans (two tools in one step run in
parallel); ``search_docs`` calls rag-api over HTTP (``rag.py``). A failing main model call
aborts the request and the failure propagates up to the gateway as a 502.
"""

from __future__ import annotations

import hashlib
import json

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from pyflare_cli.demo import text
from pyflare_cli.demo.llm import draw_call, genai_chat
from pyflare_cli.demo.rag import rag_request
from pyflare_cli.demo.scenario import (
    AGENT_NAME,
    AGENT_RUNTIME,
    CHAT_GATEWAY,
    SCOPE_AGENT,
    SCOPE_FASTAPI,
    SCOPE_HTTP_JS,
    SCOPE_HTTPX,
    SCOPE_PSYCOPG,
    ErrorKind,
)
from pyflare_cli.demo.spans import (
    CLIENT,
    INTERNAL,
    SERVER,
    AttrValue,
    Trace,
    fail,
    http_error,
    ns,
    put,
)

_USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "SupportApp/4.2.0 (iPhone; iOS 17.5)",
)


def plan_steps(tr: Trace, topic: str) -> list[list[str]]:
    """The tool calls of each agent iteration before the final answer."""
    rng = tr.rng
    if topic == "smalltalk":
        return []
    if topic == "orders":
        steps = [["get_order"]]
        if rng.random() < 0.3:
            steps.append(["search_docs"])
    elif topic == "refunds":
        lookup = ["get_order", "search_docs"] if rng.random() < 0.4 else ["get_order"]
        steps = [lookup, ["refund"]]
    else:
        steps = [["search_docs", "search_docs"] if rng.random() < 0.25 else ["search_docs"]]
        if rng.random() < 0.3:
            steps.append(["search_docs"])
    return steps


def chat_trace(tr: Trace, t0: int, main_model: str) -> bool:
    """Build one chat trace starting at ``t0`` (ns); return whether it failed."""
    rng, world = tr.rng, tr.world
    topic = rng.choices(world.topics, world.topic_weights)[0]
    order = f"ord-{rng.randrange(100_000, 1_000_000)}"
    user_text = text.question(rng, topic, order)
    root = tr.start(CHAT_GATEWAY, SCOPE_HTTP_JS, "POST /v1/chat", SERVER, b"", t0)
    c_start = t0 + ns(rng.uniform(2.0, 12.0))
    client: Span | None = None
    if rng.random() < world.orphan_rate:
        client_id = tr.new_span_id()  # the gateway's CLIENT span is lost in export
    else:
        client = tr.start(CHAT_GATEWAY, SCOPE_HTTP_JS, "POST", CLIENT, root.span_id, c_start)
        client_id = client.span_id
    s_start = c_start + ns(rng.uniform(0.5, 3.0))
    server = tr.start(
        AGENT_RUNTIME, SCOPE_FASTAPI, "POST /v1/agent/invoke", SERVER, client_id, s_start
    )
    a_end, error = _agent(
        tr, server.span_id, s_start + ns(rng.uniform(0.3, 1.5)), topic, order, user_text, main_model
    )
    status = 500 if error else 200
    s_end = a_end + ns(rng.uniform(0.3, 2.0))
    server.end_time_unix_nano = s_end
    _http_server(server, "/v1/agent/invoke", status, "agent-runtime", 8080)
    c_end = s_end + ns(rng.uniform(0.5, 3.0))
    if client is not None:
        client.end_time_unix_nano = c_end
        put(
            client,
            [
                ("http.request.method", "POST"),
                ("url.full", "http://agent-runtime:8080/v1/agent/invoke"),
                ("server.address", "agent-runtime"),
                ("server.port", 8080),
                ("http.response.status_code", status),
            ],
        )
        if error:
            http_error(client, status)
    root.end_time_unix_nano = c_end + ns(rng.uniform(0.5, 4.0))
    _http_server(root, "/v1/chat", 502 if error else 200, "api.support.example.com", 443)
    put(
        root,
        [
            ("url.scheme", "https"),
            ("user_agent.original", rng.choice(_USER_AGENTS)),
            ("client.address", f"203.0.113.{rng.randrange(1, 255)}"),
            ("http.request.body.size", len(user_text) + 64),
            ("app.request.stream", rng.random() < 0.7),
            ("app.auth.key_fingerprint", hashlib.sha256(tr.user.encode()).digest()[:8]),
            ("user.id", tr.user),
            ("session.id", tr.session),
        ],
    )
    if error:
        http_error(root, 502)
    return error is not None


def _http_server(span: Span, route: str, status: int, address: str, port: int) -> None:
    put(
        span,
        [
            ("http.request.method", "POST"),
            ("http.route", route),
            ("url.path", route),
            ("server.address", address),
            ("server.port", port),
            ("network.protocol.version", "1.1"),
            ("http.response.status_code", status),
        ],
    )
    if status >= 500:
        http_error(span, status)


def _agent(
    tr: Trace, parent: bytes, start: int, topic: str, order: str, user_text: str, main: str
) -> tuple[int, ErrorKind | None]:
    rng, world = tr.rng, tr.world
    model = world.model(main)
    agent = tr.start(
        AGENT_RUNTIME, SCOPE_AGENT, f"invoke_agent {AGENT_NAME}", INTERNAL, parent, start
    )
    steps = plan_steps(tr, topic)
    put(
        agent,
        [
            ("gen_ai.operation.name", "invoke_agent"),
            ("gen_ai.agent.name", AGENT_NAME),
            ("gen_ai.agent.id", "asst_support_v3"),
            ("gen_ai.provider.name", model.provider),
            ("gen_ai.request.model", model.name),
            ("gen_ai.conversation.id", tr.session),
            ("user.id", tr.user),
            ("session.id", tr.session),
            ("app.agent.planned_steps", len(steps) + 1),
        ],
    )
    router = draw_call(tr, world.model(world.router_model), "router")
    answer = json.dumps({"intent": topic})
    t = genai_chat(
        tr,
        AGENT_RUNTIME,
        agent.span_id,
        start + ns(rng.uniform(0.5, 3)),
        router,
        user_text,
        answer=answer,
    )
    error: ErrorKind | None = None
    for i, step in enumerate([*steps, []]):
        role = "step" if step else "final"
        call = draw_call(tr, model, role, i)
        calls = [
            (f"call_{tr.new_span_id().hex()[:12]}", tool, _arguments(tool, order, user_text))
            for tool in step
        ]
        t = genai_chat(
            tr, AGENT_RUNTIME, agent.span_id, t + ns(rng.uniform(1, 5)), call, user_text, calls
        )
        if call.error is not None:
            error = call.error
            break
        ends = [
            _tool(tr, agent.span_id, t + ns(rng.uniform(0.5, 2.0) + 0.3 * k), c, topic, order)
            for k, c in enumerate(calls)
        ]
        t = max([t, *ends])
    end = t + ns(rng.uniform(0.5, 2.0))
    agent.end_time_unix_nano = end
    if error is not None:
        message = f"model call failed: {error.type}"
        family = "anthropic" if model.provider == "anthropic" else "openai"
        fail(agent, error, end, message, text.stacktrace(family, error.exception_type, message))
    return end, error


def _arguments(tool: str, order: str, user_text: str) -> dict[str, str]:
    if tool == "search_docs":
        return {"query": user_text}
    return {"order_id": order}


def _tool(
    tr: Trace,
    parent: bytes,
    start: int,
    call: tuple[str, str, dict[str, str]],
    topic: str,
    order: str,
) -> int:
    rng, world = tr.rng, tr.world
    call_id, tool, args = call
    span = tr.start(AGENT_RUNTIME, SCOPE_AGENT, f"execute_tool {tool}", INTERNAL, parent, start)
    attrs: list[tuple[str, AttrValue]] = [
        ("gen_ai.operation.name", "execute_tool"),
        ("gen_ai.tool.name", tool),
        ("gen_ai.tool.type", "function"),
        ("gen_ai.tool.call.id", call_id),
        ("gen_ai.tool.call.arguments", json.dumps(args)),
        ("user.id", tr.user),
        ("session.id", tr.session),
    ]
    t = start + ns(rng.uniform(0.2, 1.0))
    error: ErrorKind | None = None
    if tool == "search_docs":
        child = tr.start(AGENT_RUNTIME, SCOPE_HTTPX, "POST", CLIENT, span.span_id, t)
        r_end, status = rag_request(
            tr, child.span_id, t + ns(rng.uniform(0.5, 2.5)), args["query"], topic
        )
        t = r_end + ns(rng.uniform(0.5, 2.5))
        put(
            child,
            [
                ("http.request.method", "POST"),
                ("url.full", "http://rag-api:8000/v1/retrieve"),
                ("server.address", "rag-api"),
                ("server.port", 8000),
                ("http.response.status_code", status),
            ],
        )
        if status >= 500:
            http_error(child, status)
            error = world.error("VectorStoreTimeout")
    elif tool == "get_order":
        child = tr.start(AGENT_RUNTIME, SCOPE_PSYCOPG, "SELECT orders", CLIENT, span.span_id, t)
        t += ns(rng.lognormvariate(2.3, 0.6))
        put(
            child,
            [
                ("db.system.name", "postgresql"),
                ("db.namespace", "shop"),
                ("db.operation.name", "SELECT"),
                ("db.collection.name", "orders"),
                ("db.query.text", "SELECT id, status, carrier, eta FROM orders WHERE id = $1"),
                ("server.address", "orders-db"),
                ("db.response.returned_rows", 1),
            ],
        )
        if rng.random() < world.tool_error_rate:
            error = world.error("OrderNotFound")
    else:
        child = tr.start(AGENT_RUNTIME, SCOPE_HTTPX, "POST", CLIENT, span.span_id, t)
        t += ns(rng.lognormvariate(5.0, 0.45))
        declined = rng.random() < world.tool_error_rate * 2
        put(
            child,
            [
                ("http.request.method", "POST"),
                ("url.full", "https://payments.internal/v1/refunds"),
                ("server.address", "payments.internal"),
                ("server.port", 443),
                ("http.response.status_code", 402 if declined else 201),
            ],
        )
        if declined:
            error = world.error("RefundDeclined")
    child.end_time_unix_nano = t
    end = t + ns(rng.lognormvariate(2.0, 0.8))
    span.end_time_unix_nano = end
    if error is not None:
        message = error.message.replace("{order}", order)
        fail(
            span, error, end, message, text.stacktrace("tool", error.exception_type, message, tool)
        )
    else:
        attrs.append(("gen_ai.tool.call.result", json.dumps({"ok": True, "tool": tool})))
    put(span, attrs)
    return end
