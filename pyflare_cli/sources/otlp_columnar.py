"""Decode OTLP protobuf trace requests into the raw frame column by column, with NumPy.

The fast path of :mod:`pyflare_cli.sources.otlp_proto` (which stays the reference and the
fallback): every level of the OTLP tree (requests, resource spans, scope spans, spans,
attributes, their values...) is walked for all messages of a task at once by
:mod:`pyflare_cli.sources.wire_columns`, and the strings are cut out of the request bytes
into Arrow buffers. Values Arrow cannot format as Python does (bytes, kvlists, doubles
far from 1) go through the reference's own :func:`~pyflare_cli.sources.otlp_proto.string_value`.

It gives the reference's rows or raises :class:`~pyflare_cli.sources.wire_columns.
Unsupported`: the caller has already parsed each request with upb (which refuses broken
bytes and invalid UTF-8), and a request with a span the reference would dead-letter, a
repeated singular field or an unexpected wire type is left to the reference as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from pyflare_cli.sources.otlp_proto import decode_request, string_value
from pyflare_cli.sources.raw import KIND_NAMES, MAX_TIME_NS, STATUS_NAMES, DeadLetter, RawBatch
from pyflare_cli.sources.wire_columns import (
    PAD,
    U64,
    Bytes,
    Fields,
    Ints,
    Unsupported,
    all_nonzero,
    counts_to_offsets,
    hex_array,
    pairs,
    string_array,
    walk,
)

_TS = pa.timestamp("ns", tz="UTC")
_MAP = pa.map_(pa.string(), pa.string())
_LEN, _VARINT, _FIXED64 = 2, 0, 1


class _Level:
    """The byte array and the walks over it (one per level of the tree)."""

    def __init__(self, payloads: list[bytes]) -> None:
        self.data = b"".join(payloads) + bytes(PAD)
        self.buf: Bytes = np.frombuffer(self.data, np.uint8)
        lengths = np.array([len(p) for p in payloads], np.int64)
        self.ends: Ints = np.cumsum(lengths)
        self.starts: Ints = self.ends - lengths

    def children(self, fields: Fields, where: Ints) -> Fields:
        """The fields of the sub-messages in fields ``where`` (message i = where[i])."""
        starts = fields.value[where].astype(np.int64)
        return walk(self.data, self.buf, starts, starts + fields.length[where])

    def strings(self, fields: Fields, at: Ints, null_empty: bool = False) -> pa.Array:
        """Per message, the string field at index ``at`` ("" or null when absent)."""
        present = at >= 0
        safe = np.where(present, at, 0)
        lengths = np.where(present, fields.length[safe] if fields.length.size else 0, 0)
        starts = fields.value[safe].astype(np.int64) if fields.value.size else lengths
        valid = lengths > 0 if null_empty else None
        return string_array(self.buf, starts, lengths, valid)

    def numbers(self, fields: Fields, at: Ints) -> U64:
        present = at >= 0
        if not fields.value.size:
            return np.zeros(at.shape, np.uint64)
        return np.where(present, fields.value[np.where(present, at, 0)], np.uint64(0))


def _enum_names(values: U64, names: tuple[str, ...], default: str) -> pa.Array:
    """An int32 enum's names (out of range -> ``default``), as a plain string column."""
    signed = (values & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32).astype(np.int64)
    index = np.where((signed >= 0) & (signed < len(names)), signed, names.index(default))
    dictionary = pa.array(list(names), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), dictionary).cast(pa.string())


def _values(level: _Level, kv: Fields, at: Ints) -> pa.Array:
    return _typed_values(level, kv, at)[0]


def _typed_values(level: _Level, kv: Fields, at: Ints) -> tuple[pa.Array, Ints]:
    """The AnyValue at ``at`` of each KeyValue as the reference's attribute string.

    Strings are cut from the bytes; integers, booleans and doubles in the range where
    Arrow's formatting is Python's ``repr`` are formatted by Arrow, arrays of those as
    JSON; the rest (other doubles, bytes, kvlists, arrays of anything else, a value with
    several fields) by the reference. Also returns each value's kind (0 none, 1 string,
    2 bool, 3 int, 4 double, 5 array, 9 other).
    """
    present = np.flatnonzero(at >= 0)
    values = level.children(kv, at[present])
    starts = kv.value[at[present]].astype(np.int64)
    return _typed(level, values, present, at.size, starts, kv.length[at[present]])


