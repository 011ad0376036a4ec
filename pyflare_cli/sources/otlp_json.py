"""Decode OTLP/JSON `ExportTraceServiceRequest` documents into a :class:`RawBatch`.

Real-world OTLP/JSON varies: the spec says hex ids and lowerCamelCase keys, but protobuf's
JSON printer writes base64 ids, some tools write snake_case keys, enums appear as numbers
or as names (``SPAN_KIND_SERVER``), and int64 values as strings or numbers. All of these
are accepted; a span that is still unusable goes to the dead letters with the reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from pyflare_cli.sources.json_payload import BadDocument, load
from pyflare_cli.sources.raw import (
    KIND_NAMES,
    MAX_TIME_NS,
    STATUS_NAMES,
    DeadLetter,
    KeyValues,
    RawBatch,
)

_HEX = re.compile(r"^[0-9a-fA-F]*$")
MAX_VALUE_DEPTH = 32
"""The deepest nesting of arrayValue/kvlistValue in an attribute value. A deeper value
refuses its span, the same way wherever it is read (the receiver before its answer,
ingest, the flusher), not at whatever depth Python's recursion limit gives out."""
DECODE_ERRORS = (TypeError, ValueError, AttributeError, OverflowError, RecursionError)
"""What decoding a malformed part of a document can raise; the part is refused, never the call."""


__all__ = ["DECODE_ERRORS", "BadDocument", "BadRecord", "decode_document", "load"]


class BadRecord(ValueError):
    """A field of one span that cannot be decoded; the message is the dead-letter reason."""


def _deeper_than(value: list[Any], limit: int) -> bool:
    """Whether a plain JSON value nests more than ``limit`` levels (without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _get(d: dict[str, Any], camel: str, snake: str) -> Any:
    value = d.get(camel)
    return d.get(snake) if value is None else value


def decode_id(value: Any, size: int, what: str, *, optional: bool = False) -> str | None:
    """An OTLP id as lowercase hex, from hex (the spec) or base64 (protobuf JSON)."""
    if value is None or value == "":
        if optional:
            return None
        raise BadRecord(f"missing {what}")
    if not isinstance(value, str):
        raise BadRecord(f"invalid {what} {value!r}: want a hex or base64 string")
    if len(value) == size * 2 and _HEX.match(value):
        hex_id = value.lower()
    else:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise BadRecord(f"invalid {what} {value!r}: neither hex nor base64") from None
        if len(raw) != size:
            raise BadRecord(f"invalid {what} {value!r}: want {size} bytes, got {len(raw)}")
        hex_id = raw.hex()
    if not optional and hex_id.strip("0") == "":
        raise BadRecord(f"invalid {what} {value!r}: all zero")
    return hex_id


def _enum(value: Any, names: tuple[str, ...], prefix: str, what: str) -> str:
    if value is None:
        return names[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return names[value] if 0 <= value < len(names) else names[0]
    if isinstance(value, str):
        text = value.upper()
        if text.isdigit():
            return _enum(int(text), names, prefix, what)
        text = text.removeprefix(prefix).lower()
        if text in names:
            return text
    raise BadRecord(f"invalid {what} {value!r}")


def _time(value: Any, what: str) -> int:
    if value is None or value == "":
        return 0
    try:
        if isinstance(value, str):
            return int(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    except (ValueError, OverflowError):
        pass
    raise BadRecord(f"invalid {what} {str(value)[:40]!r}: want integer nanoseconds")


def _text(value: Any, what: str, default: str | None) -> str | None:
    """A field that must be a string (an object, number or bool is no name or message)."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadRecord(f"invalid {what} {str(value)[:40]!r}: want a string")
    return value


