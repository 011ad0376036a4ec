"""OTLP/HTTP connections that cannot deny service: header timeout, a connection cap, eviction.

uvicorn never timed out a connection that was opened and left silent or fed its headers
one byte at a time, and had no bound below the file-descriptor limit: 1,024 such sockets
stopped both protocols, and every failed ``accept()`` logged a traceback (123 MB of
them). Here, on top of uvicorn's h11 protocol:

- a request's headers must be complete within :data:`HEADER_TIMEOUT_SECONDS` of the
  connection opening (or of the previous response), or the connection is closed;
- at most :func:`connection_limit` connections are open (half the descriptors left by
  ``RLIMIT_NOFILE``, so gRPC, the spool and the store keep theirs); a new connection
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
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_SECONDS = 10.0
RESERVED_DESCRIPTORS = 64
ACCEPT_LOG_SECONDS = 60.0

log = logging.getLogger("pyflare.receive")


def connection_limit() -> int:
    """Open HTTP connections allowed: half of the descriptors ``RLIMIT_NOFILE`` leaves."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 65536
    return max(16, (soft - RESERVED_DESCRIPTORS) // 2)


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
            if c is not self and isinstance(c, GuardedH11) and c._between_requests()
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
