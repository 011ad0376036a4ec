"""``partial_success.rejected_spans`` counts spans, however they are refused.

A ``resourceSpans`` refused whole for a malformed resource or scope (OTLP/JSON: a scope name
that is not a string, resource attributes that are not a list) is one dead letter, and was
counted as one rejected span while it held several. In OTLP/protobuf the resource and scope
are typed by the schema: nothing in them is refused, so spans are refused one by one; the
count is checked across resources and scopes there too, over HTTP and gRPC.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from receiver_support import Running

START = 1_700_000_000_000_000_000


def _span(index: int) -> dict[str, Any]:
    return {
        "traceId": f"{index:032x}",
        "spanId": f"{index:016x}",
        "name": f"span {index}",
        "startTimeUnixNano": str(START + index),
        "endTimeUnixNano": str(START + index + 1000),
    }


def _spans(*indexes: int) -> list[dict[str, Any]]:
    return [_span(index) for index in indexes]


def _healthz(running: Running) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{running.http_url}/healthz").json()
    return answer


def test_json_a_resource_refused_whole_counts_every_span_in_it(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver(grpc=None)
    document = {
        "resourceSpans": [
            {"scopeSpans": [{"spans": _spans(1, 2)}]},
            {  # a scope name that is an object: this whole resourceSpans is refused
                "scopeSpans": [
                    {"scope": {"name": "fine"}, "spans": _spans(10, 11, 12)},
                    {"scope": {"name": {"not": "a string"}}, "spans": _spans(13, 14)},
                ]
            },
            {  # resource attributes that are no list: refused whole, 4 spans
                "resource": {"attributes": 5},
                "scopeSpans": [{"spans": _spans(20, 21)}, {"spans": _spans(22, 23)}],
            },
            {"scopeSpans": [{"spans": _spans(3)}]},
        ]
    }
    answer = httpx.post(
        f"{running.http_url}/v1/traces",
        content=json.dumps(document),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "9"
    assert partial["errorMessage"].startswith("9 span(s) rejected; first: ")
    assert "scope name" in partial["errorMessage"]
    stored = running.stored(at_least=3)
    assert sorted(stored["name"].to_list()) == ["span 1", "span 2", "span 3"]
    health = _healthz(running)
    assert health["spans_accepted"] == 3 and health["spans_rejected"] == 9


def test_json_a_request_whose_only_resource_is_refused_is_a_400(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver(grpc=None)
    document = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": 7}, "spans": _spans(1, 2)}]}]}
    answer = httpx.post(
        f"{running.http_url}/v1/traces",
        content=json.dumps(document),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith("2 span(s) rejected")


def _proto_request(label: str) -> ExportTraceServiceRequest:
    """3 good spans and 9 bad ones over three resources and four scopes."""
    request = ExportTraceServiceRequest()

    def add(scope: Any, index: int, problem: str = "") -> None:
        span = scope.spans.add()
        span.trace_id = bytes(16) if problem == "trace" else index.to_bytes(16, "big")
        span.span_id = b"\x01\x02" if problem == "span" else index.to_bytes(8, "big")
        span.name = f"{label} {index}"
        span.start_time_unix_nano = START + index
        span.end_time_unix_nano = START + index - 5 if problem == "time" else START + index + 9
        if problem == "event":
            span.events.add(time_unix_nano=2**63, name="late")

    good = request.resource_spans.add().scope_spans.add()
    add(good, 1)
    add(good, 2)
    mixed = request.resource_spans.add()
    first, second = mixed.scope_spans.add(), mixed.scope_spans.add()
    add(first, 10, "trace")
    add(first, 11)
    add(first, 12, "time")
    for index in (13, 14, 15):
        add(second, index, "span")
    bad = request.resource_spans.add()
    bad.resource.attributes.add(key="service.name", value={"string_value": "all bad"})
    for index, problem in zip((20, 21, 22, 23), ("trace", "span", "time", "event"), strict=True):
        add(bad.scope_spans.add(), index, problem)
    return request


def test_protobuf_over_http_and_grpc_counts_every_refused_span(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver()
    answer = httpx.post(
        f"{running.http_url}/v1/traces",
        content=_proto_request("http").SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert answer.status_code == 200
    partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
    assert partial.rejected_spans == 9
    assert partial.error_message.startswith("9 span(s) rejected; first: invalid trace_id")
    with grpc.insecure_channel(running.grpc_target) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        reply = stub.Export(_proto_request("grpc"), timeout=30)
    assert reply.partial_success.rejected_spans == 9
    stored = running.stored(at_least=6)
    assert sorted(stored["name"].to_list()) == [
        "grpc 1",
        "grpc 11",
        "grpc 2",
        "http 1",
        "http 11",
        "http 2",
    ]
    health = _healthz(running)
    assert health["spans_accepted"] == 6 and health["spans_rejected"] == 18
