"""A generator of realistic traces for rca's calibration and power tests (not the demo's).

Each trace: a gateway root (``POST /chat``) -> an agent span -> a router LLM call, a tool
call and a rag-api LLM call, in sequence. Errors start in the leaves (rates that differ by
model and tool, the same in both windows) and in the gateway itself; a failing child fails
the agent with probability 0.9 and a failing agent fails the root, which then carries
``http.response.status_code = 500``. Dimensions: service, version, operation, model,
provider, type, tool, agent, environment, user (hundreds, Zipf-like), region, cluster,
route, tier, feature flag, and the status code (an outcome, never a slice).

Incidents: ``ErrorIncident`` deploys a new rag-api version in one region part-way into the
target window, and its calls to one model fail at ``rate``; ``LatencyIncident`` makes one
tool ``factor`` times slower in the target. Vectorised (NumPy): 20 seeds of two windows
take about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from pyflare_cli.schema import POLARS_SCHEMA

BASELINE_START = datetime(2025, 6, 2, 10, tzinfo=UTC)
TARGET_START = BASELINE_START + timedelta(hours=1)
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4", "llama-3-70b")
MODEL_SHARES = (0.35, 0.25, 0.25, 0.15)
MODEL_ERRORS = (0.02, 0.015, 0.01, 0.03)
PROVIDERS = {
    "gpt-4o-mini": "openai",
    "gpt-4o": "openai",
    "claude-sonnet-4": "anthropic",
    "llama-3-70b": "together",
}
ROUTERS = ("gpt-4.1-nano", "claude-haiku")
TOOLS = ("search_docs", "get_order", "refund", "lookup_user")
TOOL_ERRORS = (0.01, 0.02, 0.03, 0.01)
TOOL_MS = (120.0, 60.0, 200.0, 40.0)
REGIONS = ("eu-west-1", "us-east-1", "ap-south-1")
USERS = 400
OLD, NEW = "1.4.2", "2.0.0"


@dataclass(frozen=True)
class ErrorIncident:
    rate: float = 0.25
    model: str = "gpt-4o-mini"
    region: str = "eu-west-1"
    deploy_at: float = 0.3
    """The new version goes live this far into the target window."""


@dataclass(frozen=True)
class LatencyIncident:
    tool: str = "get_order"
    factor: float = 3.0


def _series(name: str, values: np.ndarray) -> pl.Series:
    if values.dtype.kind in "OU":
        return pl.Series(name, values.tolist(), dtype=pl.String)
    return pl.Series(name, values)


def _maps(pairs: dict[str, np.ndarray]) -> pl.Series:
    """A ``Map(String, String)`` column from key -> values (None: key not set)."""
    frame = pl.DataFrame(
        {k: pl.Series(k, np.asarray(v).tolist(), pl.String) for k, v in pairs.items()}
    )
    entries = pl.concat_list(
        [pl.struct(pl.lit(k).alias("key"), pl.col(k).alias("value")) for k in pairs]
    ).list.eval(pl.element().filter(pl.element().struct.field("value").is_not_null()))
    return frame.select(entries.cast(pl.Map(pl.String, pl.String))).to_series()


def window(
    seed: int,
    n: int,
    target: bool,
    incident: ErrorIncident | LatencyIncident | None = None,
    tail: float = 1.0,
) -> pl.DataFrame:
    """``n`` traces (5 spans each) of one hour: the target hour or the baseline hour."""
    rng = np.random.default_rng(seed * 2 + int(target))
    start = TARGET_START if target else BASELINE_START
    prefix = f"{'t' if target else 'b'}{seed:03d}"
    offset = np.sort(rng.random(n)) * 3600.0
    region = rng.choice(REGIONS, n, p=(0.4, 0.45, 0.15))
    model_i = rng.choice(len(MODELS), n, p=MODEL_SHARES)
    model = np.array(MODELS)[model_i]
    tool_i = rng.integers(0, len(TOOLS), n)
    user = np.minimum(rng.zipf(1.3, n), USERS)
    env = np.where(rng.random(n) < 0.9, "prod", "staging")
    version = np.full(n, OLD, dtype=object)
    broken = np.zeros(n, bool)
    if target and isinstance(incident, ErrorIncident):
        live = (offset >= incident.deploy_at * 3600) & (region == incident.region)
        version[live] = NEW
        broken = live & (model == incident.model)
    # durations (ms): router, tool, rag call in sequence under the agent
    router_ms = rng.lognormal(np.log(400), 0.4 * tail, n)
    tool_ms = rng.lognormal(np.log(np.array(TOOL_MS)[tool_i]), 0.5 * tail)
    if target and isinstance(incident, LatencyIncident):
        tool_ms = np.where(
            np.array(TOOLS)[tool_i] == incident.tool, tool_ms * incident.factor, tool_ms
        )
    rag_ms = rng.lognormal(np.log(900), 0.4 * tail, n)
    # errors start in the leaves (and sometimes in the gateway itself)
    router_err = rng.random(n) < 0.01
    tool_err = rng.random(n) < np.array(TOOL_ERRORS)[tool_i]
    rag_rate = np.where(broken, getattr(incident, "rate", 0.0), np.array(MODEL_ERRORS)[model_i])
    rag_err = rng.random(n) < rag_rate
    agent_err = (router_err | tool_err | rag_err) & (rng.random(n) < 0.9)
    root_err = agent_err | (rng.random(n) < 0.003)
    roles = 5
    t0 = np.datetime64(start.replace(tzinfo=None), "ns") + (offset * 1e9).astype("timedelta64[ns]")
    ms = lambda x: (np.asarray(x) * 1e6).astype("timedelta64[ns]")  # noqa: E731
    s_router = t0 + ms(25)
    s_tool = s_router + ms(router_ms) + ms(5)
    s_rag = s_tool + ms(tool_ms) + ms(5)
    e_rag = s_rag + ms(rag_ms)
    e_agent = e_rag + ms(5)
    e_root = e_agent + ms(10)
    starts = np.stack([t0, t0 + ms(15), s_router, s_tool, s_rag], axis=1).ravel()
    ends = np.stack(
        [e_root, e_agent, s_router + ms(router_ms), s_tool + ms(tool_ms), e_rag], axis=1
    ).ravel()
    trace = np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), 6))
    trace_ids = np.repeat(trace, roles)
    span_ids = np.char.add(trace_ids, np.tile(np.array(["-0", "-1", "-2", "-3", "-4"]), n))
    parents = np.stack(
        [np.full(n, None), *(np.char.add(trace, s) for s in ("-0", "-1", "-1", "-1"))], axis=1
    ).ravel()
    failed = np.stack([root_err, agent_err, router_err, tool_err, rag_err], axis=1).ravel()
    rate_limited = np.stack([np.zeros(n, bool)] * 4 + [broken], axis=1).ravel()

    def per_role(*values: np.ndarray | str | None) -> np.ndarray:
        return np.stack(
            [np.broadcast_to(np.asarray(v, dtype=object), n) for v in values], axis=1
        ).ravel()

    none = None
    models = per_role(none, none, np.array(ROUTERS)[rng.integers(0, 2, n)], none, model)
    tools = per_role(none, none, none, np.array(TOOLS)[tool_i], none)
    error_type = np.where(
        rate_limited,
        "RateLimitError",
        per_role("HTTPError", "AgentError", "APITimeoutError", "ToolError", "APIConnectionError"),
    )
    message = np.where(
        rate_limited,
        np.char.add(
            "Rate limit reached for requests, org-", rng.integers(100, 999, 5 * n).astype(str)
        ),
        per_role(
            "upstream returned 500",
            "step failed",
            "Request timed out after 30s",
            "dependency returned 503",
            "Connection reset by peer",
        ),
    )
    rows = {
        "trace_id": trace_ids,
        "span_id": span_ids,
        "parent_span_id": parents,
        "name": per_role(
            "POST /chat",
            "invoke_agent support",
            "chat router",
            np.char.add("execute_tool ", np.array(TOOLS)[tool_i]),
            np.char.add("chat ", model),
        ),
        "kind": per_role("server", "internal", "client", "internal", "client"),
        "start_time": starts,
        "end_time": ends,
        "status_code": np.where(failed, "error", "ok"),
        "status_message": np.where(failed, message, None),
        "error_type": np.where(failed, error_type, None),
        "error_message": np.where(failed, message, None),
        "service_name": per_role(
            "gateway", "agent-runtime", "agent-runtime", "agent-runtime", "rag-api"
        ),
        "service_version": per_role("5.2.1", "3.1.0", "3.1.0", "3.1.0", version),
        "environment": np.repeat(env, roles),
        "ai_kind": per_role(none, "agent", "llm", "tool", "llm"),
        "model": models,
        "provider": np.array(
            [
                PROVIDERS.get(m, "openai" if m == "gpt-4.1-nano" else "anthropic") if m else None
                for m in models
            ],
            dtype=object,
        ),
        "tool_name": tools,
        "agent_name": per_role(
            none, "support-agent", "support-agent", "support-agent", "support-agent"
        ),
        "user_id": np.repeat(np.char.add("user-", user.astype(str)), roles),
    }
    frame = pl.DataFrame({k: _series(k, v) for k, v in rows.items()})
    status = np.where(root_err, "500", "200")
    attributes = _maps(
        {
            "http.response.status_code": per_role(status, none, none, none, none),
            "http.route": per_role(
                rng.choice(["/chat", "/search", "/support"], n), none, none, none, none
            ),
            "app.tier": np.repeat(
                rng.choice(["free", "pro", "enterprise"], n, p=(0.6, 0.3, 0.1)), roles
            ),
            "feature.flag": np.repeat(np.where(rng.random(n) < 0.5, "on", "off"), roles),
        }
    )
    resource = _maps(
        {
            "cloud.region": np.repeat(region, roles),
            "k8s.cluster.name": np.repeat(rng.choice(["blue", "green", "red"], n), roles),
        }
    )
    frame = frame.with_columns(
        attributes.alias("attributes"), resource.alias("resource_attributes")
    )
    frame = frame.with_columns(
        (pl.col("end_time") - pl.col("start_time")).dt.total_nanoseconds().alias("duration_ns"),
        pl.col("start_time").dt.replace_time_zone("UTC"),
        pl.col("end_time").dt.replace_time_zone("UTC"),
    )
    missing = {k: pl.lit(None, v) for k, v in POLARS_SCHEMA.items() if k not in frame.columns}
    return frame.with_columns(**missing).select(list(POLARS_SCHEMA))


def pair(
    seed: int,
    n: int = 2000,
    incident: ErrorIncident | LatencyIncident | None = None,
    tail: float = 1.0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(target, baseline) windows of ``n`` traces each; ``tail`` multiplies the spread
    (log-normal sigma) of every duration: 3 gives the heavy tails of real latency."""
    return window(seed, n, True, incident, tail), window(seed, n, False, tail=tail)
