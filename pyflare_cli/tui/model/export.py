"""One stored trace written back out as OTLP/JSON, the file ``e`` saves in the waterfall.

The store keeps every span's original attributes, resource attributes, events and links
(as strings), so a span is rebuilt as the protobuf message it came from: grouped by
resource and instrumentation scope, ids as bytes, times in nanoseconds, kind and status as
their enum numbers. The OTLP/JSON text is the encoder the demo writes its files with
(:func:`pyflare_cli.sources.otlp_wire.write_requests`), so the file opens in any OTLP
tool, and ``pyflare ingest`` reads it back to the same stored rows (tested).

Attribute values are written as the strings the store holds: a typed value (an integer
token count, a boolean) was stringified on the way in, and writing the string keeps the
round trip exact; pyflare's conventions read either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from pyflare_cli.sources.otlp_wire import write_requests
from pyflare_cli.sources.raw import KIND_NAMES, STATUS_NAMES

_KINDS = {name: i for i, name in enumerate(KIND_NAMES)}
_STATUS = {name: i for i, name in enumerate(STATUS_NAMES)}


def _ns(value: Any) -> int:
    """Epoch nanoseconds of a stored timestamp (a Python datetime loses nanoseconds)."""
    return 0 if value is None else int(value)


def _fill(target: Any, pairs: dict[str, str] | list[tuple[str, str]] | None) -> None:
    items = pairs.items() if isinstance(pairs, dict) else (pairs or [])
    for key, value in items:
        if value is not None:
            target.append(KeyValue(key=key)).value.string_value = str(value)


def _id(hex_id: str | None) -> bytes:
    try:
        return bytes.fromhex(hex_id or "")
    except ValueError:  # not hex (a foreign id kept as text): as its UTF-8 bytes
        return (hex_id or "").encode()


def trace_request(spans: pl.DataFrame) -> ExportTraceServiceRequest:
    """The OTLP request holding ``spans`` (one trace's stored rows), grouped by resource
    and scope in the order they first appear."""
    times = spans.select(
        pl.col("start_time").dt.epoch("ns").alias("start_ns"),
        pl.col("end_time").dt.epoch("ns").alias("end_ns"),
        pl.col("events")
        .list.eval(pl.element().struct.field("time").dt.epoch("ns"))
        .alias("event_ns"),
    )
    request = ExportTraceServiceRequest()
    resources: dict[tuple[tuple[str, str], ...], Any] = {}
    scopes: dict[tuple[Any, ...], Any] = {}
    for row, extra in zip(spans.iter_rows(named=True), times.iter_rows(named=True), strict=True):
        resource = tuple(sorted((row["resource_attributes"] or {}).items()))
        if resource not in resources:
            resources[resource] = request.resource_spans.add()
            _fill(resources[resource].resource.attributes, list(resource))
        key = (resource, row["scope_name"])
        if key not in scopes:
            scopes[key] = resources[resource].scope_spans.add()
            if row["scope_name"]:
                scopes[key].scope.name = row["scope_name"]
        _span(scopes[key].spans.add(), row, extra)
    return request


def _span(span: Span, row: dict[str, Any], extra: dict[str, Any]) -> None:
    span.trace_id = _id(row["trace_id"])
    span.span_id = _id(row["span_id"])
    if row["parent_span_id"]:
        span.parent_span_id = _id(row["parent_span_id"])
    span.name = row["name"] or ""
    span.kind = _KINDS.get(row["kind"] or "", 0)  # type: ignore[assignment]
    span.start_time_unix_nano = _ns(extra["start_ns"])
    span.end_time_unix_nano = _ns(extra["end_ns"])
    _fill(span.attributes, row["attributes"])
    for event, at in zip(row["events"] or [], extra["event_ns"] or [], strict=True):
        ev = span.events.add(time_unix_nano=_ns(at), name=event["name"] or "")
        _fill(ev.attributes, event["attributes"])
    for link in row["links"] or []:
        out = span.links.add(trace_id=_id(link["trace_id"]), span_id=_id(link["span_id"]))
        _fill(out.attributes, link["attributes"])
    code = _STATUS.get(row["status_code"] or "unset", 0)
    if code or row["status_message"]:
        span.status.CopyFrom(Status(code=code, message=row["status_message"] or ""))  # type: ignore[arg-type]


def export_trace(spans: pl.DataFrame, path: Path) -> int:
    """Write ``spans`` (one trace) to ``path`` as one OTLP/JSON document; the span count."""
    return write_requests([trace_request(spans)], path, "json")


def export_name(trace_id: str) -> str:
    """The file ``e`` writes in the current directory: ``trace-<id>.otlp.json``."""
    safe = "".join(c for c in trace_id if c.isalnum())[:64] or "trace"
    return f"trace-{safe}.otlp.json"
