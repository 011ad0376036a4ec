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
from pyflare_cli.sources import otlp_json, otlp_json_columnar

MAX_ACTIVE_EXPORTS = 256
"""Exports handled at once per transport; more are refused as busy (429 / RESOURCE_EXHAUSTED).

Counted by the handlers, not by the server: idle keep-alive connections do not count.
"""


class Refused(Exception):
    """A request that is not accepted; ``kind`` maps to a status code per transport."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # invalid | busy | unavailable | unauthenticated | too_large | ...
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
        if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
            # json.loads reads UTF-16/32 too, but the spool's line framing (and ingest)
            # assume UTF-8: such a body would be stored altered. OTLP/JSON is UTF-8.
            raise Refused("invalid", "JSON body is not UTF-8")
        spans = otlp_json_columnar.clean_spans(body)
        if spans is not None:  # read by Arrow: nothing the reference would refuse
            return await self._spool(Verdict(spans, 0), "jsonl", body)
        try:
            document: Any = otlp_json.load(body)
        except otlp_json.BadDocument as exc:
            raise Refused("invalid", f"body is refused: {exc}") from None
        except ValueError as exc:
            raise Refused("invalid", f"body is not JSON: {exc}") from None
        verdict, had_traces = check_json(document)
        if not had_traces:
            raise Refused("invalid", "not a trace request: this receiver takes traces only")
        return await self._spool(verdict, "jsonl", body)

    async def _spool(self, verdict: Verdict, kind: str, body: bytes) -> Verdict:
        try:
            if verdict.spans and not verdict.accepted:
                raise Refused("invalid", verdict.message)
            self.check_capacity()
            if verdict.accepted:
                try:
                    ticket = self.spool.append("pb" if kind == "pb" else "jsonl", body)
                    await self.spool.sync(ticket)
                except OSError as exc:
                    raise Refused("unavailable", f"cannot write the spool: {exc}") from None
        except Refused:
            # Refused whole once decoded (every span bad, the spool full or unwritable):
            # its spans are known, so they are counted as refused.
            self.stats.spans_refused += verdict.spans
            raise
        self.stats.accepted(verdict.accepted, verdict.rejected)
        return verdict
