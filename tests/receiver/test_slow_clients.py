"""Slow and silent clients cannot deny service to legitimate ones.

Idle and slow-header HTTP connections were never timed out; 256 slow-body connections
made every legitimate export get 429 for 60 s; and with the common 1,024 descriptor limit
the receiver stopped while stderr filled with "socket.accept() out of system resource".
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

import pyflare_cli.receiver.connections as connections
from pyflare_cli.receiver.connections import AcceptErrorFilter, GuardedH11
from pyflare_cli.receiver.intake import MAX_ACTIVE_EXPORTS

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


def _closed_by_server(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1024) == b""
    except (TimeoutError, ConnectionResetError):
        return False


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def test_silent_and_slow_header_connections_are_closed(
    start_receiver: Callable[..., Running],
    monkeypatch: pytest.MonkeyPatch,
    sockets: list[socket.socket],
) -> None:
    monkeypatch.setattr(connections, "HEADER_TIMEOUT_SECONDS", 0.5)
    running = start_receiver(grpc=None)
    address = ("127.0.0.1", running.receiver.http_port)
    silent = socket.create_connection(address)
    slow = socket.create_connection(address)
    slow.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-")
    sockets += [silent, slow]
    assert _closed_by_server(silent, 30)
    assert _closed_by_server(slow, 30)
    # A keep-alive connection that starts a second request and stalls is closed too.
    with socket.create_connection(address) as again:
        body = _request(1)
        head = (
            f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        again.sendall(head + body)
        assert b"200 OK" in again.recv(65536)
        again.sendall(b"POST /v1/tra")
        assert _closed_by_server(again, 30)


def test_legitimate_exports_are_served_during_a_slow_client_attack(
    start_receiver: Callable[..., Running],
    monkeypatch: pytest.MonkeyPatch,
    sockets: list[socket.socket],
) -> None:
    monkeypatch.setattr(GuardedH11, "limit", 400)
    running = start_receiver(grpc=None)
    address = ("127.0.0.1", running.receiver.http_port)
    # More slow-body requests than there are export slots, and slow-header connections
    # up to the connection limit.
    for _ in range(MAX_ACTIVE_EXPORTS + 20):
        sock = socket.create_connection(address)
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"\x0a" * 10
        )
        sockets.append(sock)
    for _ in range(200):
        sock = socket.create_connection(address)
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\n")
        sockets.append(sock)
    time.sleep(1.5)  # the slow bodies are now older than a fair share of a slot

    async def legitimate() -> list[int]:
        async with httpx.AsyncClient(base_url=running.http_url, timeout=30) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/v1/traces", content=_request(i), headers=PROTOBUF)
                    for i in range(1, 41)
                )
            )
        return [a.status_code for a in answers]

    statuses = asyncio.run(legitimate())
    assert statuses.count(200) == 40, statuses
    assert running.stored(at_least=40).height == 40


def test_accept_errors_are_logged_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        handler = AcceptErrorFilter()
        error = OSError(24, "Too many open files")
        for _ in range(1000):
            handler(loop, {"message": "socket.accept() out of system resource", "exception": error})
    finally:
        loop.close()
    lines = [r for r in caplog.records if "cannot accept connections" in r.getMessage()]
    assert len(lines) == 1 and handler.suppressed == 999


def test_the_accept_retry_after_shutdown_is_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # After EMFILE asyncio retries accept() a second later; when the server was closed
    # meanwhile (shutdown), the retry fails on the closed socket and printed a traceback.
    loop = asyncio.new_event_loop()
    try:
        retry = asyncio.Handle(loop._start_serving, (), loop)  # type: ignore[attr-defined]
        context = {
            "message": f"Exception in callback {retry!r}",
            "exception": ValueError("Invalid file descriptor: -1"),
            "handle": retry,
        }
        AcceptErrorFilter()(loop, context)
        other = {"message": "Task exception was never retrieved", "exception": ValueError()}
        AcceptErrorFilter()(loop, other)  # anything else still reaches asyncio's handler
    finally:
        loop.close()
    assert [r.getMessage() for r in caplog.records] == ["Task exception was never retrieved"]


def test_a_burst_of_connections_is_held_to_the_cap(
    start_receiver: Callable[..., Running],
    monkeypatch: pytest.MonkeyPatch,
    sockets: list[socket.socket],
) -> None:
    # asyncio accepts a whole batch before the first connection_made: each of them evicted
    # the same oldest connection (already closing), so 300 silent sockets all stayed open.
    from test_grpc_connections import closed_by_server, wait_until

    monkeypatch.setattr(connections, "HEADER_TIMEOUT_SECONDS", 600)  # only eviction closes
    running = start_receiver(grpc=None)
    monkeypatch.setattr(GuardedH11, "limit", 50)
    address = ("127.0.0.1", running.receiver.http_port)
    # Hold the receiver's loop while they connect: the kernel queues them, one batch.
    held = threading.Event()

    def hold() -> None:
        held.set()
        time.sleep(2)

    running._loop.call_soon_threadsafe(hold)
    assert held.wait(30)
    sockets += [socket.create_connection(address) for _ in range(300)]
    assert wait_until(lambda: sum(map(closed_by_server, sockets)) >= 300 - 50, 20)
    answer = httpx.post(
        f"{running.http_url}/v1/traces", content=_request(1), headers=PROTOBUF, timeout=30
    )
    assert answer.status_code == 200
