"""OTLP/gRPC: the ``TraceService/Export`` method on grpc.aio, sharing the HTTP intake.

gRPC itself enforces ``--max-body`` (as the largest message it will receive, measured
after decompression) and handles gzip-compressed requests.
"""

from __future__ import annotations

import hmac
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from pyflare_cli.receiver.intake import Intake, Refused

CODES = {
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    "too_large": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "unsupported": grpc.StatusCode.INVALID_ARGUMENT,
    "busy": grpc.StatusCode.RESOURCE_EXHAUSTED,
}


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    """Accepts exports into the same spool as OTLP/HTTP."""

    def __init__(self, intake: Intake, api_key: str | None) -> None:
        self.intake = intake
        self.api_key = api_key

    async def Export(
        self, request: ExportTraceServiceRequest, context: Any
    ) -> ExportTraceServiceResponse:
        try:
            if self.api_key is not None and not self._authorized(context):
                raise Refused("unauthenticated", "missing or wrong API key")
            self.intake.check_capacity()
            verdict = await self.intake.accept_request(request, request.SerializeToString())
        except Refused as refused:
            self.intake.stats.refuse(refused.kind)
            await context.abort(CODES.get(refused.kind, grpc.StatusCode.INTERNAL), refused.message)
            raise  # abort raises; this keeps type checkers content
        response = ExportTraceServiceResponse()
        if verdict.rejected:
            response.partial_success.rejected_spans = verdict.rejected
            response.partial_success.error_message = verdict.message
        return response

    def _authorized(self, context: Any) -> bool:
        assert self.api_key is not None
        metadata = {k.lower(): v for k, v in context.invocation_metadata() or ()}
        bearer = str(metadata.get("authorization", ""))
        if bearer.lower().startswith("bearer ") and hmac.compare_digest(
            bearer[7:].strip(), self.api_key
        ):
            return True
        return hmac.compare_digest(str(metadata.get("x-api-key", "")), self.api_key)


def build_server(
    intake: Intake,
    address: str,
    max_body: int,
    api_key: str | None,
    tls: tuple[bytes, bytes] | None,
) -> tuple[grpc.aio.Server, int]:
    """A grpc.aio server bound to ``address``; returns it and the bound port."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_body),
            ("grpc.max_send_message_length", 1 << 20),
        ]
    )
    servicer = TraceService(intake, api_key)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    if tls is not None:
        credentials = grpc.ssl_server_credentials([(tls[1], tls[0])])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    return server, port
