"""OTLP/HTTP connections that cannot deny service: header timeout, a connection cap, eviction.

uvicorn never timed out a connection that was opened and left silent or fed its headers
one byte at a time, and had no bound below the file-descriptor limit: 1,024 such sockets
stopped both protocols, and every failed ``accept()`` logged a traceback (123 MB of
them). Here, on top of uvicorn's h11 protocol:

- a request's headers must be complete within :data:`HEADER_TIMEOUT_SECONDS` of the
  connection opening (or of the previous response), or the connection is closed;
- at most :func:`connection_limit` connections are open (half the descriptors left by
  ``RLIMIT_NOFILE``, so gRPC, the spool and the store keep theirs; gRPC gets the other
  half, with handshake and idle timeouts: :class:`GrpcConnectionLimits`); a new connection
  over the limit evicts the connection that has waited longest without a request in
  progress (idle or still sending headers), so slow clients cannot keep legitimate ones
  out; only when every connection is busy with a request is the new one closed;
- ``accept()`` failing for lack of descriptors is logged once a minute, with a count.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_SECONDS = 10.0
RESERVED_DESCRIPTORS = 64
ACCEPT_LOG_SECONDS = 60.0

log = logging.getLogger("pyflare.receive")


def _budget() -> int:
    """Descriptors for connections: what ``RLIMIT_NOFILE`` leaves once the spool, the store,
    the workers and the event loops have theirs (64, or an eighth of a large limit)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return soft - max(RESERVED_DESCRIPTORS, soft // 8)


def accept_batch() -> int:
    """Connections the HTTP server accepts in one go (asyncio's ``backlog``): all of them are
    open before the first is seen, so the cap below keeps room for two batches."""
    return max(8, min(128, _budget() // 8))


def connection_limit() -> int:
    """Open HTTP connections allowed: half the budget, less two accept batches."""
    return max(16, (_budget() - 2 * accept_batch()) // 2)


def grpc_connection_limit() -> int:
    """Open gRPC connections allowed: the other half (gRPC core refuses one over it at once)."""
    return max(16, _budget() // 2)


def raise_descriptor_limit(ceiling: int = 65536) -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard one (at most ``ceiling``), as Go servers
    do at start: a common soft limit of 1,024 is what let idle connections stop both
    protocols. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):  # a sandbox may refuse: keep the limit we have
            return soft
        return wanted
    return soft


@dataclass(frozen=True)
class GrpcConnectionLimits:
    """What the gRPC server (gRPC core: no hook per connection) is told, so that idle and
    slow connections cannot take every descriptor; see docs/receive.md."""

    connections: int | None = None
    """Open connections; over it gRPC closes a new one at once. None: from the limit."""
    handshake_seconds: float = HEADER_TIMEOUT_SECONDS
    """A connection that has not sent the HTTP/2 preface and settings by then is closed
    (gRPC's default is 120 s)."""
    idle_seconds: float = 60.0
    """A connection without an RPC for this long gets GOAWAY (clients reconnect as needed)."""
    age_seconds: float = 600.0
    """Any connection is closed after this long (and a grace for its RPCs): a slow client
    cannot hold one for ever by keeping a stream open."""
    age_grace_seconds: float = 30.0
    streams: int = 64
    """Concurrent RPCs per connection (gRPC's default is unbounded)."""

    def options(self) -> list[tuple[str, int]]:
        connections = self.connections if self.connections is not None else grpc_connection_limit()
        return [
            ("grpc.max_allowed_incoming_connections", connections),
            ("grpc.server_handshake_timeout_ms", _ms(self.handshake_seconds)),
            ("grpc.max_connection_idle_ms", _ms(self.idle_seconds)),
            ("grpc.max_connection_age_ms", _ms(self.age_seconds)),
            ("grpc.max_connection_age_grace_ms", _ms(self.age_grace_seconds)),
            ("grpc.max_concurrent_streams", self.streams),
            # Keepalive pings find peers that vanished (a half-open connection holds a
            # descriptor); a client pinging more often than every 5 minutes without an
            # RPC is told GOAWAY after 2 strikes (gRPC's enforcement, made explicit).
            ("grpc.keepalive_time_ms", 120_000),
            ("grpc.keepalive_timeout_ms", 20_000),
            ("grpc.http2.max_ping_strikes", 2),
        ]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with the header timeout and the connection cap above."""

    limit: ClassVar[int] = 1024
    evicted: ClassVar[int] = 0
    _header_timer: asyncio.TimerHandle | None = None
    _timer_cycle: Any = None
    """The request (cycle) that was current when the header timer was armed."""
    _waiting_since: float = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()
        if len(self.connections) > self.limit:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._between_requests() and (
            self._header_timer is None or self._timer_cycle is not self.cycle
        ):
            self._arm_header_timer()  # the next request's headers are on the clock too
        super().data_received(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._waiting_since = time.monotonic()

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        cycle = self._timer_cycle = self.cycle
        self._waiting_since = time.monotonic()

        def expire() -> None:
            self._header_timer = None
            if self.cycle is cycle and not self.transport.is_closing():
                self.transport.close()  # no request started in time

        self._header_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, expire)

    def _make_room(self) -> None:
        waiting = [
            c
            for c in self.connections
            if c is not self
            and isinstance(c, GuardedH11)
            and c._between_requests()
            and not c.transport.is_closing()  # evicted already: closes at the next turn
        ]
        if not waiting:
            self.transport.close()  # every other connection is serving a request
            return
        oldest = min(waiting, key=lambda c: c._waiting_since)
        oldest.transport.close()
        GuardedH11.evicted += 1


class AcceptErrorFilter:
    """A loop exception handler that logs 'out of descriptors' once a minute, not per accept."""

    def __init__(self) -> None:
        self.suppressed = 0
        self._last = float("-inf")

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if "_start_serving" in repr(context.get("handle")) and isinstance(
            context.get("exception"), (ValueError, OSError)
        ):
            # asyncio's retry of accept() after EMFILE, run after the server was closed at
            # shutdown: its socket is gone, there is nothing to serve (not a traceback).
            return
        if not message.startswith("socket.accept() out of system resource"):
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self._last < ACCEPT_LOG_SECONDS:
            self.suppressed += 1
            return
        self._last = now
        error = context.get("exception")
        log.error(
            "cannot accept connections: %s (%d more since the last message); "
            "raise the file-descriptor limit (ulimit -n) or lower the load",
            error,
            self.suppressed,
        )
        self.suppressed = 0
