"""Run the receiver: spool, flusher, OTLP/HTTP and OTLP/gRPC on one event loop.

Start-up replays what a crash left in the spool; a ticker seals segments by size and age
and hands them to the flusher; shutdown stops accepting, seals, flushes and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from pyflare_cli.ingest.redaction import RedactionConfig
from pyflare_cli.ingest.sampling import SamplingConfig
from pyflare_cli.receiver.connections import (
    AcceptErrorFilter,
    GrpcConnectionLimits,
    GuardedH11,
    accept_batch,
    connection_limit,
    raise_descriptor_limit,
)
from pyflare_cli.receiver.flusher import Flusher, FlushResult
from pyflare_cli.receiver.http_app import HttpApp
from pyflare_cli.receiver.intake import Intake
from pyflare_cli.receiver.metrics import Gauges, MetricsApp, registry_of
from pyflare_cli.receiver.spool import Spool
from pyflare_cli.receiver.stats import Stats

SPOOL_FOLDER = "spool"
TICK_SECONDS = 0.2
SHUTDOWN_GRACE_SECONDS = 5
"""At shutdown, HTTP requests still running after this are cancelled (never acknowledged)."""
FLUSH_RETRY_SECONDS = 10.0
"""A segment kept after a flush error is submitted again this much later (doubled for each
failure in a row, up to :data:`FLUSH_RETRY_MAX_SECONDS`)."""
FLUSH_RETRY_MAX_SECONDS = 120.0


@dataclass(frozen=True)
class ReceiverConfig:
    """Everything ``pyflare receive`` can be told (see docs/receive.md)."""

    root: Path
    http: str | None = "127.0.0.1:4318"
    grpc: str | None = "127.0.0.1:4317"
    api_key: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_body: int = 16 << 20
    flush_interval: float = 2.0
    segment_bytes: int = 64 << 20
    max_spool_bytes: int = 1 << 30
    redaction: RedactionConfig | None = None
    sampling: SamplingConfig | None = None
    workers: int | None = None
    grpc_limits: GrpcConnectionLimits = field(default_factory=GrpcConnectionLimits)
    metrics: str | None = None
    """``/metrics`` for Prometheus: ``http`` (on the OTLP/HTTP port) or its own HOST:PORT."""


def split_address(address: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``:port``, ``port`` or ``[::1]:port`` -> (host, port)."""
    text = address.strip()
    if text.isdigit():
        return "127.0.0.1", int(text)
    host, _, port = text.rpartition(":")
    if not host:
        host = "127.0.0.1"
    host = host.strip("[]")
    if not port.isdigit():
        raise ValueError(f"bad address {address!r}: use host:port, e.g. 127.0.0.1:{default_port}")
    return host, int(port)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the receiver decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Receiver:
    """One running receiver; :meth:`run` serves until ``stop`` is set."""

    config: ReceiverConfig
    on_flush: Callable[[FlushResult], None] | None = None
    stats: Stats = field(default_factory=Stats)
    http_port: int | None = None
    grpc_port: int | None = None
    metrics_port: int | None = None

    def __post_init__(self) -> None:
        cfg = self.config
        self.spool = Spool(
            cfg.root / SPOOL_FOLDER, segment_bytes=cfg.segment_bytes, max_bytes=cfg.max_spool_bytes
        )
        self.intake = Intake(self.spool, self.stats)
        self._loop: asyncio.AbstractEventLoop | None = None

    def health(self) -> dict[str, object]:
        pending = self._flusher.pending() if hasattr(self, "_flusher") else 0
        alive = self._flusher.alive() if hasattr(self, "_flusher") else True
        flusher = self.stats.flusher(alive, pending)
        snapshot = self.stats.snapshot(self.spool.unflushed, pending)
        status = "ok" if flusher["state"] == "ok" else "degraded"
        return {"status": status, **snapshot, "flusher": flusher}

    def gauges(self) -> Gauges:
        """Spool and flusher now, for ``/metrics``."""
        started = hasattr(self, "_flusher")
        return Gauges(
            self.spool.unflushed,
            self.spool.max_bytes,
            self._flusher.pending() if started else 0,
            self.stats.flusher(self._flusher.alive() if started else True, 0)["state"] == "ok",
        )

    def liveness(self) -> dict[str, object]:
        """What /healthz tells a client without the API key: up or not, nothing more."""
        return {"status": self.health()["status"]}

    def _flushed(self, result: FlushResult) -> None:
        """Called on the flusher thread; state changes go back to the event loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._apply_flush(result)
            return
        with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
            loop.call_soon_threadsafe(self._apply_flush, result)

    def _apply_flush(self, result: FlushResult) -> None:
        self.stats.flush_took(result.seconds, result.dead_lettered, result.error is not None)
        if result.removed:
            self.spool.flushed(Path(result.segment), result.size)
        elif self._loop is not None:
            # Kept after an error (a locked catalog, a dead worker...): try it again later,
            # not only at the next start. (After the drain, nothing reads the queue.)
            self.stats.flush_retries += 1
            self.stats.flush_failures += 1
            delay = min(
                FLUSH_RETRY_SECONDS * 2 ** (self.stats.flush_failures - 1), FLUSH_RETRY_MAX_SECONDS
            )
            segment = self.spool.folder / result.segment
            self._loop.call_later(delay, self._flusher.submit, segment)
        if result.error is None:
            self.stats.flush_failures = 0
            self.stats.flushes += 1
            self.stats.spans_flushed += result.spans
        self.stats.last_flush = time.monotonic()
        self.stats.last_flush_error = result.error
        if self.on_flush is not None:
            self.on_flush(result)

    def _bind_http(self, address: str | None = None) -> socket.socket:
        """The OTLP/HTTP socket, or with ``address`` the metrics one."""
        host, port = split_address(address or self.config.http or "", 4318)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
        if address is None:
            self.http_port = sock.getsockname()[1]
        return sock

    async def run(self, stop: asyncio.Event, ready: Callable[[], None] | None = None) -> None:
        cfg = self.config
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(AcceptErrorFilter())
        raise_descriptor_limit()  # before the connection caps are derived from it
        self._flusher = Flusher(
            cfg.root, self._flushed, cfg.redaction, cfg.sampling, workers=cfg.workers
        )
        for segment in self.spool.recover():
            self._flusher.submit(segment)
        http_server: _QuietServer | None = None
        http_task: asyncio.Task[None] | None = None
        grpc_server = None
        metrics = None
        if cfg.metrics is not None:
            transports = tuple(t for t, on in (("http", cfg.http), ("grpc", cfg.grpc)) if on)
            metrics = MetricsApp(registry_of(self.stats, self.gauges, transports), cfg.api_key)
        metrics_server: _QuietServer | None = None
        metrics_task: asyncio.Task[None] | None = None
        try:
            if metrics is not None and cfg.metrics != "http":
                sock = self._bind_http(cfg.metrics)
                self.metrics_port = sock.getsockname()[1]
                metrics_server = _QuietServer(
                    uvicorn.Config(metrics, log_level="warning", access_log=False, lifespan="off")
                )
                metrics_task = asyncio.create_task(metrics_server.serve(sockets=[sock]))
            if cfg.http is not None:
                sock = self._bind_http()
                app = HttpApp(self.intake, cfg.max_body, cfg.api_key, self.health, self.liveness)
                app.metrics = metrics if cfg.metrics == "http" else None
                GuardedH11.limit = connection_limit()
                http_server = _QuietServer(
                    uvicorn.Config(
                        app,
                        http=GuardedH11,
                        log_level="warning",
                        access_log=False,
                        lifespan="off",
                        ssl_certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
                        ssl_keyfile=str(cfg.tls_key) if cfg.tls_key else None,
                        timeout_keep_alive=30,
                        backlog=accept_batch(),
                        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
                    )
                )
                http_task = asyncio.create_task(http_server.serve(sockets=[sock]))
            if cfg.grpc is not None:
                from pyflare_cli.receiver.grpc_service import build_server

                host, port = split_address(cfg.grpc, 4317)
                tls = None
                if cfg.tls_cert and cfg.tls_key:
                    tls = (cfg.tls_cert.read_bytes(), cfg.tls_key.read_bytes())
                address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                grpc_server, self.grpc_port = build_server(
                    self.intake, address, cfg.max_body, cfg.api_key, tls, cfg.grpc_limits
                )
                await grpc_server.start()
            for server, task in ((http_server, http_task), (metrics_server, metrics_task)):
                while server is not None and not server.started:
                    if task is not None and task.done():
                        task.result()
                    await asyncio.sleep(0.01)
            if ready is not None:
                ready()
            await self._tick_until(stop)
        finally:
            if http_server is not None:
                http_server.should_exit = True
            if metrics_server is not None:
                metrics_server.should_exit = True
            if grpc_server is not None:
                await grpc_server.stop(grace=2)
            for task in (http_task, metrics_task):
                if task is not None:
                    with contextlib.suppress(Exception):
                        await task
            for segment in await self.spool.seal():
                self._flusher.submit(segment)
            await asyncio.get_running_loop().run_in_executor(None, self._flusher.drain_and_stop)
            self.spool.close()  # after the drain: the spool stays ours until it is flushed
            self._loop = None

    async def _tick_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
            if self.spool.due(self.config.flush_interval):
                for segment in await self.spool.seal():
                    self._flusher.submit(segment)
