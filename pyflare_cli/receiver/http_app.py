"""OTLP/HTTP as a small ASGI app: ``POST /v1/traces`` in protobuf or JSON, ``GET /healthz``.

No web framework: the protocol is one route, and owning the body reading is what lets
the receiver bound memory (``--max-body`` before and after decompression) and answer
with the status codes of the OTLP/HTTP specification.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from pyflare_cli.receiver.intake import MAX_ACTIVE_EXPORTS, Intake, Refused
from pyflare_cli.receiver.validate import Verdict
from pyflare_cli.sources.otlp_wire import varint

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
STATUS_FOR = {
    "invalid": 400,
    "unauthenticated": 401,
    "timeout": 408,
    "too_large": 413,
    "unsupported": 415,
    "busy": 429,
    "unavailable": 503,
}
RETRY_AFTER_SECONDS = 1
BODY_TIMEOUT_SECONDS = 60.0
"""A body not complete by then gets 408, so a stalled client cannot hold a slot forever."""
BODY_IDLE_SECONDS = 10.0
"""A body that sends nothing for this long gets 408 (a client trickling bytes)."""
INFLATE_PIECE = 1 << 16
SLOW_READER_SECONDS = 1.0
"""A request still sending its body after this may lose its slot to a new request."""


def rpc_status(code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` message (code, message), the OTLP/HTTP error body."""
    text = message.encode()
    return b"\x08" + varint(code) + b"\x12" + varint(len(text)) + text


