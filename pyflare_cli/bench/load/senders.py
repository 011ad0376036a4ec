"""Sending one pre-encoded body over OTLP/HTTP or OTLP/gRPC and classifying the answer.

Each send returns an :class:`Outcome`: acknowledged (2xx / gRPC OK, with the spans a
partial success refused), rejected by the receiver (HTTP status or gRPC code: the
receiver answered "no") or a transport error (no answer: refused connection, timeout, reset).
Nothing is retried: OTLP exporters retry 429/503 with backoff, but a load generator that
retried would hide the very rejections it is meant to count.

HTTP uses one ``httpx.AsyncClient`` (HTTP/1.1, a keep-alive pool of one connection per
concurrent client, no redirects, no proxies from the environment). gRPC opens one channel
per concurrent client (each its own connection, as separate exporters would) and calls the
TraceService ``Export`` method with the body as raw bytes: the generated stub would
serialize a message on every call, which is exactly the work the pool was built to avoid.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from typing import Any, NamedTuple, Protocol

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    DESCRIPTOR as TRACE_SERVICE_FILE,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from pyflare_cli import __version__
from pyflare_cli.bench.load.config import Target

ACK, REJECTED, ERROR = "ack", "rejected", "error"
USER_AGENT = f"pyflare-loadgen/{__version__}"
EXPORT_METHOD = f"/{TRACE_SERVICE_FILE.services_by_name['TraceService'].full_name}/Export"
CONTENT_TYPES = {"protobuf": "application/x-protobuf", "json": "application/json"}


class Outcome(NamedTuple):
    """``kind`` is ACK, REJECTED or ERROR; ``key`` names the status, code or exception."""

    kind: str
    key: str
    rejected_spans: int = 0
    message: str = ""


OK = Outcome(ACK, "ok")
BAD_ACK_BODY = Outcome(ACK, "ok, unparseable response body")


class Sender(Protocol):
    async def send(self, body: bytes, worker: int) -> Outcome: ...

    async def aclose(self) -> None: ...


def partial_success(body: bytes, json_body: bool) -> Outcome:
    """The acknowledgement in an OTLP response body (empty means everything accepted)."""
    if not body:
        return OK
    try:
        if json_body:
            doc = json.loads(body)
            partial = doc.get("partialSuccess") or {}
            rejected = int(partial.get("rejectedSpans") or 0)
            message = str(partial.get("errorMessage") or "")
        else:
            response = ExportTraceServiceResponse.FromString(body)
            rejected = response.partial_success.rejected_spans
            message = response.partial_success.error_message
    except (ValueError, TypeError, AttributeError, DecodeError):
        return BAD_ACK_BODY
    return OK if not (rejected or message) else Outcome(ACK, "ok", rejected, message)


def _avoid_failed_sniffio_import() -> None:
    """httpcore imports ``sniffio`` on every lock set-up and falls back to asyncio when it is
    missing (anyio >= 4.11 no longer installs it). Python does not cache a failed import, so
    each request paid several sys.path scans: a fifth to a quarter of the client's CPU per
    request, measured here. Recording the absence makes the import fail at once, with the
    same fallback. See https://github.com/encode/httpcore/pull/1103."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


class HttpSender:
    """OTLP/HTTP POSTs with keep-alive connections, one per concurrent client."""

    def __init__(
        self, target: Target, *, encoding: str, gzip: bool, concurrency: int, timeout_s: float
    ) -> None:
        _avoid_failed_sniffio_import()
        import httpx

        self._httpx = httpx
        headers = {"Content-Type": CONTENT_TYPES[encoding], "User-Agent": USER_AGENT}
        if gzip:
            headers["Content-Encoding"] = "gzip"
        self._url = httpx.URL(target.address)
        self._json = encoding == "json"
        self._client = httpx.AsyncClient(
            http1=True,
            http2=False,
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=False,
            trust_env=False,
        )

    async def send(self, body: bytes, worker: int) -> Outcome:
        try:
            response = await self._client.post(self._url, content=body)
        except self._httpx.HTTPError as exc:
            return Outcome(ERROR, type(exc).__name__, 0, str(exc))
        status = response.status_code
        if 200 <= status < 300:
            return partial_success(response.content, self._json)
        return Outcome(REJECTED, f"http {status}")

    async def aclose(self) -> None:
        await self._client.aclose()


class GrpcSender:
    """OTLP/gRPC ``Export`` calls, one channel (connection) per concurrent client."""

    def __init__(self, target: Target, *, gzip: bool, concurrency: int, timeout_s: float) -> None:
        import grpc
        import grpc.aio

        self._grpc = grpc
        self._timeout = timeout_s
        options = [
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.enable_http_proxy", 0),
            ("grpc.primary_user_agent", USER_AGENT),
        ]
        compression = grpc.Compression.Gzip if gzip else None
        self._channels: list[Any] = []
        for _ in range(concurrency):
            if target.secure:
                channel = grpc.aio.secure_channel(
                    target.address, grpc.ssl_channel_credentials(), options, compression
                )
            else:
                channel = grpc.aio.insecure_channel(target.address, options, compression)
            self._channels.append(channel)
        self._calls = [
            channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=None)
            for channel in self._channels
        ]

    async def send(self, body: bytes, worker: int) -> Outcome:
        try:
            response: bytes = await self._calls[worker](body, timeout=self._timeout)
        except self._grpc.aio.AioRpcError as exc:
            code = exc.code()
            name = code.name if code is not None else "UNKNOWN"
            details = exc.details() or ""
            if code == self._grpc.StatusCode.DEADLINE_EXCEEDED:
                return Outcome(ERROR, "grpc DEADLINE_EXCEEDED", 0, details)
            if code == self._grpc.StatusCode.UNAVAILABLE and "connect" in details.lower():
                return Outcome(ERROR, "grpc UNAVAILABLE (connect)", 0, details)
            return Outcome(REJECTED, f"grpc {name}", 0, details)
        return partial_success(response, False)

    async def aclose(self) -> None:
        for channel in self._channels:
            await channel.close()
