# mypy: disable-error-code="no-untyped-def"
# (numba types these kernels from their arguments at run time; annotations would be ignored)
"""Compiled writing of the decoded columns' bytes: attribute texts, strings and hex ids.

:func:`format_values` writes the attribute strings as the reference decoder spells them
(strings, integers, booleans, bytes as base64, arrays of plain scalars as JSON; doubles
from texts Python's ``repr`` made, see :func:`doubles`; the rest from the reference's own
texts); :func:`gather` and :func:`hexes` cut strings and ids out of the request bytes.
The results are Arrow buffers (bytes and offsets), no Python object per value.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pyflare_cli.sources.wire_numba import (
    _FALSE,
    _HEX_DIGITS,
    _NULL,
    _TRUE,
    _ZERO,
    ARRAY,
    BOOL,
    BYTES,
    DOUBLE,
    INT,
    KV_LEN,
    KV_RAW,
    KV_START,
    NONE,
    PYTHON,
    STRING,
    _field,
)


@njit(cache=True, nogil=True)
def _copy(out, at, source, start, length):
    """``out[at:at + length] = source[start:start + length]`` without slices: a slice is
    an array view, whose reference counting cost ~60 ns a value in the hot loops."""
    for i in range(length):
        out[at + i] = source[start + i]


@njit(cache=True, nogil=True)
def _put(out, at, source):
    for i in range(source.size):
        out[at + i] = source[i]


@njit(cache=True, nogil=True)
def _digits(value):
    """Characters of an int64 in decimal."""
    size = 1 if value >= 0 else 2
    magnitude = np.uint64(value) if value >= 0 else np.uint64(-(value + 1)) + np.uint64(1)
    while magnitude >= np.uint64(10):
        magnitude //= np.uint64(10)
        size += 1
    return size


@njit(cache=True, nogil=True)
def _write_int(out, at, value):
    size = _digits(value)
    magnitude = np.uint64(value) if value >= 0 else np.uint64(-(value + 1)) + np.uint64(1)
    if value < 0:
        out[at] = 0x2D
    i = at + size - 1
    while True:
        out[i] = 0x30 + np.uint8(magnitude % np.uint64(10))
        magnitude //= np.uint64(10)
        i -= 1
        if magnitude == np.uint64(0):
            break
    return at + size


@njit(cache=True, nogil=True)
def _item_text(buf, pos, end, out, at, write, texts, text_data, cursor):
    """An array item as JSON (``null``, a plain string, an integer, a boolean, a double:
    the next of the double ``texts``, ``cursor[0]``): the new ``at``."""
    if pos >= end:
        if write:
            _put(out, at, _NULL)
        return at + 4
    number, _, value, start, length, _ = _field(buf, pos, end)
    if number == 4:
        return _double_text(out, at, write, texts, text_data, cursor)
    if number == 1:
        if write:
            out[at] = 0x22
            _copy(out, at + 1, buf, start, length)
            out[at + 1 + length] = 0x22
        return at + length + 2
    if number == 3:
        if write:
            return _write_int(out, at, np.int64(value))
        return at + _digits(np.int64(value))
    if value != _ZERO:
        if write:
            _put(out, at, _TRUE)
        return at + 4
    if write:
        _put(out, at, _FALSE)
    return at + 5


@njit(cache=True, nogil=True)
def _double_text(out, at, write, texts, text_data, cursor):
    begin, stop = texts[cursor[0]], texts[cursor[0] + 1]
    cursor[0] += 1
    if write:
        _copy(out, at, text_data, begin, stop - begin)
    return at + stop - begin


_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", np.uint8)


@njit(cache=True, nogil=True)
def _base64(buf, start, length, out, at, write):
    """Standard base64 with padding (``base64.b64encode``): the position after it."""
    size = 4 * ((length + 2) // 3)
    if not write:
        return at + size
    i = 0
    while i + 3 <= length:
        chunk = (np.int64(buf[start + i]) << 16) | (np.int64(buf[start + i + 1]) << 8)
        chunk |= np.int64(buf[start + i + 2])
        out[at] = _B64[(chunk >> 18) & 63]
        out[at + 1] = _B64[(chunk >> 12) & 63]
        out[at + 2] = _B64[(chunk >> 6) & 63]
        out[at + 3] = _B64[chunk & 63]
        at += 4
        i += 3
    rest = length - i
    if rest > 0:
        chunk = np.int64(buf[start + i]) << 16
        if rest == 2:
            chunk |= np.int64(buf[start + i + 1]) << 8
        out[at] = _B64[(chunk >> 18) & 63]
        out[at + 1] = _B64[(chunk >> 12) & 63]
        out[at + 2] = _B64[(chunk >> 6) & 63] if rest == 2 else 0x3D
        out[at + 3] = 0x3D
        at += 4
    return at


@njit(cache=True, nogil=True)
def _value_text(
    buf,
    kind,
    start,
    length,
    raw,
    extra_offsets,
    extra_data,
    extra,
    out,
    at,
    write,
    texts,
    text_data,
    cursor,
):
    """Write one value's text at ``at`` (or only measure it): the position after it."""
    if kind == DOUBLE:
        return _double_text(out, at, write, texts, text_data, cursor)
    if kind == BYTES:
        return _base64(buf, start, length, out, at, write)
    if kind == STRING:
        if write:
            _copy(out, at, buf, start, length)
        return at + length
    if kind == INT:
        if write:
            return _write_int(out, at, raw)
        return at + _digits(raw)
    if kind == BOOL:
        if raw != 0:
            if write:
                _put(out, at, _TRUE)
            return at + 4
        if write:
            _put(out, at, _FALSE)
        return at + 5
    if kind == ARRAY:
        if write:
            out[at] = 0x5B
        at += 1
        pos, end = start, start + length
        first = True
        while pos < end:
            _, _, _, s2, l2, pos = _field(buf, pos, end)
            if not first:
                if write:
                    out[at] = 0x2C
                at += 1
            first = False
            at = _item_text(buf, s2, s2 + l2, out, at, write, texts, text_data, cursor)
        if write:
            out[at] = 0x5D
        return at + 1
    if kind == PYTHON:
        begin, stop = extra_offsets[extra], extra_offsets[extra + 1]
        if write:
            _copy(out, at, extra_data, begin, stop - begin)
        return at + stop - begin
    return at


