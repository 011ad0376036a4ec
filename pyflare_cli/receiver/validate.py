"""Check a request before it is acknowledged: how many spans will be refused, and why.

OTLP answers a partly bad request with ``partial_success`` (rejected span count and a
message). The checks are the decoder's own (:func:`otlp_proto.span_problem`, the JSON
decoder), so what the answer says matches what ingest later dead-letters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.sources import otlp_json
from pyflare_cli.sources.otlp_proto import span_problem
from pyflare_cli.sources.raw import RawBatch


@dataclass(frozen=True)
class Verdict:
    """Spans in a request, how many are refused, and the first reason."""

    spans: int
    rejected: int
    message: str = ""

    @property
    def accepted(self) -> int:
        return self.spans - self.rejected


def check_proto(request: ExportTraceServiceRequest) -> Verdict:
    total = rejected = 0
    first = ""
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                total += 1
                problem = span_problem(
                    span.trace_id,
                    span.span_id,
                    span.parent_span_id,
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                    span.events,
                )
                if problem is not None:
                    rejected += 1
                    first = first or problem
    return Verdict(total, rejected, _message(rejected, first))


def check_json(document: Any) -> tuple[Verdict, bool]:
    """The verdict on an OTLP/JSON document, and whether it holds traces at all."""
    scratch = RawBatch()
    dead, had_traces = otlp_json.decode_document(document, scratch, "request", "request")
    rejected = len(dead)
    first = dead[0].reason if dead else ""
    return Verdict(len(scratch) + rejected, rejected, _message(rejected, first)), had_traces


def _message(rejected: int, first: str) -> str:
    if not rejected:
        return ""
    return f"{rejected} span(s) rejected; first: {first}"