def _typed(
    level: _Level, values: Fields, present: Ints, n: int, msg_start: Ints, msg_length: Ints
) -> tuple[pa.Array, Ints]:
    """:func:`_typed_values` from the walked value messages (``msg_*``: their bytes)."""
    count = np.bincount(values.msg, minlength=present.size)
    one = np.flatnonzero(count == 1)
    heads = np.zeros(present.size, np.int64)
    if values.msg.size:
        starts_of = np.flatnonzero(np.r_[True, np.diff(values.msg) != 0])
        heads[values.msg[starts_of]] = starts_of
    kind = np.zeros(present.size, np.int64)
    kind[count > 0] = 9
    if one.size:
        field = heads[one]
        number, wire = values.number[field], values.wire[field]
        kind[one] = np.select(
            [
                (number == 1) & (wire == _LEN),
                (number == 2) & (wire == _VARINT),
                (number == 3) & (wire == _VARINT),
                (number == 4) & (wire == _FIXED64),
                (number == 5) & (wire == _LEN),
            ],
            [1, 2, 3, 4, 5],
            9,
        )
    raw = values.value[heads] if values.msg.size else np.zeros(present.size, np.uint64)
    doubles = np.flatnonzero(kind == 4)
    number_of = raw[doubles].view(np.float64)
    magnitude = np.abs(number_of)
    plain = (number_of == 0) | ((magnitude >= 1e-4) & (magnitude < 1e9))
    kind[doubles[~plain]] = 9
    arrays = np.flatnonzero(kind == 5)
    array_text, json_ok = _json_arrays(level, values, heads[arrays])
    kind[arrays[~json_ok]] = 9

    text = np.flatnonzero(kind == 1)
    starts = np.zeros(n, np.int64)
    lengths = np.zeros(n, np.int64)
    starts[present[text]] = raw[text].astype(np.int64)
    lengths[present[text]] = values.length[heads[text]]
    is_text = np.zeros(n, np.bool_)
    is_text[present[text]] = True
    column = string_array(level.buf, starts, lengths, is_text)

    parts: list[pa.Array] = []
    where: list[Ints] = []
    ints = np.flatnonzero(kind == 3)
    if ints.size:
        parts.append(pa.array(raw[ints].view(np.int64), pa.int64()).cast(pa.string()))
        where.append(present[ints])
    bools = np.flatnonzero(kind == 2)
    if bools.size:
        parts.append(pa.array(np.where(raw[bools] != 0, "true", "false"), pa.string()))
        where.append(present[bools])
    doubles = np.flatnonzero(kind == 4)
    if doubles.size:
        formatted = pa.array(raw[doubles].view(np.float64), pa.float64()).cast(pa.string())
        whole = pc.invert(pc.match_substring_regex(formatted, r"[.e]"))
        parts.append(pc.if_else(whole, pc.binary_join_element_wise(formatted, ".0", ""), formatted))
        where.append(present[doubles])
    if arrays.size and bool(json_ok.any()):
        parts.append(array_text.filter(pa.array(json_ok)))
        where.append(present[arrays[json_ok]])
    others = np.flatnonzero(kind == 9)
    if others.size:
        own = present[others]
        begin = msg_start[others].tolist()
        size = msg_length[others].tolist()
        data = level.data
        texts = [
            string_value(AnyValue.FromString(data[b : b + s]))
            for b, s in zip(begin, size, strict=True)
        ]
        parts.append(pa.array(texts, pa.string()))
        where.append(own)
    kinds = np.zeros(n, np.int64)
    kinds[present] = kind
    if not parts:
        return column, kinds
    positions = np.concatenate(where)
    order = pa.array(np.argsort(positions, kind="stable").astype(np.int32))
    replacements = pa.concat_arrays([p.cast(pa.string()) for p in parts]).take(order)
    mask = np.zeros(n, np.bool_)
    mask[positions] = True
    return pc.replace_with_mask(column, pa.array(mask), replacements), kinds


_PLAIN_JSON = r"^[ !#-\[\]-~]*$"
"""Printable ASCII without a quote or backslash: ``json.dumps`` writes it as it is."""


def _json_arrays(level: _Level, values: Fields, at: Ints) -> tuple[pa.Array, np.ndarray]:
    """Arrays of plain scalars as ``json.dumps`` writes them, and which arrays qualify."""
    ok = np.ones(at.size, np.bool_)
    if not at.size:
        return pa.array([], pa.string()), ok
    array = level.children(values, at)
    at_item = np.flatnonzero(array.number == 1)
    ok[np.unique(array.msg[array.number != 1])] = False
    ok[np.unique(array.msg[at_item[array.wire[at_item] != _LEN]])] = False
    at_item = at_item[array.wire[at_item] == _LEN]
    items, kinds = _typed_values(level, array, at_item)
    plain = pc.fill_null(pc.match_substring_regex(items, _PLAIN_JSON), False)
    bad = ~np.isin(kinds, (1, 2, 3, 4)) | ((kinds == 1) & ~plain.to_numpy(zero_copy_only=False))
    ok[np.unique(array.msg[at_item[bad]])] = False
    quoted = pc.if_else(
        pa.array(kinds == 1), pc.binary_join_element_wise('"', items, '"', ""), items
    )
    lists = pa.ListArray.from_arrays(
        pa.array(counts_to_offsets(array.msg[at_item], at.size), pa.int32()),
        pc.fill_null(quoted, ""),
    )
    joined = pc.binary_join(lists, ",")
    return pc.binary_join_element_wise("[", joined, "]", ""), ok


