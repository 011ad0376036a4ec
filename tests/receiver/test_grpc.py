"""OTLP/gRPC with a raw stub: partial success, compression, auth, limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "otlp"
REQUEST = ExportTraceServiceRequest.FromString((FIXTURES / "trace.pb").read_bytes())


def _stub(running: Running) -> tuple[grpc.Channel, trace_service_pb2_grpc.TraceServiceStub]:
    channel = grpc.insecure_channel(running.grpc_target)
    return channel, trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]


def test_export_with_gzip_and_partial_success(start_receiver: Callable[..., Running]) -> None:
    running = start_receiver()
    channel, stub = _stub(running)
    with channel:
        ok = stub.Export(REQUEST, timeout=10, compression=grpc.Compression.Gzip)
        assert not ok.HasField("partial_success") or ok.partial_success.rejected_spans == 0
        bad = ExportTraceServiceRequest()
        bad.CopyFrom(REQUEST)
        bad.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x01\x02"
        partial = stub.Export(bad, timeout=10)
        assert partial.partial_success.rejected_spans == 1
        assert "invalid span_id" in partial.partial_success.error_message
    stored = running.stored(at_least=7)
    assert stored.height == 7


def test_all_spans_invalid_is_invalid_argument(start_receiver: Callable[..., Running]) -> None:
    running = start_receiver()
    bad = ParseDict(
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "AAAA", "spanId": "AAAA"}]}]}]},
        ExportTraceServiceRequest(),
    )
    channel, stub = _stub(running)
    with channel, pytest.raises(grpc.RpcError) as caught:
        stub.Export(bad, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_api_key_and_message_limit(start_receiver: Callable[..., Running]) -> None:
    running = start_receiver(api_key="k", max_body=2048)
    channel, stub = _stub(running)
    with channel:
        with pytest.raises(grpc.RpcError) as caught:
            stub.Export(REQUEST, timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert stub.Export(REQUEST, timeout=10, metadata=[("authorization", "Bearer k")])
        assert stub.Export(REQUEST, timeout=10, metadata=[("x-api-key", "k")])
        big = ExportTraceServiceRequest()
        big.CopyFrom(REQUEST)
        big.resource_spans[0].scope_spans[0].spans[0].name = "x" * 4096
        with pytest.raises(grpc.RpcError) as too_big:
            stub.Export(big, timeout=10, metadata=[("x-api-key", "k")])
        assert too_big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert json.loads(json.dumps(running.receiver.health()))["requests_refused"] == {
        "unauthenticated": 1
    }
