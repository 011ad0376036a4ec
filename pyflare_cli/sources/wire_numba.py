# mypy: disable-error-code="no-untyped-def"
# (numba types these kernels from their arguments at run time; annotations would be ignored)
"""Compiled (numba) reading of the protobuf wire format: the primitives and the tables' layout.

Why: the NumPy walk (:mod:`pyflare_cli.sources.wire_columns`) pays a NumPy or Arrow call
per level of the message tree and per kind of value, about 10 µs a span. numba compiles
plain loops over the request bytes into machine code at first use (cached on disk, see
:mod:`pyflare_cli.sources.otlp_numba`): :mod:`~pyflare_cli.sources.wire_numba_walk` records
the message tree as integer tables whose columns are named here, and
:mod:`~pyflare_cli.sources.wire_numba_text` writes the strings into Arrow buffers. This
module holds what both use: reading one varint or field, the codes, kinds and columns.
"""

from __future__ import annotations

import numpy as np
from numba import njit

OK, BROKEN, WIRE, REPEATED, DEAD, FULL = 0, 1, 2, 3, 4, 5
"""Return codes of :func:`walk`: read, bytes it cannot read, a known field with another wire
type, a singular field repeated, a span or event the reference dead-letters, a table too
small (walk again with the counts)."""

NONE, STRING, BOOL, INT, DOUBLE, ARRAY, BYTES, PYTHON = 0, 1, 2, 3, 4, 5, 6, 9
"""Kinds of attribute value in the key/value table (PYTHON: formatted by the reference; the
texts of doubles, alone or in arrays, are made by Python's ``repr``, see :func:`doubles`)."""

RESOURCE, SPAN, EVENT, LINK = 0, 1, 2, 3
"""The four key/value regions: resource, span, event and link attributes."""

# Columns of the tables walk fills.
SS_RESOURCE, SS_NAME, SS_NAME_LEN = 0, 1, 2
(
    SP_TRACE,
    SP_TRACE_LEN,
    SP_ID,
    SP_ID_LEN,
    SP_PARENT,
    SP_PARENT_LEN,
    SP_NAME,
    SP_NAME_LEN,
    SP_KIND,
    SP_START,
    SP_END,
    SP_CODE,
    SP_MESSAGE,
    SP_MESSAGE_LEN,
    SP_SCOPE,
    SP_ATTRS,
    SP_EVENTS,
    SP_LINKS,
) = range(18)
EV_TIME, EV_NAME, EV_NAME_LEN, EV_ATTRS = range(4)
LN_TRACE, LN_TRACE_LEN, LN_ID, LN_ID_LEN, LN_ATTRS = range(5)
KV_KEY, KV_KEY_LEN, KV_KIND, KV_START, KV_LEN, KV_RAW, KV_REGION = range(7)

_LIMIT = np.uint64(2**63)
_NULL = np.frombuffer(b"null", np.uint8)
_TRUE = np.frombuffer(b"true", np.uint8)
_FALSE = np.frombuffer(b"false", np.uint8)
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
_ZERO = np.uint64(0)


@njit(cache=True, nogil=True)
def _varint(buf, pos, end):
    """(value, position after it), position -1 when it runs past ``end`` or 10 bytes."""
    result = np.uint64(0)
    shift = np.uint64(0)
    for _ in range(10):
        if pos >= end:
            return np.uint64(0), -1
        byte = buf[pos]
        pos += 1
        result |= np.uint64(byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += np.uint64(7)
    return np.uint64(0), -1


@njit(cache=True, nogil=True)
def _field(buf, pos, end):
    """One field at ``pos``: (number, wire, value, payload start, payload length, next).

    ``next`` is -1 when the field cannot be read (groups, a field past ``end``).
    """
    tag, pos = _varint(buf, pos, end)
    if pos < 0:
        return 0, 0, _ZERO, 0, 0, -1
    wire = np.int64(tag & np.uint64(7))
    number = np.int64(tag >> np.uint64(3))
    if wire == 0:
        value, pos = _varint(buf, pos, end)
        return number, wire, value, 0, 0, pos
    if wire == 2:
        size, body = _varint(buf, pos, end)
        if body < 0 or size > np.uint64(end - body):
            return 0, 0, _ZERO, 0, 0, -1
        length = np.int64(size)
        return number, wire, _ZERO, body, length, body + length
    if wire == 1 or wire == 5:
        width = 8 if wire == 1 else 4
        if pos + width > end:
            return 0, 0, _ZERO, 0, 0, -1
        value = np.uint64(0)
        for i in range(width):
            value |= np.uint64(buf[pos + i]) << np.uint64(8 * i)
        return number, wire, value, pos, width, pos + width
    return 0, 0, _ZERO, 0, 0, -1


@njit(cache=True, nogil=True)
def _plain_item(buf, pos, end):
    """Whether an array item (an AnyValue) is one :func:`format_values` writes as JSON:
    nothing, a string of printable ASCII without quote or backslash, an int, bool or double."""
    fields = 0
    good = True
    while pos < end:
        number, wire, _, start, length, pos = _field(buf, pos, end)
        if pos < 0:
            return False
        fields += 1
        if number == 1 and wire == 2:
            for i in range(start, start + length):
                byte = buf[i]
                if byte < 0x20 or byte > 0x7E or byte == 0x22 or byte == 0x5C:
                    good = False
        elif not (((number == 2 or number == 3) and wire == 0) or (number == 4 and wire == 1)):
            good = False
    return good and fields <= 1


@njit(cache=True, nogil=True)
def _plain_array(buf, pos, end):
    while pos < end:
        number, wire, _, start, length, pos = _field(buf, pos, end)
        if pos < 0 or number != 1 or wire != 2:
            return False
        if not _plain_item(buf, start, start + length):
            return False
    return True


@njit(cache=True, nogil=True)
def _any_value(buf, pos, end):
    """(kind, start, length, raw) of an AnyValue's bytes (see the kinds above)."""
    begin = pos
    fields = 0
    kind, start, length, raw = NONE, 0, 0, _ZERO
    while pos < end:
        number, wire, value, vstart, vlength, pos = _field(buf, pos, end)
        if pos < 0:
            return -1, 0, 0, _ZERO
        fields += 1
        raw = value
        start, length = vstart, vlength
        if number == 1 and wire == 2:
            kind = STRING
        elif number == 2 and wire == 0:
            kind = BOOL
        elif number == 3 and wire == 0:
            kind = INT
        elif number == 4 and wire == 1:
            kind = DOUBLE
        elif number == 5 and wire == 2 and _plain_array(buf, vstart, vstart + vlength):
            kind = ARRAY
        elif number == 7 and wire == 2:
            kind = BYTES
        else:
            kind = PYTHON
    if fields > 1 or kind == PYTHON:
        return PYTHON, begin, end - begin, _ZERO
    return kind, start, length, raw
