"""Where the trace ids sit in a serialized request, and rewriting them without re-encoding.

A load test re-sends a small pool of requests many times; a receiver that deduplicates on
(trace_id, span_id) would count the repeats as nothing, and the result would flatter it. So
each pass over the pool gets its own trace ids. Rebuilding and re-serializing protobuf per
send would make the generator the bottleneck, so the byte offsets of every trace id (spans'
and links') are found once, when the pool is built, and each send overwrites the first 8 id
bytes (16 hex digits in OTLP/JSON) in a copy of the body: two memory copies and one NumPy
scatter per request, no Python work per span.

Offsets are found structurally (a minimal protobuf wire walk, or the ``"traceId":"`` key of
compact OTLP/JSON, which cannot occur inside an escaped JSON string), never by searching
for id bytes that could also occur in attribute data.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

PROTO_PREFIX_BYTES = 8
"""Id bytes overwritten per pass; the other 8 stay as generated (random, distinct per trace)."""
JSON_PREFIX_CHARS = 2 * PROTO_PREFIX_BYTES
_JSON_KEY = b'"traceId":"'

# Field numbers of the OTLP trace messages on the path to a trace id.
_REQUEST_RESOURCE_SPANS = 1
_RESOURCE_SPANS_SCOPE_SPANS = 2
_SCOPE_SPANS_SPANS = 2
_SPAN_TRACE_ID = 1
_SPAN_LINKS = 13
_LINK_TRACE_ID = 1
_TRACE_ID_LEN = 16

IndexArray = npt.NDArray[np.int64]


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _len_fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(field number, value start, value end) of each length-delimited field in [start, end)."""
    pos = start
    while pos < end:
        tag, pos = _varint(buf, pos)
        wire = tag & 7
        if wire == 2:
            length, pos = _varint(buf, pos)
            yield tag >> 3, pos, pos + length
            pos += length
        elif wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {pos}")
    if pos != end:
        raise ValueError("truncated protobuf message")


def _inside(buf: bytes, start: int, end: int, field: int) -> Iterator[tuple[int, int]]:
    for number, value_start, value_end in _len_fields(buf, start, end):
        if number == field:
            yield value_start, value_end


def proto_trace_id_offsets(body: bytes) -> list[int]:
    """Byte offsets of every span's and link's 16-byte trace id in a serialized
    ``ExportTraceServiceRequest``."""
    offsets: list[int] = []
    for rs_start, rs_end in _inside(body, 0, len(body), _REQUEST_RESOURCE_SPANS):
        for ss_start, ss_end in _inside(body, rs_start, rs_end, _RESOURCE_SPANS_SCOPE_SPANS):
            for span_start, span_end in _inside(body, ss_start, ss_end, _SCOPE_SPANS_SPANS):
                for number, start, end in _len_fields(body, span_start, span_end):
                    if number == _SPAN_TRACE_ID and end - start == _TRACE_ID_LEN:
                        offsets.append(start)
                    elif number == _SPAN_LINKS:
                        for id_start, id_end in _inside(body, start, end, _LINK_TRACE_ID):
                            if id_end - id_start == _TRACE_ID_LEN:
                                offsets.append(id_start)
    return offsets


def json_trace_id_offsets(body: bytes) -> list[int]:
    """Offsets of the first hex digit of every ``"traceId"`` value in compact OTLP/JSON."""
    offsets: list[int] = []
    pos = body.find(_JSON_KEY)
    while pos >= 0:
        offsets.append(pos + len(_JSON_KEY))
        pos = body.find(_JSON_KEY, pos + len(_JSON_KEY))
    return offsets


def prefix_index(offsets: list[int], width: int) -> IndexArray:
    """An (ids, width) array of the byte positions to overwrite, for one NumPy scatter."""
    starts = np.asarray(offsets, dtype=np.int64).reshape(-1, 1)
    return starts + np.arange(width, dtype=np.int64)


def rewrite(body: bytes, index: IndexArray, prefix: npt.NDArray[np.uint8]) -> bytes:
    """A copy of ``body`` with ``prefix`` written at every row of ``index``."""
    if not len(index):
        return body
    buf = np.frombuffer(body, dtype=np.uint8).copy()
    buf[index] = prefix
    return buf.tobytes()
