"""A full spool answers 429 / RESOURCE_EXHAUSTED instead of growing without limit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "otlp"
BODY = (FIXTURES / "trace.pb").read_bytes()


def test_full_spool_refuses_until_flushed(start_receiver: Callable[..., Running]) -> None:
    # A bound of 3 requests and a flush interval long enough to hold them in the spool.
    running = start_receiver(max_spool_bytes=3 * len(BODY), flush_interval=3600)
    url = f"{running.http_url}/v1/traces"
    headers = {"content-type": "application/x-protobuf"}
    codes = [httpx.post(url, content=BODY, headers=headers).status_code for _ in range(6)]
    assert codes[:3] == [200, 200, 200]
    assert set(codes[3:]) == {429}
    refused = httpx.post(url, content=BODY, headers=headers)
    assert refused.headers["retry-after"] == "1"
    spool = running.receiver.spool
    assert spool.unflushed <= spool.max_bytes + len(BODY) + 16
    channel = grpc.insecure_channel(running.grpc_target)
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
    with channel, pytest.raises(grpc.RpcError) as caught:
        stub.Export(ExportTraceServiceRequest.FromString(BODY), timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = dict(caught.value.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    (detail,) = status.details
    retry = error_details_pb2.RetryInfo()
    assert detail.Unpack(retry) and retry.retry_delay.seconds == 1  # so OTLP clients retry
    assert running.receiver.stats.refused["busy"] == 5
    running.stop()  # seals and flushes what was acknowledged
    assert running.stored().height == 3 * 4