def native_value(value: Any, depth: int = 0) -> Any:
    """A JSON AnyValue (``{"stringValue": ...}``) as a plain JSON value.

    Recursive, to :data:`MAX_VALUE_DEPTH` levels of arrays and key/value lists.
    """
    if depth > MAX_VALUE_DEPTH:
        raise BadRecord(f"attribute value nested deeper than {MAX_VALUE_DEPTH} levels")
    if not isinstance(value, dict):
        if isinstance(value, list) and _deeper_than(value, MAX_VALUE_DEPTH - depth):
            raise BadRecord(f"attribute value nested deeper than {MAX_VALUE_DEPTH} levels")
        return value  # a plain JSON value where an AnyValue belongs: kept as it is
    for key, item in value.items():
        if key in ("stringValue", "string_value", "boolValue", "bool_value"):
            return item
        if key in ("intValue", "int_value"):
            return int(item)
        if key in ("doubleValue", "double_value"):
            return float(item)
        if key in ("bytesValue", "bytes_value"):
            return item
        if key in ("arrayValue", "array_value"):
            return [native_value(v, depth + 1) for v in (item or {}).get("values", [])]
        if key in ("kvlistValue", "kvlist_value"):
            return {
                kv.get("key", ""): native_value(kv.get("value"), depth + 1)
                for kv in (item or {}).get("values", [])
            }
    return None


