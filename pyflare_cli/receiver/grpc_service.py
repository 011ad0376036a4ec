"""OTLP/gRPC: the ``TraceService/Export`` method on grpc.aio, sharing the HTTP intake.

gRPC itself enforces ``--max-body`` (as the largest message it will receive, measured
after decompression) and handles gzip-compressed requests; it caps and times out
connections as :class:`~pyflare_cli.receiver.connections.GrpcConnectionLimits` says.
"""

from __future__ import annotations

import hmac
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from pyflare_cli.receiver.connections import GrpcConnectionLimits
from pyflare_cli.receiver.intake import MAX_ACTIVE_EXPORTS, Intake, Refused
from pyflare_cli.sources.otlp_wire import varint

CODES = {
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    "too_large": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "unsupported": grpc.StatusCode.INVALID_ARGUMENT,
    "busy": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
}
RETRYABLE = ("busy", "unavailable")
RETRY_DELAY_SECONDS = 1


def retry_status(code: grpc.StatusCode, message: str, seconds: int) -> bytes:
    """A ``google.rpc.Status`` carrying ``RetryInfo``: OTLP clients retry RESOURCE_EXHAUSTED
    only when the server says when (the OTLP specification), so a full spool says so."""
    duration = b"\x08" + varint(seconds)
    retry_info = b"\x0a" + varint(len(duration)) + duration
    type_url = b"type.googleapis.com/google.rpc.RetryInfo"
    detail = (
        b"\x0a" + varint(len(type_url)) + type_url + b"\x12" + varint(len(retry_info)) + retry_info
    )
    text = message.encode()
    return (
        b"\x08"
        + varint(code.value[0])
        + b"\x12"
        + varint(len(text))
        + text
        + b"\x1a"
        + varint(len(detail))
        + detail
    )


SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"


class TraceService:
    """Accepts exports into the same spool as OTLP/HTTP.

    The method takes the request's bytes, not a parsed message: gRPC's own deserializer
    answers an undecodable message with UNKNOWN (and logs a traceback); parsing here
    answers INVALID_ARGUMENT, and the bytes go to the spool without being serialized again.
    """

    def __init__(self, intake: Intake, api_key: str | None) -> None:
        self.intake = intake
        self.api_key = api_key
        self._active = 0

    async def Export(self, body: bytes, context: Any) -> ExportTraceServiceResponse:
        try:
            if self.api_key is not None and not self._authorized(context):
                raise Refused("unauthenticated", "missing or wrong API key")
            # Each RPC holds its request until it is fsynced: bound them, like OTLP/HTTP.
            if self._active >= MAX_ACTIVE_EXPORTS:
                raise Refused("busy", f"{MAX_ACTIVE_EXPORTS} requests in flight; retry later")
            self._active += 1
            try:
                self.intake.check_capacity()
                verdict = await self.intake.accept_proto(body)
            finally:
                self._active -= 1
        except Refused as refused:
            self.intake.stats.refuse(refused.kind, "grpc")
            code = CODES.get(refused.kind, grpc.StatusCode.INTERNAL)
            trailers: tuple[tuple[str, bytes], ...] = ()
            if refused.kind in RETRYABLE:
                details = retry_status(code, refused.message, RETRY_DELAY_SECONDS)
                trailers = (("grpc-status-details-bin", details),)
            await context.abort(code, refused.message, trailing_metadata=trailers)
            raise  # abort raises; this keeps type checkers content
        self.intake.stats.served("grpc", verdict.rejected)
        response = ExportTraceServiceResponse()
        if verdict.rejected:
            response.partial_success.rejected_spans = verdict.rejected
            response.partial_success.error_message = verdict.message
        return response

    def _authorized(self, context: Any) -> bool:
        assert self.api_key is not None
        expected = self.api_key.encode()  # bytes: compare_digest refuses non-ASCII str
        metadata = {k.lower(): v for k, v in context.invocation_metadata() or ()}
        bearer = str(metadata.get("authorization", ""))
        if bearer.lower().startswith("bearer ") and hmac.compare_digest(
            bearer[7:].strip().encode(), expected
        ):
            return True
        return hmac.compare_digest(str(metadata.get("x-api-key", "")).encode(), expected)


def build_server(
    intake: Intake,
    address: str,
    max_body: int,
    api_key: str | None,
    tls: tuple[bytes, bytes] | None,
    limits: GrpcConnectionLimits | None = None,
) -> tuple[grpc.aio.Server, int]:
    """A grpc.aio server bound to ``address``; returns it and the bound port."""
    server = grpc.aio.server(
        options=[
            *(limits or GrpcConnectionLimits()).options(),
            ("grpc.max_receive_message_length", max_body),
            ("grpc.max_send_message_length", 1 << 20),
            # Not SO_REUSEPORT (gRPC's default): a second receiver on this port must fail
            # to start, not silently take half of the connections.
            ("grpc.so_reuseport", 0),
        ],
    )
    servicer = TraceService(intake, api_key)
    export = grpc.unary_unary_rpc_method_handler(
        servicer.Export,
        request_deserializer=None,  # bytes: see TraceService
        response_serializer=ExportTraceServiceResponse.SerializeToString,
    )
    handler = grpc.method_handlers_generic_handler(SERVICE, {"Export": export})
    server.add_generic_rpc_handlers((handler,))
    try:
        if tls is not None:
            credentials = grpc.ssl_server_credentials([(tls[1], tls[0])])
            port = server.add_secure_port(address, credentials)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:  # gRPC's "Failed to bind": the same error as for HTTP
        raise OSError(f"gRPC {address}: {exc}") from None
    return server, port
