"""OTLP/gRPC connections cannot deny service: capped, handshake and idle timeouts.

grpc.aio (gRPC core) kept every connection: one that never sent the HTTP/2 preface for
120 s, one that completed it and then sent nothing for ever, and as many as the
descriptor limit allowed. At the common limit of 1,024, idle sockets took every
descriptor: gRPC logged "File descriptor limit reached" every second, legitimate exports
timed out and the flusher could not open the store. These tests run a real receiver on
127.0.0.1 and real sockets.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

from pyflare_cli.receiver.connections import GrpcConnectionLimits

START = 1_700_000_000_000_000_000
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")
"""The HTTP/2 client preface and an empty SETTINGS frame: a handshaken, idle connection."""
SOON = 20.0
"""Seconds to wait for what is configured to happen within 1-2 s: generous under load,
well under gRPC's own defaults (a silent connection lived 60 s, an idle one for ever)."""


def request(index: int) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    span = message.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = index.to_bytes(16, "big")
    span.span_id = index.to_bytes(8, "big")
    span.name = f"legit {index}"
    span.start_time_unix_nano = START + index
    span.end_time_unix_nano = START + index + 1000
    return message


def export(target: str, index: int, timeout: float = 30.0) -> grpc.StatusCode:
    """One export on a fresh channel (a new connection), as a restarted exporter makes."""
    with grpc.insecure_channel(target) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            stub.Export(request(index), timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


@contextlib.contextmanager
def idle_connections(target: str, count: int, preface: bool) -> Iterator[list[socket.socket]]:
    host, port = target.rsplit(":", 1)
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=30)
            if preface:
                sock.sendall(PREFACE)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (reads what it sent first, e.g. SETTINGS)."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_exports_are_served_while_200_idle_connections_are_open(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver(http=None)
    target = running.grpc_target
    with (
        idle_connections(target, 100, preface=False),
        idle_connections(target, 100, preface=True),
    ):
        codes = [export(target, index) for index in range(1, 21)]
        assert codes == [grpc.StatusCode.OK] * 20
    assert running.stored(at_least=20).height == 20


def test_silent_and_idle_connections_are_closed(start_receiver: Callable[..., Running]) -> None:
    limits = GrpcConnectionLimits(handshake_seconds=1, idle_seconds=1)
    running = start_receiver(http=None, grpc_limits=limits)
    with (
        idle_connections(running.grpc_target, 5, preface=False) as silent,
        idle_connections(running.grpc_target, 5, preface=True) as idle,
    ):
        # gRPC's own defaults close them after a minute or two, not in 1 s (and 20 s of slack).
        assert wait_until(lambda: all(closed_by_server(s) for s in silent), SOON)
        assert wait_until(lambda: all(closed_by_server(s) for s in idle), SOON)
    assert export(running.grpc_target, 1) == grpc.StatusCode.OK


def test_connections_over_the_cap_are_closed_at_once_and_the_slots_come_back(
    start_receiver: Callable[..., Running],
) -> None:
    limits = GrpcConnectionLimits(connections=20, handshake_seconds=2)
    running = start_receiver(http=None, grpc_limits=limits)
    with idle_connections(running.grpc_target, 100, preface=False) as flood:
        # 80 are over the cap: closed at once, they hold no descriptor of the receiver.
        assert wait_until(lambda: sum(map(closed_by_server, flood)) >= 80, SOON)
        # The 20 that got in are silent: the handshake timeout frees their slots, and a
        # legitimate exporter (which waits for a connection, as OTLP exporters retry) is
        # served while the flood's sockets are still open on the client's side.
        assert export(running.grpc_target, 1, timeout=60) == grpc.StatusCode.OK
    assert running.stored(at_least=1).height == 1
