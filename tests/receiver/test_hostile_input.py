"""Hostile bodies: never a 5xx, never an acknowledgement for a span that will not be stored.

Each case was found by a reliability pass: deeply nested JSON and overflowing numbers
answered 500 with a traceback; an event time at 2^63 or a ``status.message`` that is not a
string answered 200 and then dead-lettered the whole request at flush, valid siblings
included; an undecodable gRPC message answered UNKNOWN.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

JSON_HEADERS = {"content-type": "application/json"}
PROTOBUF = {"content-type": "application/x-protobuf"}
START = 1_700_000_000_000_000_000


def _span(index: int, **extra: Any) -> dict[str, Any]:
    return {
        "traceId": f"{index:032x}",
        "spanId": f"{index:016x}",
        "name": f"span {index}",
        "startTimeUnixNano": str(START + index),
        "endTimeUnixNano": str(START + index + 1000),
        **extra,
    }


def _document(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}


def _dead_letters(root: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((root / "dead_letter").rglob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def _post_json(running: Running, body: bytes | str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.post(f"{running.http_url}/v1/traces", content=content, headers=JSON_HEADERS)


def _nested_any_value(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(depth):
        value = {"arrayValue": {"values": [value]}}
    return value


@pytest.mark.parametrize(
    "body",
    [
        "[" * 2000 + "]" * 2000,
        '{"resourceSpans": ' + "[" * 5000 + "]" * 5000 + "}",
        json.dumps(_document(_span(1))).replace(f'"{START + 1}"', "1e400"),
        json.dumps(_document(_span(1))).replace(f'"{START + 1}"', "Infinity"),
        json.dumps(_document(_span(1))).replace(f'"{START + 1}"', "NaN"),
        json.dumps(
            _document(_span(1, attributes=[{"key": "k", "value": {"intValue": 1}}]))
        ).replace('"intValue": 1', '"intValue": -Infinity'),
        json.dumps(_document(_span(1))).replace(f'"{START + 1}"', "1" + "0" * 5000),
    ],
    ids=[
        "nested-2000",
        "nested-in-document",
        "1e400",
        "Infinity",
        "NaN",
        "intValue-inf",
        "5000-digits",
    ],
)
def test_hostile_json_is_400_with_a_status(
    start_receiver: Callable[..., Running], body: str
) -> None:
    running = start_receiver(grpc=None)
    answer = _post_json(running, body)
    assert answer.status_code == 400, answer.text
    status = answer.json()
    assert status["code"] == 3 and status["message"]
    # A valid request right after is still served and stored.
    assert _post_json(running, json.dumps(_document(_span(7)))).status_code == 200
    assert running.stored(at_least=1).height == 1


def _nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("bad_span", "reason"),
    [
        (_span(2, events=[{"timeUnixNano": str(2**63), "name": "late"}]), "event time"),
        (_span(2, events=[{"timeUnixNano": str(2**64 + 5), "name": "later"}]), "event time"),
        (_span(2, events=[{"timeUnixNano": "-5", "name": "before 1970"}]), "event time"),
        (_span(2, status={"code": 2, "message": {"nested": "object"}}), "status.message"),
        (_span(2, status={"code": 2, "message": True}), "status.message"),
        (_span(2, status={"code": 2, "message": 42}), "status.message"),
        (_span(2, name={"not": "a string"}), "name"),
        (_span(2, attributes=[{"key": "deep", "value": _nested_any_value(200)}]), "nested"),
        (_span(2, attributes=[{"key": "raw", "value": _nested_list(300)}]), "nested"),
    ],
    ids=[
        "event-2^63",
        "event-2^64",
        "event-negative",
        "message-object",
        "message-bool",
        "message-number",
        "name-object",
        "any-value-200-deep",
        "raw-list-300-deep",
    ],
)
def test_a_span_the_store_would_refuse_is_rejected_before_the_ack(
    start_receiver: Callable[..., Running], bad_span: dict[str, Any], reason: str
) -> None:
    running = start_receiver(grpc=None)
    answer = _post_json(running, json.dumps(_document(_span(1), bad_span, _span(3))))
    assert answer.status_code == 200, answer.text
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert reason in partial["errorMessage"]
    stored = running.stored(at_least=2)
    assert sorted(stored["name"].to_list()) == ["span 1", "span 3"]
    running.stop()
    # The refused span is a dead letter with its reason; no request went whole to them.
    letters = _dead_letters(running.root)
    assert len(letters) == 1 and reason in letters[0]["reason"]


def test_lone_surrogates_in_json_strings_are_stored_replaced(
    start_receiver: Callable[..., Running],
) -> None:
    # "\ud800" is valid JSON but no UTF-8 string: Arrow refused the whole batch at flush.
    running = start_receiver(grpc=None)
    body = json.dumps(_document(_span(1, name="a\ud800b"), _span(2)))
    answer = _post_json(running, body)
    assert answer.status_code == 200 and "partialSuccess" not in answer.json()
    stored = running.stored(at_least=2)
    assert sorted(stored["name"].to_list()) == ["a\ufffdb", "span 2"]


def test_proto_event_time_past_int64_is_rejected_before_the_ack(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver()

    def build(protocol: str) -> ExportTraceServiceRequest:
        request = ExportTraceServiceRequest()
        spans = request.resource_spans.add().scope_spans.add().spans
        for index in (1, 2, 3):
            span = spans.add()
            span.trace_id = index.to_bytes(16, "big")
            span.span_id = index.to_bytes(8, "big")
            span.name = f"{protocol} {index}"
            span.start_time_unix_nano = START + index
            span.end_time_unix_nano = START + index + 1000
            if index == 2:
                span.events.add(time_unix_nano=2**64 - 1, name="late")
        return request

    request = build("http")
    answer = httpx.post(
        f"{running.http_url}/v1/traces", content=request.SerializeToString(), headers=PROTOBUF
    )
    assert answer.status_code == 200
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    response = ExportTraceServiceResponse.FromString(answer.content)
    assert response.partial_success.rejected_spans == 1
    assert "event" in response.partial_success.error_message
    with grpc.insecure_channel(running.grpc_target) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        reply = stub.Export(build("grpc"), timeout=30)
        assert reply.partial_success.rejected_spans == 1
    stored = running.stored(at_least=4)
    assert sorted(stored["name"].to_list()) == ["grpc 1", "grpc 3", "http 1", "http 3"]


def test_undecodable_grpc_message_is_invalid_argument(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver(http=None)
    with grpc.insecure_channel(running.grpc_target) as channel:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=lambda body: body,
            response_deserializer=lambda body: body,
        )
        with pytest.raises(grpc.RpcError) as caught:
            export(b"\xff\xff\xff\xff", timeout=30)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "OTLP" in (caught.value.details() or "")


def test_nesting_within_the_limit_is_stored(start_receiver: Callable[..., Running]) -> None:
    running = start_receiver(grpc=None)
    value = _nested_any_value(30)
    document = _document(_span(1, attributes=[{"key": "deep", "value": value}]))
    answer = _post_json(running, json.dumps(document))
    assert answer.status_code == 200 and "partialSuccess" not in answer.json()
    stored = running.stored(at_least=1)
    assert stored["attributes"][0]["deep"].count("[") == 30
