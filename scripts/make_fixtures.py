"""Write the small input files in every supported format that the tests and docs use.

Run from the project root: ``python scripts/make_fixtures.py``. The output is committed;
re-running it gives the same bytes. Every format holds the same logical trace
(``BASE_TRACE``), so a test can check that all formats produce the same spans.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from pathlib import Path
from typing import Any

import polars as pl
import zstandard
from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.sources.otlp_wire import varint

HERE = Path(__file__).resolve().parent.parent / "fixtures"
TRACE = "5b8efff798038103d269b633813fc60c"
T0 = 1_763_640_000_000_000_000  # 2025-11-20T12:00:00Z


def _s(value: str) -> dict[str, Any]:
    return {"stringValue": value}


def _i(value: int) -> dict[str, Any]:
    return {"intValue": str(value)}


def _kv(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def _span(span_id: str, parent: str, name: str, start_ms: int, end_ms: int, **extra: Any) -> dict:
    span = {
        "traceId": TRACE,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "kind": extra.pop("kind", 1),
        "startTimeUnixNano": str(T0 + start_ms * 1_000_000),
        "endTimeUnixNano": str(T0 + end_ms * 1_000_000),
        "attributes": extra.pop("attributes", []),
        "status": extra.pop("status", {}),
    }
    span.update(extra)
    return span


BASE_TRACE: dict[str, Any] = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [
                    _kv("service.name", _s("chat-api")),
                    _kv("service.version", _s("1.2.0")),
                    _kv("deployment.environment.name", _s("prod")),
                ]
            },
            "scopeSpans": [
                {
                    "scope": {"name": "pyflare.fixtures", "version": "1"},
                    "spans": [
                        _span(
                            "eee19b7ec3c1b174",
                            "",
                            "POST /chat",
                            0,
                            1500,
                            kind=2,
                            attributes=[
                                _kv("http.route", _s("/chat")),
                                _kv("http.response.status_code", _i(200)),
                                _kv("user.id", _s("user-1")),
                                _kv("session.id", _s("session-1")),
                            ],
                        ),
                        _span(
                            "eee19b7ec3c1b175",
                            "eee19b7ec3c1b174",
                            "chat gpt-4o",
                            100,
                            1200,
                            kind=3,
                            attributes=[
                                _kv("gen_ai.operation.name", _s("chat")),
                                _kv("gen_ai.provider.name", _s("openai")),
                                _kv("gen_ai.request.model", _s("gpt-4o")),
                                _kv("gen_ai.response.model", _s("gpt-4o-2024-08-06")),
                                _kv("gen_ai.usage.input_tokens", _i(1200)),
                                _kv("gen_ai.usage.output_tokens", _i(300)),
                                _kv("gen_ai.usage.cache_read.input_tokens", _i(1000)),
                                _kv(
                                    "gen_ai.response.finish_reasons",
                                    {"arrayValue": {"values": [_s("stop")]}},
                                ),
                                _kv("gen_ai.request.temperature", {"doubleValue": 0.2}),
                                _kv("gen_ai.request.stream", {"boolValue": True}),
                                _kv("app.request_digest", {"bytesValue": "AQID"}),
                                _kv(
                                    "gen_ai.input.messages",
                                    _s(
                                        '[{"role":"user","parts":[{"type":"text",'
                                        '"content":"Where is my order?"}]}]'
                                    ),
                                ),
                            ],
                            events=[
                                {
                                    "timeUnixNano": str(T0 + 150_000_000),
                                    "name": "gen_ai.first_token",
                                    "attributes": [_kv("ttft_ms", _i(50))],
                                }
                            ],
                        ),
                        _span(
                            "eee19b7ec3c1b176",
                            "eee19b7ec3c1b174",
                            "execute_tool get_order",
                            1200,
                            1450,
                            attributes=[
                                _kv("gen_ai.operation.name", _s("execute_tool")),
                                _kv("gen_ai.tool.name", _s("get_order")),
                            ],
                            status={"code": 2, "message": "order service timed out"},
                            events=[
                                {
                                    "timeUnixNano": str(T0 + 1_440_000_000),
                                    "name": "exception",
                                    "attributes": [
                                        _kv("exception.type", _s("TimeoutError")),
                                        _kv("exception.message", _s("GET /orders/42 timed out")),
                                    ],
                                }
                            ],
                            links=[
                                {
                                    "traceId": "0af7651916cd43dd8448eb211c80319c",
                                    "spanId": "b7ad6b7169203331",
                                    "attributes": [_kv("link.reason", _s("retry-of"))],
                                }
                            ],
                        ),
                        _span(
                            "eee19b7ec3c1b177",
                            "aaaaaaaaaaaaaaaa",
                            "orphan cleanup",
                            1460,
                            1490,
                            attributes=[_kv("tags", {"arrayValue": {"values": [_s("a"), _i(2)]}})],
                        ),
                    ],
                }
            ],
        }
    ]
}


def to_base64_variant(doc: dict[str, Any]) -> dict[str, Any]:
    """The same request as protobuf's JSON printer and some tools write it."""
    out = copy.deepcopy(doc)
    kinds = {1: "SPAN_KIND_INTERNAL", 2: "SPAN_KIND_SERVER", 3: "SPAN_KIND_CLIENT"}
    for rs in out["resourceSpans"]:
        rs["scope_spans"] = rs.pop("scopeSpans")
        for ss in rs["scope_spans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span[key]:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
                span["kind"] = kinds[span["kind"]]
                if span["status"].get("code") == 2:
                    span["status"]["code"] = "STATUS_CODE_ERROR"
                span["startTimeUnixNano"] = int(span["startTimeUnixNano"])
                for link in span.get("links", []):
                    link["traceId"] = base64.b64encode(bytes.fromhex(link["traceId"])).decode()
                    link["spanId"] = base64.b64encode(bytes.fromhex(link["spanId"])).decode()
    return out


def to_proto(doc: dict[str, Any]) -> ExportTraceServiceRequest:
    """OTLP/JSON (hex ids) -> protobuf message (ParseDict wants base64 ids)."""
    return ParseDict(to_base64_variant(doc), ExportTraceServiceRequest())


def phoenix_rows() -> list[dict[str, Any]]:
    """The LLM part of the trace as Phoenix's get_spans_dataframe() flattens it."""
    return [
        {
            "name": "ChatCompletion",
            "span_kind": "LLM",
            "parent_id": None,
            "start_time": "2025-11-20T12:00:00.100000+00:00",
            "end_time": "2025-11-20T12:00:01.200000+00:00",
            "status_code": "OK",
            "status_message": "",
            "context.span_id": "eee19b7ec3c1b175",
            "context.trace_id": TRACE,
            "attributes.llm.model_name": "gpt-4o",
            "attributes.llm.provider": "openai",
            "attributes.llm.token_count.prompt": 1200,
            "attributes.llm.token_count.completion": 300,
            "attributes.llm.token_count.total": 1500,
            "attributes.input.value": "Where is my order?",
            "attributes.output.value": "It ships tomorrow.",
            "attributes.session.id": "session-1",
        },
        {
            "name": "retrieve",
            "span_kind": "RETRIEVER",
            "parent_id": "eee19b7ec3c1b175",
            "start_time": 1763640000150,
            "end_time": 1763640000400,
            "status_code": "ERROR",
            "status_message": "index unavailable",
            "context.span_id": "eee19b7ec3c1b178",
            "context.trace_id": TRACE,
            "attributes.llm.model_name": None,
            "attributes.llm.provider": None,
            "attributes.llm.token_count.prompt": None,
            "attributes.llm.token_count.completion": None,
            "attributes.llm.token_count.total": None,
            "attributes.input.value": "order 42",
            "attributes.output.value": None,
            "attributes.session.id": "session-1",
        },
    ]


def main() -> None:
    otlp = HERE / "otlp"
    otlp.mkdir(exist_ok=True)
    (otlp / "trace.json").write_text(json.dumps(BASE_TRACE, indent=2) + "\n")
    (otlp / "trace_base64_enum_names.json").write_text(
        json.dumps(to_base64_variant(BASE_TRACE), indent=2) + "\n"
    )
    request = to_proto(BASE_TRACE)
    (otlp / "trace.pb").write_bytes(request.SerializeToString())
    # Two requests, one span each, length-delimited (writeDelimitedTo framing).
    parts = []
    for span_index in (0, 1):
        doc = copy.deepcopy(BASE_TRACE)
        spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
        doc["resourceSpans"][0]["scopeSpans"][0]["spans"] = [spans[span_index]]
        data = to_proto(doc).SerializeToString()
        parts.append(varint(len(data)) + data)
    (otlp / "stream.pb").write_bytes(b"".join(parts))
    metrics_line = {"resourceMetrics": [{"resource": {}, "scopeMetrics": []}]}
    logs_line = {"resourceLogs": [{"resource": {}, "scopeLogs": []}]}
    lines = [json.dumps(BASE_TRACE), json.dumps(metrics_line), json.dumps(logs_line)]
    (otlp / "collector.jsonl").write_text("\n".join(lines) + "\n")
    with gzip.GzipFile(otlp / "trace.json.gz", "wb", mtime=0) as handle:
        handle.write(json.dumps(BASE_TRACE).encode())
    (otlp / "collector.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor().compress(("\n".join(lines) + "\n").encode())
    )
    bad = [
        json.dumps(BASE_TRACE),
        '{"resourceSpans": [ this is not json',
        json.dumps(
            {
                "resourceSpans": [
                    {
                        "resource": {},
                        "scopeSpans": [
                            {
                                "spans": [
                                    _span("eee19b7ec3c1b199", "", "good", 0, 1),
                                    dict(_span("zz", "", "bad id", 0, 1), spanId="not-an-id"),
                                ]
                            }
                        ],
                    }
                ]
            }
        ),
    ]
    (otlp / "half_bad.jsonl").write_text("\n".join(bad) + "\n")

    phoenix = HERE / "phoenix"
    phoenix.mkdir(exist_ok=True)
    rows = phoenix_rows()
    (phoenix / "spans.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    frame = pl.DataFrame(rows, infer_schema_length=None)
    frame.with_columns(pl.col("start_time", "end_time").cast(pl.String)).write_csv(
        phoenix / "spans.csv"
    )
    frame.with_columns(
        pl.Series(
            "start_time",
            ["2025-11-20T12:00:00.100000", "2025-11-20T12:00:00.150000"],
        ).str.to_datetime(time_zone="UTC"),
        pl.Series(
            "end_time", ["2025-11-20T12:00:01.200000", "2025-11-20T12:00:00.400000"]
        ).str.to_datetime(time_zone="UTC"),
    ).write_parquet(phoenix / "spans.parquet")


if __name__ == "__main__":
    main()
