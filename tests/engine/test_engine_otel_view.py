"""The canonical view over the Collector exporter's ``otel_traces`` agrees with ingest.

Spans of several conventions go through the real OTLP decoder and normaliser into a store;
the same spans, laid out as the exporter writes them, are read back through
:func:`pyflare_cli.engine.otel_traces.canonical_select` in chdb. Every column the view
offers must match what ingest made of the same attributes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from otel_fill import fill_otel_traces

from pyflare_cli import semconv
from pyflare_cli.engine.clickhouse_engine import ChdbRunner
from pyflare_cli.engine.cost_sql import SPAN_COLUMNS
from pyflare_cli.engine.otel_traces import canonical_select, expressible

COMPARED = (
    *SPAN_COLUMNS,
    "kind",
    "duration_ns",
    "environment",
    "service_version",
    "request_model",
    "total_tokens",
    "finish_reason",
    "tool_name",
    "agent_name",
    "user_id",
    "session_id",
    "error_type",
)

SPANS: dict[str, dict[str, Any]] = {
    "a000000000000001": {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "OpenAI",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 80,
        "gen_ai.usage.cache_read.input_tokens": 1000,
        "gen_ai.response.finish_reasons": ["stop"],
        "user.id": "u-1",
        "gen_ai.conversation.id": "s-1",
    },
    "a000000000000002": {
        "openinference.span.kind": "LLM",
        "llm.provider": "anthropic",
        "llm.model_name": "claude-sonnet-4-20250514",
        "llm.token_count.prompt": 300,
        "llm.token_count.completion": 40,
        "llm.token_count.total": 340,
        "llm.cost.total": 0.0123,
        "session.id": "s-2",
    },
    "a000000000000003": {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": "gpt-4o-mini",
        "langfuse.observation.usage_details": json.dumps(
            {"input": 100, "output": 7, "input_cached_tokens": 20}
        ),
        "langfuse.observation.cost_details": json.dumps({"input": 0.001, "output": 0.002}),
        "langfuse.user.id": "u-3",
        "langfuse.observation.level": "ERROR",
    },
    "a000000000000004": {
        "traceloop.span.kind": "tool",
        "traceloop.tool.name": "search",
        "llm.request.type": "chat",
        "llm.usage.prompt_tokens": "12.0",
        "error.type": "TimeoutError",
    },
    "a000000000000005": {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"},
}


def test_every_rule_of_a_cost_column_is_in_the_view() -> None:
    """Cost reads these columns: none of their rules may be left out of the view."""
    cost_columns = {"ai_kind", "provider", "response_model", "request_model"}
    cost_columns |= set(semconv.INT_COLUMNS) | {"reported_cost_usd"}
    missing = [r for r in semconv.RULES if r.column in cost_columns and not expressible(r)]
    assert missing == []


def test_view_matches_ingest(
    otlp: Any,
    add_source: Callable[[Path, pl.DataFrame, str], list[Path]],
    tmp_path: Path,
) -> None:
    spans = [
        otlp.span(
            span_id,
            parent=None if i == 0 else "a000000000000001",
            name=f"op-{i}",
            kind=Span.SPAN_KIND_CLIENT if i % 2 else Span.SPAN_KIND_INTERNAL,
            start_ms=i * 10.5,
            duration_ms=3.25 + i,
            attributes=attributes,
            status=Status.STATUS_CODE_ERROR if i == 3 else Status.STATUS_CODE_UNSET,
            status_message="boom" if i == 3 else "",
        )
        for i, (span_id, attributes) in enumerate(SPANS.items())
    ]
    resource = {"service.name": "api", "service.version": "1.2", "deployment.environment": "prod"}
    canonical = otlp.canonical(otlp.request(*spans, resource=resource, scope="my.scope"))
    store = tmp_path / "store"
    add_source(store, canonical, "view-test")
    fill_otel_traces(store, tmp_path / "chdb")
    runner = ChdbRunner(tmp_path / "chdb")
    try:
        columns = ", ".join(COMPARED)
        table = runner.arrow(f"SELECT {columns} FROM ({canonical_select('otel_traces')}) AS v")
    finally:
        runner.close()
    got = pl.from_arrow(table)
    assert isinstance(got, pl.DataFrame)
    want = canonical.select(COMPARED).sort("span_id")
    got = got.select(pl.col(c).cast(want.schema[c]) for c in COMPARED).sort("span_id")
    assert got.height == len(SPANS)
    for column in COMPARED:
        assert got[column].to_list() == want[column].to_list(), column
    # The conventions were really exercised, not all nulls.
    assert want["input_tokens"].to_list() == [1200, 300, 120, 12, None]
    assert want["ai_kind"].to_list() == ["llm", "llm", "llm", "tool", "agent"]


@pytest.mark.parametrize("bad", ["otel_traces; DROP TABLE x", "t`x", ""])
def test_a_table_name_is_a_plain_name(bad: str) -> None:
    from pyflare_cli.engine.clickhouse_engine import parse_url
    from pyflare_cli.errors import UsageError

    with pytest.raises(UsageError, match="table="):
        parse_url(f"clickhouse://127.0.0.1:1/db?table={bad}")
