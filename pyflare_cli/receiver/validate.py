"""Check a request before it is acknowledged: how many spans will be refused, and why.

OTLP answers a partly bad request with ``partial_success`` (rejected span count and a
message). The checks are the decoder's own (:func:`otlp_proto.span_problem`, the JSON
decoder), so what the answer says matches what ingest later dead-letters.
"""

from __future__ import annotations

import re
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
    # A resourceSpans refused whole (a malformed resource or scope) is one dead letter
    # holding all its spans: partial_success counts spans, not dead letters.
    rejected = sum(
        _spans_in(letter.record) if _WHOLE_RESOURCE.search(letter.position) else 1
        for letter in dead
    )
    first = dead[0].reason if dead else ""
    return Verdict(len(scratch) + rejected, rejected, _message(rejected, first)), had_traces


_WHOLE_RESOURCE = re.compile(r"resourceSpans\[\d+\]$")
"""The position the JSON decoder gives a resourceSpans it refuses whole."""
_SCOPE_KEYS = ("scopeSpans", "scope_spans", "instrumentationLibrarySpans", "ilSpans")


def _spans_in(resource_spans: Any) -> int:
    """The spans a refused ``resourceSpans`` held, counted as the decoder walks them; a
    record whose scopes cannot be walked counts as one."""
    if not isinstance(resource_spans, dict):
        return 1
    scopes: Any = next(
        (resource_spans[k] for k in _SCOPE_KEYS if resource_spans.get(k) is not None), []
    )
    if not isinstance(scopes, list):
        return 1
    count = 0
    for scope in scopes:
        spans = scope.get("spans") if isinstance(scope, dict) else None
        count += len(spans) if isinstance(spans, list | dict) else int(bool(spans))
    return count


def _message(rejected: int, first: str) -> str:
    if not rejected:
        return ""
    return f"{rejected} span(s) rejected; first: {first}"