@njit(cache=True, nogil=True)
def doubles(buf, kv, kinds):
    """The bits of every double of these values, alone or in arrays, in writing order."""
    out = np.empty(kv.shape[0], np.uint64)
    count = 0
    for i in range(kv.shape[0]):
        if kinds[i] == DOUBLE:
            if count == out.size:
                out = np.concatenate((out, np.empty(out.size + 16, np.uint64)))
            out[count] = np.uint64(kv[i, KV_RAW])
            count += 1
        elif kinds[i] == ARRAY:
            pos, end = kv[i, KV_START], kv[i, KV_START] + kv[i, KV_LEN]
            while pos < end:
                _, _, _, s2, l2, pos = _field(buf, pos, end)
                if l2 == 0:
                    continue
                number, _, value, _, _, _ = _field(buf, s2, s2 + l2)
                if number == 4:
                    if count == out.size:
                        out = np.concatenate((out, np.empty(out.size + 16, np.uint64)))
                    out[count] = value
                    count += 1
    return out[:count]


@njit(cache=True, nogil=True)
def format_values(buf, kv, kinds, extra_index, extra_offsets, extra_data, texts, text_data):
    """The attribute strings of ``kv`` rows: (bytes, offsets, valid).

    ``kinds`` may differ from ``kv``'s (a value the reference reads as absent is NONE);
    ``extra_index[i]`` is the row of value i in the texts made in Python (``extra_*``);
    ``texts``/``text_data`` the texts of :func:`doubles`, in its order.
    """
    n = kv.shape[0]
    offsets = np.zeros(n + 1, np.int64)
    valid = np.ones(n, np.bool_)
    empty = np.zeros(0, np.uint8)
    cursor = np.zeros(1, np.int64)
    at = 0
    # Strings and absent values, most of them, are handled in the loop: a call of
    # _value_text costs ~60 ns however little it does.
    for i in range(n):
        kind = kinds[i]
        if kind == STRING:
            at += kv[i, KV_LEN]
        elif kind == NONE:
            valid[i] = False
        elif kind == INT:
            at += _digits(kv[i, KV_RAW])
        elif kind == BOOL:
            at += 4 if kv[i, KV_RAW] != 0 else 5
        elif kind == DOUBLE:
            at += texts[cursor[0] + 1] - texts[cursor[0]]
            cursor[0] += 1
        else:
            at = _value_text(
                buf, kind, kv[i, KV_START], kv[i, KV_LEN], kv[i, KV_RAW],
                extra_offsets, extra_data, extra_index[i], empty, at, False, texts, text_data,
                cursor,
            )  # fmt: skip
        offsets[i + 1] = at
    out = np.empty(at, np.uint8)
    cursor[0] = 0
    for i in range(n):
        kind = kinds[i]
        if kind == STRING:
            start, at = kv[i, KV_START], offsets[i]
            for j in range(kv[i, KV_LEN]):
                out[at + j] = buf[start + j]
        elif kind == INT:
            _write_int(out, offsets[i], kv[i, KV_RAW])
        elif kind == BOOL:
            _put(out, offsets[i], _TRUE if kv[i, KV_RAW] != 0 else _FALSE)
        elif kind == DOUBLE:
            begin, at = texts[cursor[0]], offsets[i]
            for j in range(texts[cursor[0] + 1] - begin):
                out[at + j] = text_data[begin + j]
            cursor[0] += 1
        elif kind != NONE:
            _value_text(
                buf, kind, kv[i, KV_START], kv[i, KV_LEN], kv[i, KV_RAW],
                extra_offsets, extra_data, extra_index[i], out, offsets[i], True, texts,
                text_data, cursor,
            )  # fmt: skip
    return out, offsets, valid


@njit(cache=True, nogil=True)
def gather(buf, starts, lengths):
    """The byte ranges concatenated, and their offsets (n + 1)."""
    n = starts.size
    offsets = np.zeros(n + 1, np.int64)
    for i in range(n):
        offsets[i + 1] = offsets[i] + max(lengths[i], 0)
    out = np.empty(offsets[n], np.uint8)
    for i in range(n):
        size = offsets[i + 1] - offsets[i]
        _copy(out, offsets[i], buf, starts[i], size)
    return out, offsets


@njit(cache=True, nogil=True)
def hexes(buf, starts, lengths):
    """The byte ranges as lowercase hex (``bytes.hex()``), and their offsets (n + 1)."""
    n = starts.size
    offsets = np.zeros(n + 1, np.int64)
    for i in range(n):
        offsets[i + 1] = offsets[i] + 2 * lengths[i]
    out = np.empty(offsets[n], np.uint8)
    for i in range(n):
        at = offsets[i]
        for j in range(lengths[i]):
            byte = buf[starts[i] + j]
            out[at] = _HEX_DIGITS[byte >> 4]
            out[at + 1] = _HEX_DIGITS[byte & 15]
            at += 2
    return out, offsets