def _key_values(level: _Level, fields: Fields, where: Ints, owners: Ints, count: int) -> pa.Array:
    """A map column of ``count`` rows from the KeyValue fields ``where`` of ``owners``."""
    offsets = pa.array(counts_to_offsets(owners, count), pa.int32())
    n = where.size
    starts = fields.value[where].astype(np.int64)
    pair = pairs(level.buf, starts, starts + fields.length[where])
    if pair is not None:  # every pair as encoders write it: no walk
        keys = string_array(level.buf, pair.key_start, pair.key_length)
        everything = np.arange(n, dtype=np.int64)
        values = _typed(level, pair.inner, everything, n, pair.inner_start, pair.inner_length)[0]
    else:
        kv = level.children(fields, where)
        keys = level.strings(kv, kv.single(1, _LEN, n))
        values = _values(level, kv, kv.single(2, _LEN, n))
    return pa.MapArray.from_arrays(offsets, keys, values, type=_MAP)


def decode_requests(payloads: list[bytes]) -> pl.DataFrame:
    """The raw frame of these ``ExportTraceServiceRequest`` bytes, as the reference builds it."""
    level = _Level(payloads)
    requests = walk(level.data, level.buf, level.starts, level.ends)
    at_rs = requests.pick(1, _LEN)
    rs = level.children(requests, at_rs)
    n_rs = at_rs.size

    at_resource = rs.single(1, _LEN, n_rs)
    with_resource = np.flatnonzero(at_resource >= 0)
    resource = level.children(rs, at_resource[with_resource])
    at_attr = resource.pick(1, _LEN)
    resources = _key_values(level, resource, at_attr, with_resource[resource.msg[at_attr]], n_rs)

    at_ss = rs.pick(2, _LEN)
    ss = level.children(rs, at_ss)
    ss_resource = rs.msg[at_ss]
    n_ss = at_ss.size
    at_scope = ss.single(1, _LEN, n_ss)
    with_scope = np.flatnonzero(at_scope >= 0)
    scope = level.children(ss, at_scope[with_scope])
    scope_names = np.full(n_ss, -1, np.int64)
    scope_names[with_scope] = scope.single(1, _LEN, with_scope.size)
    scope_name = level.strings(scope, scope_names, null_empty=True)

    at_span = ss.pick(2, _LEN)
    span = level.children(ss, at_span)
    n = at_span.size
    span_ss = ss.msg[at_span]

    trace_start, trace_len = span.ranges(span.single(1, _LEN, n))
    span_start, span_len = span.ranges(span.single(2, _LEN, n))
    parent_start, parent_len = span.ranges(span.single(4, _LEN, n))
    start = level.numbers(span, span.single(7, _FIXED64, n))
    end = level.numbers(span, span.single(8, _FIXED64, n))
    limit = np.uint64(MAX_TIME_NS)
    if not bool(
        (
            (trace_len == 16)
            & (span_len == 8)
            & ((parent_len == 0) | (parent_len == 8))
            & (start > 0)
            & (start <= end)
            & (end < limit)
        ).all()
    ) or not (all_nonzero(level.buf, trace_start, 16) and all_nonzero(level.buf, span_start, 8)):
        raise Unsupported("a span the reference dead-letters")

    at_status = span.single(15, _LEN, n)
    with_status = np.flatnonzero(at_status >= 0)
    status = level.children(span, at_status[with_status])
    codes = np.zeros(n, np.uint64)
    codes[with_status] = level.numbers(status, status.single(3, _VARINT, with_status.size))
    messages = np.full(n, -1, np.int64)
    messages[with_status] = status.single(2, _LEN, with_status.size)

    at_event = span.pick(11, _LEN)
    event = level.children(span, at_event)
    n_events = at_event.size
    event_time = level.numbers(event, event.single(1, _FIXED64, n_events))
    if bool((event_time >= limit).any()):
        raise Unsupported("an event the reference dead-letters")
    at_event_attr = event.pick(3, _LEN)
    events = pa.StructArray.from_arrays(
        [
            pa.array(event_time.view(np.int64), pa.int64()).cast(_TS),
            level.strings(event, event.single(2, _LEN, n_events)),
            _key_values(level, event, at_event_attr, event.msg[at_event_attr], n_events),
        ],
        names=["time", "name", "attributes"],
    )

    at_link = span.pick(13, _LEN)
    link = level.children(span, at_link)
    n_links = at_link.size
    at_link_attr = link.pick(4, _LEN)
    links = pa.StructArray.from_arrays(
        [
            hex_array(level.buf, *link.ranges(link.single(1, _LEN, n_links))),
            hex_array(level.buf, *link.ranges(link.single(2, _LEN, n_links))),
            _key_values(level, link, at_link_attr, link.msg[at_link_attr], n_links),
        ],
        names=["trace_id", "span_id", "attributes"],
    )

    at_span_attr = span.pick(9, _LEN)
    table = pa.table(
        {
            "trace_id": hex_array(level.buf, trace_start, trace_len),
            "span_id": hex_array(level.buf, span_start, span_len),
            "parent_span_id": hex_array(level.buf, parent_start, parent_len, parent_len > 0),
            "name": level.strings(span, span.single(5, _LEN, n)),
            "kind": _enum_names(
                level.numbers(span, span.single(6, _VARINT, n)), KIND_NAMES, "unspecified"
            ),
            "start_time": pa.array(start.view(np.int64), pa.int64()).cast(_TS),
            "end_time": pa.array(end.view(np.int64), pa.int64()).cast(_TS),
            "status_code": _enum_names(codes, STATUS_NAMES, "unset"),
            "status_message": level.strings(status, messages, null_empty=True),
            "scope_name": scope_name.take(pa.array(span_ss, pa.int32())),
            "attributes": _key_values(level, span, at_span_attr, span.msg[at_span_attr], n),
            "resource_attributes": resources.take(pa.array(ss_resource[span_ss], pa.int32())),
            "events": pa.ListArray.from_arrays(
                pa.array(counts_to_offsets(span.msg[at_event], n), pa.int32()), events
            ),
            "links": pa.ListArray.from_arrays(
                pa.array(counts_to_offsets(span.msg[at_link], n), pa.int32()), links
            ),
        }
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


Parsed = tuple[str, bytes, int]
"""A request upb has parsed: (position, bytes, dead letters before it). The message is not
kept (tens of MB a task): the reference parses the bytes again only when it runs."""


def compiled_decoder() -> Callable[[list[bytes]], pl.DataFrame] | None:
    """The compiled decoder (:mod:`pyflare_cli.sources.otlp_numba`), None without numba."""
    try:
        from pyflare_cli.sources import otlp_numba
    except ImportError:
        return None
    return otlp_numba.decode_requests


def fast_decoder() -> Callable[[list[bytes]], pl.DataFrame] | None:
    """The decoder ``PYFLARE_OTLP_DECODER`` asks for: None for the reference.

    ``reference``; ``numba`` the compiled one when numba is installed (else this module's);
    anything else (unset, ``numpy``, ``columnar``) this module's. The compiled decoder is
    not the default: measured whole-command, its per-span gain (~2 CPU µs of ~28) is
    eaten by numba's start-up in each worker (~0.5 CPU s, +120-170 MB), see
    docs/benchmarks.md (2026-12-08, issue 24d).
    """
    choice = os.environ.get("PYFLARE_OTLP_DECODER", "")
    if choice == "reference":
        return None
    if choice == "numba":
        compiled = compiled_decoder()
        if compiled is not None:
            return compiled
    return decode_requests


def decode_or_reference(
    parsed: list[Parsed], batch: RawBatch, source: str, dead: list[DeadLetter]
) -> pl.DataFrame | None:
    """The raw frame of these parsed requests, by the fast path when it can give it.

    Otherwise (a request the fast path leaves to the reference, other records already in
    ``batch``, or ``PYFLARE_OTLP_DECODER=reference``) the reference decoder appends the
    spans to ``batch``, their dead letters go into ``dead`` where the reference would have
    put them, and this returns None.
    """
    fast = fast_decoder()
    if parsed and fast is not None and len(batch) == 0:
        try:
            return fast([payload for _, payload, _ in parsed])
        except Unsupported:
            pass
    by_reference(parsed, batch, source, dead)
    return None


def by_reference(
    parsed: list[Parsed], batch: RawBatch, source: str, dead: list[DeadLetter]
) -> None:
    """Decode with the reference: spans into ``batch``, dead letters where they belong."""
    merged: list[DeadLetter] = []
    taken = 0
    for position, payload, before in parsed:
        merged.extend(dead[taken:before])
        taken = before
        request = ExportTraceServiceRequest.FromString(payload)
        merged.extend(decode_request(request, batch, source, position))
    merged.extend(dead[taken:])
    dead[:] = merged