@dataclass
class HttpApp:
    """The ASGI application (see module docstring)."""

    intake: Intake
    max_body: int
    api_key: str | None = None
    health: Callable[[], dict[str, object]] | None = None
    liveness: Callable[[], dict[str, object]] | None = None
    """What /healthz shows a client without the API key: paths and counters are not public."""
    metrics: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None
    """``GET /metrics`` (``pyflare receive --metrics http``), see receiver/metrics.py."""
    _active: int = field(default=0, init=False)
    _readers: list[_Reader] = field(default_factory=list, init=False)
    """Requests still receiving their body, oldest first: the ones a new request may evict."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path == "/healthz" and method in ("GET", "HEAD"):
            report = self.health
            if self.api_key is not None and not _authorized(headers, self.api_key):
                report = self.liveness
            body = json.dumps({"status": "ok", **(report() if report else {})})
            await _respond(send, 200, body.encode(), JSON)
            return
        if path == "/metrics" and self.metrics is not None:
            await self.metrics(scope, receive, send)
            return
        if path in ("/v1/metrics", "/v1/logs"):
            message = f"{path}: this receiver takes traces only (POST /v1/traces)"
            await _respond(send, 404, json.dumps({"code": 5, "message": message}).encode(), JSON)
            return
        if path != "/v1/traces":
            await _respond(send, 404, b'{"code": 5, "message": "not found"}', JSON)
            return
        if method != "POST":
            await _respond(send, 405, b'{"code": 12, "message": "use POST"}', JSON, allow="POST")
            return
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        as_json = content_type == JSON
        try:
            if self._active >= MAX_ACTIVE_EXPORTS and not self._evict_slow_reader():
                raise Refused("busy", f"{MAX_ACTIVE_EXPORTS} requests in flight; retry later")
            self._active += 1
            try:
                verdict = await self._export(headers, content_type, receive)
            finally:
                self._active -= 1
        except Refused as refused:
            self.intake.stats.refuse(refused.kind, "http")
            await self._refuse(send, refused, as_json)
            return
        self.intake.stats.served("http", verdict.rejected)
        await _respond(send, 200, _response_body(verdict, as_json), JSON if as_json else PROTOBUF)

    async def _export(
        self, headers: dict[str, str], content_type: str, receive: Receive
    ) -> Verdict:
        if self.api_key is not None and not _authorized(headers, self.api_key):
            raise Refused("unauthenticated", "missing or wrong API key")
        if content_type not in (PROTOBUF, JSON):
            raise Refused(
                "unsupported", f"content type {content_type or 'none'!r}: use {PROTOBUF} or {JSON}"
            )
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", "deflate", ""):
            raise Refused("unsupported", f"content encoding {encoding!r}: use gzip or deflate")
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise Refused("too_large", f"body of {declared} bytes is over {self.max_body}")
        self.intake.check_capacity()
        reader = _Reader(time.monotonic(), asyncio.get_running_loop().create_future())
        self._readers.append(reader)
        try:
            body = await asyncio.wait_for(
                _read_body(receive, self.max_body, reader), BODY_TIMEOUT_SECONDS
            )
        except TimeoutError:
            raise Refused("timeout", f"body not complete in {BODY_TIMEOUT_SECONDS:g} s") from None
        finally:
            self._readers.remove(reader)
        if encoding in ("gzip", "deflate"):
            body = _inflate(body, encoding, self.max_body)
        if content_type == PROTOBUF:
            return await self.intake.accept_proto(body)
        return await self.intake.accept_json(body)

    def _evict_slow_reader(self) -> bool:
        """Free a slot from the oldest request still sending its body after a second.

        Slow clients (a byte every few seconds) could otherwise hold every slot for the
        whole body timeout while legitimate exports got 429: a fair share is that a body
        which arrives fast is served before one that does not arrive.
        """
        now = time.monotonic()
        for reader in self._readers:
            if now - reader.started >= SLOW_READER_SECONDS and not reader.evicted.done():
                reader.evicted.set_result(None)
                return True
        return False

    async def _refuse(self, send: Send, refused: Refused, as_json: bool) -> None:
        status = STATUS_FOR.get(refused.kind, 400)
        grpc_code = {400: 3, 401: 16, 408: 4, 413: 8, 415: 3, 429: 8, 503: 14}.get(status, 2)
        if as_json:
            body, content_type = (
                json.dumps({"code": grpc_code, "message": refused.message}).encode(),
                JSON,
            )
        else:
            body, content_type = rpc_status(grpc_code, refused.message), PROTOBUF
        extra = {"retry-after": str(RETRY_AFTER_SECONDS)} if status in (429, 503) else {}
        if status == 401:
            extra["www-authenticate"] = "Bearer"
        await _respond(send, status, body, content_type, **extra)


def _authorized(headers: dict[str, str], key: str) -> bool:
    # As bytes: compare_digest refuses non-ASCII str (a 500 instead of a 401).
    expected = key.encode()
    bearer = headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and hmac.compare_digest(
        bearer[7:].strip().encode("latin-1"), expected
    ):
        return True
    return hmac.compare_digest(headers.get("x-api-key", "").encode("latin-1"), expected)


@dataclass
class _Reader:
    started: float
    evicted: asyncio.Future[None]


async def _read_body(receive: Receive, limit: int, reader: _Reader) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        receiving = asyncio.ensure_future(receive())
        done, _ = await asyncio.wait(
            (receiving, reader.evicted), timeout=BODY_IDLE_SECONDS, return_when="FIRST_COMPLETED"
        )
        if receiving not in done:
            receiving.cancel()
            if reader.evicted.done():
                raise Refused("timeout", "body too slow: its slot went to a faster request")
            raise Refused("timeout", f"no body bytes for {BODY_IDLE_SECONDS:g} s")
        message = receiving.result()
        if message["type"] == "http.disconnect":
            raise Refused("invalid", "client disconnected before the body was complete")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused("too_large", f"body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """Decompress with a hard cap, so a small gzip bomb cannot exhaust memory.

    Every gzip member is read (RFC 1952 allows several); anything else after the
    compressed data is refused rather than silently dropped. The input is fed in pieces,
    so zlib's copy of what follows a member stays small (no quadratic time).
    """
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    view = memoryview(body)
    out: list[bytes] = []
    size = position = 0
    pending = b""
    inflater = zlib.decompressobj(wbits)
    try:
        while pending or position < len(view):
            data: bytes | memoryview
            if pending:
                data, pending = pending, b""
            else:
                data = view[position : position + INFLATE_PIECE]
                position += len(data)
            chunk = inflater.decompress(data, limit + 1 - size)
            out.append(chunk)
            size += len(chunk)
            if size > limit or inflater.unconsumed_tail:
                raise Refused("too_large", f"decompressed body is over {limit} bytes")
            if inflater.eof and (inflater.unused_data or position < len(view)):
                if encoding != "gzip":
                    raise Refused("invalid", f"data after the end of the {encoding} body")
                pending = inflater.unused_data
                inflater = zlib.decompressobj(wbits)
        if not inflater.eof:
            raise Refused("invalid", f"truncated {encoding} body")
    except zlib.error as exc:
        raise Refused("invalid", f"body is not valid {encoding}: {exc}") from None
    return b"".join(out)


def _response_body(verdict: Verdict, as_json: bool) -> bytes:
    if as_json:
        if not verdict.rejected:
            return b"{}"
        partial = {"rejectedSpans": str(verdict.rejected), "errorMessage": verdict.message}
        return json.dumps({"partialSuccess": partial}).encode()
    response = ExportTraceServiceResponse()
    if verdict.rejected:
        response.partial_success.rejected_spans = verdict.rejected
        response.partial_success.error_message = verdict.message
    return response.SerializeToString()


async def _respond(send: Send, status: int, body: bytes, content_type: str, **extra: str) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.replace("_", "-").encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
