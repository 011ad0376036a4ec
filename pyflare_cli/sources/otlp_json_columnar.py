"""Decode OTLP/JSON Lines into the raw frame with Arrow's JSON reader, falling back per line.

The fast path of :mod:`pyflare_cli.sources.otlp_json` (which stays the reference): a block
of lines is read by ``pyarrow.json`` against the OTLP schema (lowerCamelCase keys, hex ids,
int64 as strings, enums as numbers: what the Collector and the spec write) into nested
list/struct columns, and each level (resource spans, scope spans, spans, attributes) is
flattened with Arrow kernels; no Python object per span or attribute.

A line goes to the reference instead, with the same rows and dead letters, when the fast
path cannot promise the reference's answer: the reader refuses it (snake_case or unknown
keys, base64 ids, numbers where strings belong, enum names, duplicate keys, lone
surrogates, nesting deeper than an array of scalars, invalid JSON), it holds a ``null``
(the reference reads an explicit null differently from a missing field), a value is odd
(two kinds in one AnyValue, a non-canonical integer, NaN or infinity) or a span would be
dead-lettered. ``PYFLARE_OTLP_DECODER=reference`` sends every line to the reference.
"""

from __future__ import annotations

import os
import re

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from pyflare_cli.sources import otlp_json
from pyflare_cli.sources.json_values import Mask, attribute_strings
from pyflare_cli.sources.otlp_json_schema import NUMBER_FORMS, SCHEMA, request_schema
from pyflare_cli.sources.raw import KIND_NAMES, STATUS_NAMES, DeadLetter, RawBatch

Ints = npt.NDArray[np.int64]

_S, _I = pa.string(), pa.int64()
_TS = pa.timestamp("ns", tz="UTC")
_MAP = pa.map_(_S, _S)


_NULL = re.compile(rb'(?<!\\)"\s*:\s*null|[\[,]\s*null')
"""A JSON null as a field's or an item's value (a false alarm inside a string only costs
speed). The reference reads ``{"stringValue": null}`` as ``"None"``, ``"kind": null`` as
unspecified...; the reader cannot tell an explicit null from a missing field."""
_MAX_TIME = np.uint64(2**63)


def _read(lines: list[bytes]) -> pa.Table | None:
    """The lines as one table (one row a line), or None when the reader refuses them.

    Read as the spec writes them first; if refused, once more with the times and integers
    as numbers when the lines have numbers there.
    """
    data = b"\n".join(lines) + b"\n"
    if not data.isascii() and not _utf8(data):
        return None  # the reader does not check UTF-8; the reference refuses what is not
    newlines = any(b"\n" in line for line in lines)  # a pretty-printed document
    table = _parse(data, SCHEMA, newlines)
    if table is None:
        times, integers = (pattern.search(data) is not None for pattern in NUMBER_FORMS)
        if times or integers:
            table = _parse(
                data, request_schema(_I if times else _S, _I if integers else _S), newlines
            )
    return table if table is not None and table.num_rows == len(lines) else None


def _utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (Arrow's check: about 8x faster than ``decode``)."""
    offsets = pa.py_buffer(np.array([0, len(data)], np.int64).tobytes())
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _parse(data: bytes, schema: pa.Schema, newlines: bool) -> pa.Table | None:
    options = pa_json.ReadOptions(block_size=len(data) + 1, use_threads=False)
    parse = pa_json.ParseOptions(
        explicit_schema=schema, newlines_in_values=newlines, unexpected_field_behavior="error"
    )
    try:
        return pa_json.read_json(pa.py_buffer(data), read_options=options, parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _np(array: pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), np.bool_)


def _parents(lists: pa.Array) -> Ints:
    return np.asarray(pc.list_parent_indices(lists).to_numpy(), np.int64)


def _offsets(lists: pa.Array) -> pa.Array:
    lengths = np.asarray(pc.fill_null(pc.list_value_length(lists), 0).to_numpy(), np.int64)
    offsets = np.zeros(lengths.size + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.array(offsets)


class _Lines:
    """Which lines of a table the fast path must leave to the reference."""

    def __init__(self, count: int) -> None:
        self.bad = np.zeros(count, np.bool_)

    def flag(self, flags: Mask, line_of: Ints) -> None:
        self.bad[line_of[flags]] = True


def _id(values: pa.Array, size: int, optional: bool) -> tuple[pa.Array, Mask]:
    """Hex ids in lower case, and which the reference reads otherwise (or refuses)."""
    if optional:
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, _S), values)
    hex_ok = _hex(values, 2 * size)
    present = _np(pc.is_valid(values))
    zero = _np(pc.equal(values, "0" * (2 * size)))
    bad = present & ~hex_ok if optional else ~hex_ok | zero
    return pc.utf8_lower(values), bad


