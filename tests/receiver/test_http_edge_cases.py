"""OTLP/HTTP edge cases that lost spans, answered 500 or 503, or never ended."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

import pyflare_cli.receiver.http_app as http_app

PROTOBUF = {"content-type": "application/x-protobuf"}


def _request(index: int) -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = index.to_bytes(16, "big")
    span.span_id = index.to_bytes(8, "big")
    span.name = f"span {index}"
    span.start_time_unix_nano = 1_700_000_000_000_000_000 + index
    span.end_time_unix_nano = span.start_time_unix_nano + 1_000
    return request.SerializeToString()


def test_review_every_gzip_member_is_read(start_receiver: Callable[..., Running]) -> None:
    # A gzip body may hold several members (RFC 1952); concatenated protobuf requests
    # merge. Only the first member was read, and the answer was 200 for all of them.
    running = start_receiver(grpc=None)
    body = gzip.compress(_request(1)) + gzip.compress(_request(2))
    headers = {**PROTOBUF, "content-encoding": "gzip"}
    answer = httpx.post(f"{running.http_url}/v1/traces", content=body, headers=headers)
    assert answer.status_code == 200
    assert running.stored(at_least=2).height == 2


def test_review_trailing_garbage_after_gzip_is_refused(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver(grpc=None)
    body = gzip.compress(_request(1)) + b"trailing junk"
    headers = {**PROTOBUF, "content-encoding": "gzip"}
    answer = httpx.post(f"{running.http_url}/v1/traces", content=body, headers=headers)
    assert answer.status_code == 400


def test_review_a_non_ascii_api_key_header_is_401_not_500(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver(grpc=None, api_key="s3cret")
    for header in ("x-api-key", "authorization"):
        value = "Bearer s3crét" if header == "authorization" else "s3crét"
        answer = httpx.post(
            f"{running.http_url}/v1/traces",
            content=_request(1),
            headers={"content-type": b"application/x-protobuf", header: value.encode("latin-1")},
        )
        assert answer.status_code == 401, header


def test_review_idle_connections_do_not_take_every_request_slot(
    start_receiver: Callable[..., Running],
) -> None:
    # uvicorn's limit_concurrency counts open connections: 256 idle ones (keep-alive
    # exporters, or anyone) made every request a 503, for as long as they stayed open.
    running = start_receiver(grpc=None)
    idle = [socket.create_connection(("127.0.0.1", running.receiver.http_port)) for _ in range(260)]
    try:
        time.sleep(0.3)
        answer = httpx.post(f"{running.http_url}/v1/traces", content=_request(1), headers=PROTOBUF)
        assert answer.status_code == 200
    finally:
        for sock in idle:
            sock.close()


def _stalled_upload(port: int) -> socket.socket:
    """A request whose body never completes (a hung or malicious client)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\n"
        b"content-length: 100\r\n\r\n0123456789"
    )
    return sock


def test_review_a_stalled_upload_does_not_block_shutdown(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver(grpc=None)
    sock = _stalled_upload(running.receiver.http_port)
    try:
        time.sleep(0.3)
        stopper = threading.Thread(target=running.stop, daemon=True)
        started = time.monotonic()
        stopper.start()
        stopper.join(20)
        assert not stopper.is_alive(), "shutdown waits for the stalled request forever"
        assert time.monotonic() - started < 20
    finally:
        sock.close()


def test_review_a_stalled_upload_times_out(
    start_receiver: Callable[..., Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_app, "BODY_TIMEOUT_SECONDS", 0.5, raising=False)
    running = start_receiver(grpc=None)
    sock = _stalled_upload(running.receiver.http_port)
    try:
        sock.settimeout(10)
        head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 408"), head[:40]
    finally:
        sock.close()


def test_review_a_utf16_json_body_is_refused_not_altered(
    start_receiver: Callable[..., Running],
) -> None:
    # json.loads accepts UTF-16; the spool then replaced every 0x0A byte (half of U+4E0A
    # "上" in UTF-16-LE) with a space, and the span was stored as "丠": altered, silently.
    running = start_receiver(grpc=None)
    span = {
        "traceId": f"{7:032x}",
        "spanId": f"{7:016x}",
        "name": "上海",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000000000010",
    }
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    body = json.dumps(document, ensure_ascii=False).encode("utf-16-le")
    answer = httpx.post(
        f"{running.http_url}/v1/traces", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    utf8 = json.dumps(document, ensure_ascii=False).encode()
    bom = b"\xef\xbb\xbf" + utf8
    for content in (utf8, bom):
        answer = httpx.post(
            f"{running.http_url}/v1/traces",
            content=content,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 200
    assert running.stored(at_least=2).get_column("name").to_list() == ["上海", "上海"]