def string_value(value: Any) -> str | None:
    """A JSON AnyValue as the string stored in an attribute map."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, item),) = value.items()
        if key in ("stringValue", "string_value"):
            return str(item)
        if key in ("intValue", "int_value"):
            return str(int(item))
        if key in ("boolValue", "bool_value"):
            return "true" if item in (True, "true") else "false"
        if key in ("bytesValue", "bytes_value"):
            return str(item)
    native = native_value(value)
    if native is None:
        return None
    return json.dumps(native, separators=(",", ":"))


def _add_pairs(target: KeyValues, attributes: Any) -> None:
    if attributes:
        if not isinstance(attributes, list):
            raise BadRecord("attributes is not a list")
        for kv in attributes:
            target.keys.append(str(kv.get("key", "")))
            target.values.append(string_value(kv.get("value")))
    target.offsets.append(len(target.keys))


def decode_document(
    document: Any, batch: RawBatch, source: str, where: str
) -> tuple[list[DeadLetter], bool]:
    """Append the spans of one OTLP/JSON document to ``batch``.

    Returns the dead letters and whether the document held traces at all (a metrics or
    logs document returns ``False`` so the caller can count it as skipped).
    """
    if not isinstance(document, dict):
        return [DeadLetter(source, where, "not a JSON object", document)], True
    resource_spans_list = _get(document, "resourceSpans", "resource_spans")
    if resource_spans_list is None:
        if any(k in document for k in ("resourceMetrics", "resource_metrics", "resourceLogs")):
            return [], False
        if "resource_logs" in document or "resourceProfiles" in document:
            return [], False
        return [DeadLetter(source, where, "no resourceSpans in the document", document)], True
    if not isinstance(resource_spans_list, list):
        return [DeadLetter(source, where, "resourceSpans is not a list", document)], True
    dead: list[DeadLetter] = []
    for rs_index, resource_spans in enumerate(resource_spans_list):
        mark = len(batch)
        try:
            dead.extend(_decode_resource_spans(resource_spans, batch, source, where, rs_index))
        except DECODE_ERRORS as exc:
            # The resource or a scope itself is malformed: refuse this resourceSpans whole.
            _rollback(batch, mark)
            position = f"{where}, resourceSpans[{rs_index}]"
            dead.append(
                DeadLetter(source, position, str(exc) or type(exc).__name__, resource_spans)
            )
    return dead, True


def _decode_resource_spans(
    resource_spans: dict[str, Any],
    batch: RawBatch,
    source: str,
    where: str,
    rs_index: int,
) -> list[DeadLetter]:
    """Append the spans of one ``resourceSpans``; return the spans refused one by one."""
    dead: list[DeadLetter] = []
    resource = resource_spans.get("resource") or {}
    pairs = [
        (str(kv.get("key", "")), string_value(kv.get("value")))
        for kv in resource.get("attributes") or []
    ]
    scope_list = _get(resource_spans, "scopeSpans", "scope_spans")
    if scope_list is None:
        scope_list = _get(resource_spans, "instrumentationLibrarySpans", "ilSpans") or []
    if not isinstance(scope_list, list):
        raise BadRecord("scopeSpans is not a list")
    resource_index = batch.add_resource(pairs)
    for ss_index, scope_spans in enumerate(scope_list):
        scope = scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}
        scope_name = _text(scope.get("name"), "scope name", None) or None
        for span_index, span in enumerate(scope_spans.get("spans") or []):
            mark = len(batch)
            try:
                _decode_span(span, batch, scope_name, resource_index)
            except DECODE_ERRORS as exc:
                _rollback(batch, mark)
                position = (
                    f"{where}, resourceSpans[{rs_index}].scopeSpans[{ss_index}].spans[{span_index}]"
                )
                dead.append(DeadLetter(source, position, str(exc), span))
    return dead


def _decode_span(span: dict[str, Any], batch: RawBatch, scope: str | None, resource: int) -> None:
    trace_id = decode_id(_get(span, "traceId", "trace_id"), 16, "traceId")
    span_id = decode_id(_get(span, "spanId", "span_id"), 8, "spanId")
    parent = decode_id(
        _get(span, "parentSpanId", "parent_span_id"), 8, "parentSpanId", optional=True
    )
    start = _time(_get(span, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano")
    end = _time(_get(span, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano")
    if start <= 0:
        raise BadRecord("missing startTimeUnixNano")
    if end < start:
        raise BadRecord(f"endTimeUnixNano {end} is before startTimeUnixNano {start}")
    if end >= MAX_TIME_NS:
        raise BadRecord(f"endTimeUnixNano {end} is past the year 2262 (the int64 limit)")
    kind = _enum(span.get("kind"), KIND_NAMES, "SPAN_KIND_", "kind")
    status = span.get("status") or {}
    code = _enum(status.get("code"), STATUS_NAMES, "STATUS_CODE_", "status.code")
    # Validate nested parts before appending anything, so a bad span leaves no trace.
    events = span.get("events") or []
    links = span.get("links") or []
    event_rows = [
        (_event_time(_get(e, "timeUnixNano", "time_unix_nano")), str(e.get("name", "")), e)
        for e in events
    ]
    name = _text(span.get("name"), "name", "")
    message = _text(status.get("message"), "status.message", None) or None
    link_rows = [
        (
            decode_id(_get(lk, "traceId", "trace_id"), 16, "link traceId"),
            decode_id(_get(lk, "spanId", "span_id"), 8, "link spanId"),
            lk,
        )
        for lk in links
    ]
    batch.trace_id.append(trace_id or "")
    batch.span_id.append(span_id or "")
    batch.parent_span_id.append(parent)
    batch.name.append(name or "")
    batch.kind.append(kind)
    batch.start_ns.append(start)
    batch.end_ns.append(end)
    batch.status_code.append(code)
    batch.status_message.append(message)
    batch.scope_name.append(scope)
    batch.resource_index.append(resource)
    _add_pairs(batch.attributes, span.get("attributes"))
    for time_ns, name, event in event_rows:
        batch.event_time.append(time_ns)
        batch.event_name.append(name)
        _add_pairs(batch.event_attributes, event.get("attributes"))
    batch.event_offsets.append(len(batch.event_name))
    for link_trace, link_span, link in link_rows:
        batch.link_trace_id.append(link_trace or "")
        batch.link_span_id.append(link_span or "")
        _add_pairs(batch.link_attributes, link.get("attributes"))
    batch.link_offsets.append(len(batch.link_span_id))


def _event_time(value: Any) -> int:
    time_ns = _time(value, "event time")
    if not 0 <= time_ns < MAX_TIME_NS:
        raise BadRecord(f"event time {time_ns} is outside 1970..2262 (int64 nanoseconds)")
    return time_ns


def _rollback(batch: RawBatch, mark: int) -> None:
    """Undo a partly appended span (row ``mark``) so that the columns stay aligned."""
    for column in (
        batch.trace_id,
        batch.span_id,
        batch.parent_span_id,
        batch.name,
        batch.kind,
        batch.start_ns,
        batch.end_ns,
        batch.status_code,
        batch.status_message,
        batch.scope_name,
        batch.resource_index,
    ):
        del column[mark:]
    _truncate_kv(batch.attributes, mark)
    events = batch.event_offsets[mark]
    del batch.event_offsets[mark + 1 :]
    del batch.event_time[events:]
    del batch.event_name[events:]
    _truncate_kv(batch.event_attributes, events)
    links = batch.link_offsets[mark]
    del batch.link_offsets[mark + 1 :]
    del batch.link_trace_id[links:]
    del batch.link_span_id[links:]
    _truncate_kv(batch.link_attributes, links)


def _truncate_kv(kv: KeyValues, rows: int) -> None:
    """Keep the first ``rows`` rows of a key/value buffer."""
    end = kv.offsets[rows]
    del kv.offsets[rows + 1 :]
    del kv.keys[end:]
    del kv.values[end:]