_IS_HEX = np.zeros(256, np.bool_)
_IS_HEX[np.frombuffer(b"0123456789abcdefABCDEF", np.uint8)] = True


def _hex(values: pa.Array, width: int) -> Mask:
    """Which strings are ``width`` hex digits (a lookup over Arrow's bytes, not a regex)."""
    if not isinstance(values, pa.StringArray):
        values = values.cast(_S)
    n = len(values)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], np.int32, count=n + 1, offset=values.offset * 4)
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    not_hex = np.zeros(data.size + 1, np.int64)
    np.cumsum(~_IS_HEX[data], out=not_hex[1:])
    fine = not_hex[offsets[1:]] == not_hex[offsets[:-1]]
    sized = np.diff(offsets) == width
    return np.asarray(fine & sized, np.bool_) & _np(pc.is_valid(values))


def _times(values: pa.Array, empty_is_zero: bool) -> tuple[npt.NDArray[np.uint64], Mask]:
    """Nanosecond times (missing: 0), and which the reference reads otherwise."""
    if pa.types.is_integer(values.type):
        numbers = np.asarray(pc.fill_null(values, 0).to_numpy(), np.int64)
        return numbers.view(np.uint64), numbers < 0
    if empty_is_zero:
        values = pc.if_else(pc.equal(values, ""), "0", values)
    digits = _np(pc.ascii_is_decimal(values)) & (_np(pc.less_equal(pc.binary_length(values), 19)))
    present = _np(pc.is_valid(values))
    safe = pc.if_else(pa.array(digits), values, "0")
    numbers = np.asarray(pc.cast(safe, pa.uint64()).to_numpy(zero_copy_only=False), np.uint64)
    return np.where(digits, numbers, np.uint64(0)), present & ~digits


def _key_values(lists: pa.Array, line_of_owner: Ints, lines: _Lines) -> pa.MapArray:
    """``attributes`` lists as a map column; lines with a value the fast path cannot read."""
    entries = pc.list_flatten(lists)
    owners = _parents(lists)
    keys = pc.fill_null(pc.struct_field(entries, "key"), "")
    values, bad = attribute_strings(pc.struct_field(entries, "value"))
    lines.flag(bad, line_of_owner[owners])
    return pa.MapArray.from_arrays(_offsets(lists), keys, values, type=_MAP)


def _enum(values: pa.Array, names: tuple[str, ...]) -> pa.Array:
    numbers = np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), np.int64)
    index = np.where((numbers >= 0) & (numbers < len(names)), numbers, 0)
    return pa.array(np.array(names, dtype=object)[index], _S)


