"""The OTLP/JSON ``ExportTraceServiceRequest`` as an Arrow schema, for ``pyarrow.json``.

Every field the OTLP spec has is in it, in lowerCamelCase: read with
``unexpected_field_behavior="error"``, any other key (snake_case, a typo, a field of a
newer OTLP) makes the reader refuse the line, which then goes to the reference decoder
(:mod:`pyflare_cli.sources.otlp_json_columnar`).
"""

from __future__ import annotations

import re

import pyarrow as pa

from pyflare_cli.sources.json_values import key_values_type

_S, _I = pa.string(), pa.int64()


def request_schema(times: pa.DataType, integers: pa.DataType) -> pa.Schema:
    """ExportTraceServiceRequest in OTLP/JSON with every field the spec has, so any other
    key is refused by the reader (``unexpected_field_behavior="error"``); the int64 times
    and ``intValue`` read as ``times`` and ``integers`` (strings in the spec)."""
    key_values = key_values_type(integers)
    event = pa.struct(
        [
            ("timeUnixNano", times),
            ("name", _S),
            ("attributes", key_values),
            ("droppedAttributesCount", _I),
        ]
    )
    link = pa.struct(
        [
            ("traceId", _S),
            ("spanId", _S),
            ("traceState", _S),
            ("attributes", key_values),
            ("droppedAttributesCount", _I),
            ("flags", _I),
        ]
    )
    span = pa.struct(
        [
            ("traceId", _S),
            ("spanId", _S),
            ("traceState", _S),
            ("parentSpanId", _S),
            ("flags", _I),
            ("name", _S),
            ("kind", _I),
            ("startTimeUnixNano", times),
            ("endTimeUnixNano", times),
            ("attributes", key_values),
            ("droppedAttributesCount", _I),
            ("events", pa.list_(event)),
            ("droppedEventsCount", _I),
            ("links", pa.list_(link)),
            ("droppedLinksCount", _I),
            ("status", pa.struct([("message", _S), ("code", _I)])),
        ]
    )
    scope = pa.struct(
        [
            ("name", _S),
            ("version", _S),
            ("attributes", key_values),
            ("droppedAttributesCount", _I),
        ]
    )
    scope_spans = pa.struct([("scope", scope), ("spans", pa.list_(span)), ("schemaUrl", _S)])
    resource = pa.struct([("attributes", key_values), ("droppedAttributesCount", _I)])
    resource_spans = pa.struct(
        [("resource", resource), ("scopeSpans", pa.list_(scope_spans)), ("schemaUrl", _S)]
    )
    return pa.schema([("resourceSpans", pa.list_(resource_spans))])


SCHEMA = request_schema(_S, _S)
"""What the spec and the Collector write: int64 times and ``intValue`` as strings."""
NUMBER_FORMS = (re.compile(rb'imeUnixNano"\s*:\s*[-0-9]'), re.compile(rb'"intValue"\s*:\s*[-0-9]'))
"""Times and integers written as JSON numbers (the spec's own example, some exporters)."""
