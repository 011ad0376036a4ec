"""Decode OTLP protobuf trace requests into the raw frame with compiled code (numba).

The third protobuf decoder, opt-in (``PYFLARE_OTLP_DECODER=numba``, numba from the ``fast``
extra): :mod:`pyflare_cli.sources.wire_numba_walk` walks all the requests of a task in one
compiled pass and :mod:`pyflare_cli.sources.wire_numba_text` writes the strings, ids and
attribute texts straight into Arrow buffers; Python only assembles the columns and makes
the texts of doubles (``repr``, in one batch) and of the few values left to the reference
(key/value lists, arrays holding more than plain scalars). It gives the reference's rows
(:mod:`pyflare_cli.sources.otlp_proto`) or raises :class:`~pyflare_cli.sources.
wire_columns.Unsupported`, and the caller then uses the reference for the whole task.

It decodes about a third faster than the NumPy decoder (:mod:`pyflare_cli.sources.
otlp_columnar`, the default), but numba's start-up in each process (~0.5 CPU s, +120-170
MB) ate the gain in whole ingests of 200k and 1M spans: docs/benchmarks.md. The compiled
code is cached on disk: beside these modules when their folder is writable, else in
numba's per-user cache (``NUMBA_CACHE_DIR`` chooses another).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from pyflare_cli.sources import wire_numba as w
from pyflare_cli.sources import wire_numba_text as text
from pyflare_cli.sources import wire_numba_walk as walker
from pyflare_cli.sources.otlp_proto import double_text, string_value
from pyflare_cli.sources.raw import KIND_NAMES, STATUS_NAMES
from pyflare_cli.sources.wire_columns import Unsupported

_TS = pa.timestamp("ns", tz="UTC")
_MAP = pa.map_(pa.string(), pa.string())
_REASONS = {
    w.BROKEN: "bytes the compiled walk cannot read",
    w.WIRE: "a known field with another wire type",
    w.REPEATED: "a singular field repeated",
    w.DEAD: "a span the reference dead-letters",
}
Table = npt.NDArray[np.int64]


def _strings(data: Any, offsets: Any, valid: Any = None) -> pa.Array:
    """An Arrow string array from bytes, int64 offsets and an optional validity mask."""
    if offsets[-1] >= 2**31:
        raise Unsupported("more than 2 GiB of strings in one column")
    bitmap = None
    if valid is not None and not bool(valid.all()):
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    buffers = [bitmap, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), offsets.size - 1, buffers)


def _cut(buf: Any, starts: Any, lengths: Any, valid: Any = None) -> pa.Array:
    lengths = np.ascontiguousarray(lengths if valid is None else np.where(valid, lengths, 0))
    data, offsets = text.gather(buf, np.ascontiguousarray(starts), lengths)
    return _strings(data, offsets, valid)


def _hex(buf: Any, starts: Any, lengths: Any, valid: Any = None) -> pa.Array:
    lengths = np.ascontiguousarray(lengths if valid is None else np.where(valid, lengths, 0))
    data, offsets = text.hexes(buf, np.ascontiguousarray(starts), lengths)
    return _strings(data, offsets, valid)


def _offsets(counts: Any) -> pa.Array:
    offsets = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise Unsupported("too many items for 32-bit offsets")
    return pa.array(offsets.astype(np.int32))


def _enum_names(values: Any, names: tuple[str, ...], default: str) -> pa.Array:
    index = np.where((values >= 0) & (values < len(names)), values, names.index(default))
    dictionary = pa.array(list(names), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), dictionary).cast(pa.string())


def _text_buffers(texts: list[str | None]) -> tuple[Any, Any]:
    """(int64 offsets, bytes) of these texts, as numpy arrays."""
    array = pa.array(texts, pa.string())
    _, offsets, body = array.buffers()
    text_offsets = np.frombuffer(offsets, np.int32, len(array) + 1).astype(np.int64)
    body_bytes = np.frombuffer(body, np.uint8) if body is not None else np.zeros(0, np.uint8)
    return text_offsets, body_bytes


def _python_texts(data: bytes, kv: Table, kinds: Any) -> tuple[Any, Any, Any]:
    """Texts of the values the compiled code leaves to the reference's ``string_value``.

    Returns (index into the texts per key/value, text offsets, text bytes); a value the
    reference reads as absent becomes NONE in ``kinds``.
    """
    rows = np.flatnonzero(kinds == w.PYTHON)
    index = np.zeros(kinds.size, np.int64)
    starts, lengths = kv[rows, w.KV_START].tolist(), kv[rows, w.KV_LEN].tolist()
    texts = [
        string_value(AnyValue.FromString(data[start : start + length]))
        for start, length in zip(starts, lengths, strict=True)
    ]
    index[rows] = np.arange(rows.size)
    kinds[rows[np.array([text is None for text in texts], np.bool_)]] = w.NONE
    return (index, *_text_buffers(texts))


def _double_texts(bits: Any) -> tuple[Any, Any]:
    """The doubles as the reference writes them, alone or inside a JSON array (``repr``;
    NaN, Infinity and -Infinity as ``json.dumps`` writes them)."""
    values = bits.view(np.float64)
    if bool(np.isfinite(values).all()):
        return _text_buffers(list(map(float.__repr__, values.tolist())))
    return _text_buffers([double_text(value) for value in values.tolist()])


def _maps(buf: Any, data: bytes, kv: Table, counts: list[int]) -> list[tuple[pa.Array, pa.Array]]:
    """(keys, values) of each key/value region, formatted as the reference does."""
    region = kv[:, w.KV_REGION]
    if region.size and bool((region[1:] < region[:-1]).any()):  # walk order: interleaved
        kv = kv[np.argsort(region, kind="stable")]
    kinds = np.ascontiguousarray(kv[:, w.KV_KIND])
    index, text_offsets, text_bytes = _python_texts(data, kv, kinds)
    out = []
    begin = 0
    for count in counts:
        rows = slice(begin, begin + count)
        keys = _cut(buf, kv[rows, w.KV_KEY], kv[rows, w.KV_KEY_LEN])
        double_offsets, double_bytes = _double_texts(text.doubles(buf, kv[rows], kinds[rows]))
        body, offsets, valid = text.format_values(
            buf, kv[rows], kinds[rows], index[rows], text_offsets, text_bytes,
            double_offsets, double_bytes,
        )  # fmt: skip
        out.append((keys, _strings(body, offsets, valid)))
        begin += count
    return out


def _tables(sizes: list[int]) -> list[Table]:
    """Empty tables for (resource spans, scope spans, spans, events, links, key/values)."""
    widths = (0, 3, 18, 4, 5, 7)
    return [
        np.empty((size, width), np.int64) if width else np.empty(size, np.int64)
        for size, width in zip(sizes, widths, strict=True)
    ]


def _walk(buf: Any, starts: Any, ends: Any) -> tuple[list[int], list[Table]]:
    """The compiled walk: one pass into tables sized from the bytes (a span takes 46
    bytes at least; the others are guesses far above the demo's and real SDKs' counts),
    or, when one is too small, a counting pass and then one into tables of those sizes.
    Tables are ``np.empty``: pages never written are never touched."""
    size = int(buf.size)
    counts = np.zeros(10, np.int64)
    tables = _tables([size // 32 + 1, size // 32 + 1, size // 46 + 1, size // 16 + 1,
                      size // 32 + 1, size // 12 + 1])  # fmt: skip
    code = walker.walk(buf, starts, ends, True, counts, *tables)
    if code == w.FULL:
        counts[:] = 0
        code = walker.walk(buf, starts, ends, False, counts, *_tables([0] * 6))
        if code == w.OK:
            sizes = [int(c) for c in counts[:5]] + [int(counts[9])]
            counts[:] = 0
            tables = _tables(sizes)
            code = walker.walk(buf, starts, ends, True, counts, *tables)
    if code != w.OK:
        raise Unsupported(_REASONS.get(code, "the compiled walk failed"))
    used = [int(c) for c in counts[:5]] + [int(counts[9])]
    return [int(c) for c in counts[5:9]], [table[:n] for table, n in zip(tables, used, strict=True)]


def decode_requests(payloads: list[bytes]) -> pl.DataFrame:
    """The raw frame of these ``ExportTraceServiceRequest`` bytes, as the reference builds it."""
    data = b"".join(payloads)
    buf = np.frombuffer(data, np.uint8)
    lengths = np.fromiter(map(len, payloads), np.int64, len(payloads))
    ends = np.cumsum(lengths)
    kv_counts, (resources, scopes, spans, events, links, kv) = _walk(buf, ends - lengths, ends)
    resource_map, span_map, event_map, link_map = (
        pa.MapArray.from_arrays(_offsets(owners), keys, values, type=_MAP)
        for owners, (keys, values) in zip(
            (resources, spans[:, w.SP_ATTRS], events[:, w.EV_ATTRS], links[:, w.LN_ATTRS]),
            _maps(buf, data, kv, kv_counts),
            strict=True,
        )
    )
    scope_name = _cut(
        buf, scopes[:, w.SS_NAME], scopes[:, w.SS_NAME_LEN], scopes[:, w.SS_NAME_LEN] > 0
    )
    event_struct = pa.StructArray.from_arrays(
        [
            pa.array(events[:, w.EV_TIME], pa.int64()).cast(_TS),
            _cut(buf, events[:, w.EV_NAME], events[:, w.EV_NAME_LEN]),
            event_map,
        ],
        names=["time", "name", "attributes"],
    )
    link_struct = pa.StructArray.from_arrays(
        [
            _hex(buf, links[:, w.LN_TRACE], links[:, w.LN_TRACE_LEN]),
            _hex(buf, links[:, w.LN_ID], links[:, w.LN_ID_LEN]),
            link_map,
        ],
        names=["trace_id", "span_id", "attributes"],
    )
    span_scope = pa.array(spans[:, w.SP_SCOPE].astype(np.int32))
    parent_len = spans[:, w.SP_PARENT_LEN]
    message_len = spans[:, w.SP_MESSAGE_LEN]
    table = pa.table(
        {
            "trace_id": _hex(buf, spans[:, w.SP_TRACE], spans[:, w.SP_TRACE_LEN]),
            "span_id": _hex(buf, spans[:, w.SP_ID], spans[:, w.SP_ID_LEN]),
            "parent_span_id": _hex(buf, spans[:, w.SP_PARENT], parent_len, parent_len > 0),
            "name": _cut(buf, spans[:, w.SP_NAME], spans[:, w.SP_NAME_LEN]),
            "kind": _enum_names(spans[:, w.SP_KIND], KIND_NAMES, "unspecified"),
            "start_time": pa.array(spans[:, w.SP_START], pa.int64()).cast(_TS),
            "end_time": pa.array(spans[:, w.SP_END], pa.int64()).cast(_TS),
            "status_code": _enum_names(spans[:, w.SP_CODE], STATUS_NAMES, "unset"),
            "status_message": _cut(buf, spans[:, w.SP_MESSAGE], message_len, message_len > 0),
            "scope_name": scope_name.take(span_scope),
            "attributes": span_map,
            "resource_attributes": resource_map.take(
                pa.array(scopes[:, w.SS_RESOURCE].astype(np.int32)).take(span_scope)
            ),
            "events": pa.ListArray.from_arrays(_offsets(spans[:, w.SP_EVENTS]), event_struct),
            "links": pa.ListArray.from_arrays(_offsets(spans[:, w.SP_LINKS]), link_struct),
        }
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