def raw_table(table: pa.Table) -> tuple[pa.Table, Ints, Mask]:
    """The raw spans of a table read by :func:`_read`: (raw table, line of each span,
    lines the reference must read instead; their spans are in the table, to be dropped)."""
    lines = _Lines(table.num_rows)
    requests = table.column("resourceSpans").combine_chunks()
    lines.bad |= ~_np(pc.is_valid(requests))  # no resourceSpans: the reference's dead letter
    rs = pc.list_flatten(requests)
    rs_line = _parents(requests)
    resources = _key_values(
        pc.struct_field(pc.struct_field(rs, "resource"), "attributes"), rs_line, lines
    )
    ss_lists = pc.struct_field(rs, "scopeSpans")
    ss = pc.list_flatten(ss_lists)
    ss_rs = _parents(ss_lists)
    scope_name = pc.struct_field(pc.struct_field(ss, "scope"), "name")
    scope_name = pc.if_else(pc.equal(scope_name, ""), pa.scalar(None, _S), scope_name)
    span_lists = pc.struct_field(ss, "spans")
    spans = pc.list_flatten(span_lists)
    span_ss = _parents(span_lists)
    span_rs = ss_rs[span_ss]
    line = rs_line[span_rs]

    def field(name: str) -> pa.Array:
        return pc.struct_field(spans, name)

    trace_id, bad_trace = _id(field("traceId"), 16, optional=False)
    span_id, bad_span = _id(field("spanId"), 8, optional=False)
    parent, bad_parent = _id(field("parentSpanId"), 8, optional=True)
    start, bad_start = _times(field("startTimeUnixNano"), empty_is_zero=False)
    end, bad_end = _times(field("endTimeUnixNano"), empty_is_zero=False)
    refused = (start == 0) | (end < start) | (end >= _MAX_TIME)
    lines.flag(bad_trace | bad_span | bad_parent | bad_start | bad_end | refused, line)
    status = field("status")
    message = pc.struct_field(status, "message")

    event_lists = field("events")
    events = pc.list_flatten(event_lists)
    event_line = line[_parents(event_lists)]
    event_time, bad_time = _times(pc.struct_field(events, "timeUnixNano"), empty_is_zero=True)
    lines.flag(bad_time | (event_time >= _MAX_TIME), event_line)
    event_struct = pa.StructArray.from_arrays(
        [
            pa.array(event_time.view(np.int64), _I).cast(_TS),
            pc.fill_null(pc.struct_field(events, "name"), ""),
            _key_values(pc.struct_field(events, "attributes"), event_line, lines),
        ],
        names=["time", "name", "attributes"],
    )
    link_lists = field("links")
    links = pc.list_flatten(link_lists)
    link_line = line[_parents(link_lists)]
    link_trace, bad_link_trace = _id(pc.struct_field(links, "traceId"), 16, optional=False)
    link_span, bad_link_span = _id(pc.struct_field(links, "spanId"), 8, optional=False)
    lines.flag(bad_link_trace | bad_link_span, link_line)
    link_struct = pa.StructArray.from_arrays(
        [
            link_trace,
            link_span,
            _key_values(pc.struct_field(links, "attributes"), link_line, lines),
        ],
        names=["trace_id", "span_id", "attributes"],
    )
    raw = pa.table(
        {
            "trace_id": trace_id,
            "span_id": span_id,
            "parent_span_id": parent,
            "name": pc.fill_null(field("name"), ""),
            "kind": _enum(field("kind"), KIND_NAMES),
            "start_time": pa.array(start.view(np.int64), _I).cast(_TS),
            "end_time": pa.array(end.view(np.int64), _I).cast(_TS),
            "status_code": _enum(pc.struct_field(status, "code"), STATUS_NAMES),
            "status_message": pc.if_else(pc.equal(message, ""), pa.scalar(None, _S), message),
            "scope_name": scope_name.take(pa.array(span_ss)),
            "attributes": _key_values(field("attributes"), line, lines),
            "resource_attributes": resources.take(pa.array(span_rs)),
            "events": pa.ListArray.from_arrays(_offsets(event_lists), event_struct),
            "links": pa.ListArray.from_arrays(_offsets(link_lists), link_struct),
        }
    )
    return raw, line, lines.bad


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


Runs = list[tuple[list[int], pl.DataFrame | None]]
"""Consecutive lines in order: (indices, their raw frame), or (one index, None) for a line
the reference must read."""


def _fast(lines: list[bytes]) -> Runs:
    """The lines as :data:`Runs`; only consecutive lines that pass :func:`_screened` are
    read together, so the rows stay in the lines' order."""
    runs: Runs = []
    start = 0
    for index, line in enumerate([*lines, b""]):
        if index < len(lines) and _screened(line):
            continue
        group = _read_runs(lines[start:index])
        runs.extend(([start + i for i in run], frame) for run, frame in group)
        if index < len(lines):
            runs.append(([index], None))
        start = index + 1
    return runs


