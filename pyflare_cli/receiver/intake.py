"""What both transports do with a decoded request: check, spool, wait for the disk, count.

HTTP and gRPC differ only in framing and status codes; the decision (accept, refuse as
too busy, refuse as invalid) and the durability step live here once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.receiver.spool import Spool
from pyflare_cli.receiver.stats import Stats
from pyflare_cli.receiver.validate import Verdict, check_json, check_proto


class Refused(Exception):
    """A request that is not accepted; ``kind`` maps to a status code per transport."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # invalid | busy | unauthenticated | too_large | unsupported
        self.message = message


@dataclass
class Intake:
    spool: Spool
    stats: Stats

    def check_capacity(self) -> None:
        if self.spool.full():
            raise Refused("busy", "spool is full; retry later")

    async def accept_proto(self, body: bytes) -> Verdict:
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise Refused(
                "invalid", f"body is not an OTLP ExportTraceServiceRequest: {exc}"
            ) from None
        return await self.accept_request(request, body)

    async def accept_request(self, request: ExportTraceServiceRequest, body: bytes) -> Verdict:
        verdict = check_proto(request)
        return await self._spool(verdict, "pb", body)

    async def accept_json(self, body: bytes) -> Verdict:
        try:
            document: Any = json.loads(body)
        except ValueError as exc:
            raise Refused("invalid", f"body is not JSON: {exc}") from None
        verdict, had_traces = check_json(document)
        if not had_traces:
            raise Refused("invalid", "not a trace request: this receiver takes traces only")
        return await self._spool(verdict, "jsonl", body)

    async def _spool(self, verdict: Verdict, kind: str, body: bytes) -> Verdict:
        if verdict.spans and not verdict.accepted:
            raise Refused("invalid", verdict.message)
        self.check_capacity()
        if verdict.accepted:
            ticket = self.spool.append("pb" if kind == "pb" else "jsonl", body)
            await self.spool.sync(ticket)
        self.stats.accepted(verdict.accepted, verdict.rejected)
        return verdict
