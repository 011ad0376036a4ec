"""Decode OTLP protobuf `ExportTraceServiceRequest` messages into a :class:`RawBatch`.

This is the one place where pyflare loops over spans and attributes in Python (the
protobuf objects give no columnar access); it appends straight into flat column lists.
Attribute values become strings: strings as they are, everything else JSON-encoded
(bytes as base64), so the ``attributes`` map never loses a value.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from pyflare_cli.sources.raw import (
    KIND_NAMES,
    MAX_TIME_NS,
    STATUS_NAMES,
    DeadLetter,
    KeyValues,
    RawBatch,
)


def native_value(value: AnyValue) -> Any:
    """An AnyValue as a JSON-compatible Python value."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if which == "array_value":
        return [native_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: native_value(kv.value) for kv in value.kvlist_value.values}
    return None


def double_text(number: float) -> str:
    """A double as the string stored in an attribute map (Python's ``repr``; NaN, Infinity)."""
    return repr(number) if math.isfinite(number) else json.dumps(number)


def string_value(value: AnyValue) -> str | None:
    """An AnyValue as the string stored in an attribute map."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return str(value.int_value)
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which == "double_value":
        return double_text(value.double_value)
    if which is None:
        return None
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return json.dumps(native_value(value), separators=(",", ":"))


def _add_pairs(target: KeyValues, attributes: Any) -> None:
    keys, values = target.keys, target.values
    add_key, add_value = keys.append, values.append
    for kv in attributes:
        add_key(kv.key)
        value = kv.value
        text = value.string_value
        # string_value is "" for every other type, so only then ask which one it is.
        if text:
            add_value(text)
        elif value.HasField("int_value"):
            add_value(str(value.int_value))
        else:
            add_value(string_value(value))
    target.offsets.append(len(keys))


def decode_request(
    request: ExportTraceServiceRequest, batch: RawBatch, source: str, where: str
) -> list[DeadLetter]:
    """Append every valid span of ``request`` to ``batch``; return the spans that are not.

    ``where`` names the request inside its source (e.g. ``"request 3"``) for dead letters.
    The hot loop binds the list appends to locals: this is the per-span cost of ingest.
    """
    dead: list[DeadLetter] = []
    attrs = batch.attributes
    add_trace, add_span, add_parent = (
        batch.trace_id.append,
        batch.span_id.append,
        batch.parent_span_id.append,
    )
    add_name, add_kind, add_start, add_end = (
        batch.name.append,
        batch.kind.append,
        batch.start_ns.append,
        batch.end_ns.append,
    )
    add_code, add_message, add_scope, add_resource = (
        batch.status_code.append,
        batch.status_message.append,
        batch.scope_name.append,
        batch.resource_index.append,
    )
    event_offsets, link_offsets = batch.event_offsets, batch.link_offsets
    for rs_index, resource_spans in enumerate(request.resource_spans):
        resource_pairs = [
            (kv.key, string_value(kv.value)) for kv in resource_spans.resource.attributes
        ]
        resource_index = batch.add_resource(resource_pairs)
        for ss_index, scope_spans in enumerate(resource_spans.scope_spans):
            scope_name = scope_spans.scope.name or None
            for span_index, span in enumerate(scope_spans.spans):
                trace_id = span.trace_id
                span_id = span.span_id
                parent = span.parent_span_id
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                if (
                    len(trace_id) != 16
                    or len(span_id) != 8
                    or (parent and len(parent) != 8)
                    or not 0 < start <= end < MAX_TIME_NS
                    or not any(trace_id)
                    or not any(span_id)
                    or (span.events and late_event(span.events))
                ):
                    dead.append(
                        DeadLetter(
                            source,
                            f"{where}, resource_spans[{rs_index}].scope_spans[{ss_index}]"
                            f".spans[{span_index}]",
                            span_problem(trace_id, span_id, parent, start, end, span.events)
                            or "invalid span",
                            MessageToDict(span),
                        )
                    )
                    continue
                add_trace(trace_id.hex())
                add_span(span_id.hex())
                add_parent(parent.hex() if parent else None)
                add_name(span.name)
                kind = span.kind
                add_kind(KIND_NAMES[kind] if 0 <= kind < 6 else "unspecified")
                add_start(start)
                add_end(end)
                status = span.status
                code = status.code
                add_code(STATUS_NAMES[code] if 0 <= code < 3 else "unset")
                add_message(status.message or None)
                add_scope(scope_name)
                add_resource(resource_index)
                _add_pairs(attrs, span.attributes)
                if span.events:
                    for event in span.events:
                        batch.event_time.append(event.time_unix_nano)
                        batch.event_name.append(event.name)
                        _add_pairs(batch.event_attributes, event.attributes)
                event_offsets.append(len(batch.event_name))
                if span.links:
                    for link in span.links:
                        batch.link_trace_id.append(link.trace_id.hex())
                        batch.link_span_id.append(link.span_id.hex())
                        _add_pairs(batch.link_attributes, link.attributes)
                link_offsets.append(len(batch.link_span_id))
    return dead


def late_event(events: Any) -> bool:
    """Whether an event's time is past what an int64 nanosecond timestamp holds."""
    return any(event.time_unix_nano >= MAX_TIME_NS for event in events)


def span_problem(
    trace_id: bytes, span_id: bytes, parent: bytes, start: int, end: int, events: Any = ()
) -> str | None:
    """Why a span cannot be stored (its ids or times), or None when it can.

    The one rule of the receiver's answer and of ingest: :func:`decode_request` refuses
    exactly the spans this names (its inline test is the fast path of the same checks).
    """
    if len(trace_id) != 16 or not any(trace_id):
        return f"invalid trace_id {trace_id.hex()!r}: want 16 non-zero bytes"
    if len(span_id) != 8 or not any(span_id):
        return f"invalid span_id {span_id.hex()!r}: want 8 non-zero bytes"
    if parent and len(parent) != 8:
        return f"invalid parent_span_id {parent.hex()!r}: want 8 bytes"
    if start <= 0:
        return "missing start_time_unix_nano"
    if end >= MAX_TIME_NS:
        return f"end_time_unix_nano {end} is past the year 2262 (the int64 nanosecond limit)"
    if end < start:
        return f"end_time_unix_nano {end} is before start_time_unix_nano {start}"
    for event in events:
        if event.time_unix_nano >= MAX_TIME_NS:
            return (
                f"event time_unix_nano {event.time_unix_nano} is past the year 2262 "
                "(the int64 nanosecond limit)"
            )
    return None