def _read_runs(lines: list[bytes]) -> Runs:
    """:data:`Runs` of screened lines. A block the reader refuses is halved until the
    refused lines are alone, so one odd line costs a few more reads, not the block."""
    if not lines:
        return []
    table = _read(lines)
    if table is None:
        if len(lines) == 1:
            return [([0], None)]
        half = len(lines) // 2
        right = _read_runs(lines[half:])
        return _read_runs(lines[:half]) + [([i + half for i in run], f) for run, f in right]
    raw, line, bad = raw_table(table)
    if not bad.any():
        return [(list(range(len(lines))), _frame(raw))]
    runs: Runs = []
    first_span = np.searchsorted(line, np.arange(len(lines) + 1))
    index = 0
    while index < len(lines):
        if bad[index]:
            runs.append(([index], None))
            index += 1
            continue
        stop = index
        while stop < len(lines) and not bad[stop]:
            stop += 1
        begin, finish = int(first_span[index]), int(first_span[stop])
        runs.append((list(range(index, stop)), _frame(raw.slice(begin, finish - begin))))
        index = stop
    return runs


def _screened(payload: bytes) -> bool:
    """Whether a line may go to the reader: an object (a top-level ``null`` crashes
    pyarrow 26's reader) with no JSON null in it."""
    if not payload.lstrip(b" \t\r\n").startswith(b"{"):
        return False
    return b"null" not in payload or _NULL.search(payload) is None


def clean_spans(payload: bytes) -> int | None:
    """The spans of one OTLP/JSON payload when the fast path reads it whole, so that the
    reference would read the same spans with no dead letter and nothing refused (no NaN,
    no lone surrogate, no invalid UTF-8); None otherwise. The receiver acknowledges such
    a request without parsing it in Python."""
    if os.environ.get("PYFLARE_OTLP_DECODER", "columnar") == "reference":
        return None
    try:
        runs = _fast([payload])
    except Exception:  # a defect of the fast path: the reference decides
        return None
    frame = runs[0][1] if len(runs) == 1 else None
    return None if frame is None else frame.height


def decode_lines(
    payloads: list[tuple[str, bytes]], source: str
) -> tuple[pl.DataFrame, list[DeadLetter], int]:
    """The raw frame of these OTLP/JSON lines, their dead letters and the lines skipped
    (metrics or logs), as the reference gives them, in the lines' order."""
    fast = os.environ.get("PYFLARE_OTLP_DECODER", "columnar") != "reference"
    frames: dict[int, pl.DataFrame | None] = {}  # None: in the frame of a line before
    try:
        runs = _fast([p for _, p in payloads]) if fast else []
    except Exception:  # a defect of the fast path must cost speed, never spans
        runs = []
    for run, frame in runs:
        if frame is not None:
            frames.update((i, None) for i in run)
            frames[run[0]] = frame
    out: list[pl.DataFrame] = []
    dead: list[DeadLetter] = []
    skipped = 0
    batch, used = RawBatch(), False
    for index, (position, payload) in enumerate(payloads):
        if index in frames:
            frame = frames[index]
            if frame is not None:
                if used:  # the reference's rows so far (to_frame can raise, as it would)
                    out.append(batch.to_frame())
                    batch, used = RawBatch(), False
                out.append(frame)
            continue
        used = True
        try:
            document = otlp_json.load(payload)
        except ValueError as exc:
            text = payload.decode("utf-8", "replace")
            dead.append(DeadLetter(source, position, f"invalid JSON: {exc}", text))
            continue
        letters, had_traces = otlp_json.decode_document(document, batch, source, position)
        dead.extend(letters)
        skipped += 0 if had_traces else 1
    if used or not out:
        out.append(batch.to_frame())
    return pl.concat(out) if len(out) > 1 else out[0], dead, skipped
