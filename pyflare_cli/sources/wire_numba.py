"""Compiled (numba) walks of OTLP trace requests: one pass over the bytes, no Python objects.

Why: the NumPy walk (:mod:`pyflare_cli.sources.wire_columns`) pays a NumPy or Arrow call
per level of the message tree and per kind of value, about 10 µs a span. Here numba
compiles a plain loop over the request bytes into machine code at first use (cached on
disk, see :mod:`pyflare_cli.sources.otlp_numba`): :func:`walk` records every resource,
scope, span, event, link and key/value as rows of integer tables (offsets into the bytes,
lengths, kinds, raw numbers), :func:`format_values` writes the attribute strings as the
reference decoder spells them, and :func:`gather`/:func:`hexes` cut strings and ids out
into Arrow buffers.

Whatever the walk cannot promise to read exactly as upb and the reference do (a singular
field repeated, a known field with another wire type, groups, a span the reference
dead-letters) returns a nonzero code: the caller leaves the whole task to the reference.
Values it does not format itself (doubles, bytes, key/value lists, arrays of anything but
plain strings, integers and booleans, an AnyValue with more than one field) are marked for
the reference's own ``string_value``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

OK, BROKEN, WIRE, REPEATED, DEAD = 0, 1, 2, 3, 4
"""Return codes of :func:`walk`: read, bytes it cannot read, a known field with another wire
type, a singular field repeated, a span or event the reference dead-letters."""

NONE, STRING, BOOL, INT, DOUBLE, ARRAY, PYTHON = 0, 1, 2, 3, 4, 5, 9
"""Kinds of attribute value in the key/value table (DOUBLE and PYTHON: formatted in Python)."""

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
KV_KEY, KV_KEY_LEN, KV_KIND, KV_START, KV_LEN, KV_RAW = range(6)

_LIMIT = np.uint64(2**63)
_NULL = np.frombuffer(b"null", np.uint8)
_TRUE = np.frombuffer(b"true", np.uint8)
_FALSE = np.frombuffer(b"false", np.uint8)
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
_ZERO = np.uint64(0)


@njit(cache=True, nogil=True)
def _varint(buf, pos, end):  # type: ignore[no-untyped-def]
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
def _field(buf, pos, end):  # type: ignore[no-untyped-def]
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
def _plain_item(buf, pos, end):  # type: ignore[no-untyped-def]
    """Whether an array item (an AnyValue) is one :func:`format_values` writes as JSON."""
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
        elif not ((number == 2 or number == 3) and wire == 0):
            good = False
    return good and fields <= 1


@njit(cache=True, nogil=True)
def _plain_array(buf, pos, end):  # type: ignore[no-untyped-def]
    while pos < end:
        number, wire, _, start, length, pos = _field(buf, pos, end)
        if pos < 0 or number != 1 or wire != 2:
            return False
        if not _plain_item(buf, start, start + length):
            return False
    return True


@njit(cache=True, nogil=True)
def _any_value(buf, pos, end):  # type: ignore[no-untyped-def]
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
        else:
            kind = PYTHON
    if fields > 1 or kind == PYTHON:
        return PYTHON, begin, end - begin, _ZERO
    return kind, start, length, raw


@njit(cache=True, nogil=True)
def _key_value(buf, pos, end, fill, region, counts, kv):  # type: ignore[no-untyped-def]
    row = counts[5 + region]
    counts[5 + region] += 1
    key, key_len = 0, 0
    kind, start, length, raw = NONE, 0, 0, _ZERO
    seen = 0
    while pos < end:
        number, wire, _, vstart, vlength, pos = _field(buf, pos, end)
        if pos < 0:
            return BROKEN
        if number == 1 or number == 2:
            if wire != 2:
                return WIRE
            if seen & (1 << number):
                return REPEATED
            seen |= 1 << number
            if number == 1:
                key, key_len = vstart, vlength
            else:
                kind, start, length, raw = _any_value(buf, vstart, vstart + vlength)
                if kind < 0:
                    return BROKEN
    if fill:
        kv[row, KV_KEY] = key
        kv[row, KV_KEY_LEN] = key_len
        kv[row, KV_KIND] = kind
        kv[row, KV_START] = start
        kv[row, KV_LEN] = length
        kv[row, KV_RAW] = np.int64(raw)
    return OK


@njit(cache=True, nogil=True)
def _attributes_of(buf, pos, end, number_of_attrs, wires, fill, region, counts, kv):  # type: ignore[no-untyped-def]
    """Walk a message whose field ``number_of_attrs`` holds KeyValues; check known wires.

    ``wires[n]`` is the wire type of known field ``n`` (-1: unknown). Returns (code,
    number of attributes).
    """
    count = 0
    while pos < end:
        number, wire, _, vstart, vlength, pos = _field(buf, pos, end)
        if pos < 0:
            return BROKEN, 0
        if number < wires.size and wires[number] >= 0 and wires[number] != wire:
            return WIRE, 0
        if number == number_of_attrs:
            code = _key_value(buf, vstart, vstart + vlength, fill, region, counts, kv)
            if code != OK:
                return code, 0
            count += 1
    return OK, count


# Wire types of the known fields of each message, by field number (-1: not a known field).
_RESOURCE_WIRES = np.array([-1, 2, 0], np.int64)
_SCOPE_WIRES = np.array([-1, 2, 2, 2, 0], np.int64)
_SPAN_WIRES = np.array([-1, 2, 2, 2, 2, 2, 0, 1, 1, 2, 0, 2, 0, 2, 0, 2, 5], np.int64)
_EVENT_WIRES = np.array([-1, 1, 2, 2, 0], np.int64)
_LINK_WIRES = np.array([-1, 2, 2, 2, 2, 0, 5], np.int64)
_STATUS_WIRES = np.array([-1, -1, 2, 0], np.int64)
_SINGULAR_SPAN = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7)
_SINGULAR_SPAN |= (1 << 8) | (1 << 10) | (1 << 12) | (1 << 14) | (1 << 15) | (1 << 16)


@njit(cache=True, nogil=True)
def _singular_repeated(buf, pos, end, wires, repeated_number):  # type: ignore[no-untyped-def]
    """Whether a known singular field (every known one but ``repeated_number``) repeats."""
    seen = 0
    while pos < end:
        number, _, _, _, _, pos = _field(buf, pos, end)
        if pos < 0:
            return True
        if number < wires.size and wires[number] >= 0 and number != repeated_number:
            if seen & (1 << number):
                return True
            seen |= 1 << number
    return False


@njit(cache=True, nogil=True)
def _span(buf, pos, end, scope, fill, counts, spans, events, links, kv):  # type: ignore[no-untyped-def]
    row = counts[2]
    counts[2] += 1
    trace, trace_len, ident, ident_len, parent, parent_len = 0, 0, 0, 0, 0, 0
    name, name_len, message, message_len = 0, 0, 0, 0
    kind, code = _ZERO, _ZERO
    start, stop = _ZERO, _ZERO
    attrs, n_events, n_links = 0, 0, 0
    seen = 0
    while pos < end:
        number, wire, value, vstart, vlength, pos = _field(buf, pos, end)
        if pos < 0:
            return BROKEN
        if number < _SPAN_WIRES.size and _SPAN_WIRES[number] >= 0:
            if _SPAN_WIRES[number] != wire:
                return WIRE
            bit = 1 << number
            if _SINGULAR_SPAN & bit:
                if seen & bit:
                    return REPEATED
                seen |= bit
        if number == 1:
            trace, trace_len = vstart, vlength
        elif number == 2:
            ident, ident_len = vstart, vlength
        elif number == 4:
            parent, parent_len = vstart, vlength
        elif number == 5:
            name, name_len = vstart, vlength
        elif number == 6:
            kind = value
        elif number == 7:
            start = value
        elif number == 8:
            stop = value
        elif number == 9:
            code_kv = _key_value(buf, vstart, vstart + vlength, fill, SPAN, counts, kv)
            if code_kv != OK:
                return code_kv
            attrs += 1
        elif number == 11:
            ev = counts[3]
            counts[3] += 1
            n_events += 1
            time, ev_name, ev_name_len = _ZERO, 0, 0
            if _singular_repeated(buf, vstart, vstart + vlength, _EVENT_WIRES, 3):
                return REPEATED
            code_ev, ev_attrs = _attributes_of(
                buf, vstart, vstart + vlength, 3, _EVENT_WIRES, fill, EVENT, counts, kv
            )
            if code_ev != OK:
                return code_ev
            p, e = vstart, vstart + vlength
            while p < e:
                n2, _, v2, s2, l2, p = _field(buf, p, e)
                if n2 == 1:
                    time = v2
                elif n2 == 2:
                    ev_name, ev_name_len = s2, l2
            if time >= _LIMIT:
                return DEAD
            if fill:
                events[ev, EV_TIME] = np.int64(time)
                events[ev, EV_NAME] = ev_name
                events[ev, EV_NAME_LEN] = ev_name_len
                events[ev, EV_ATTRS] = ev_attrs
        elif number == 13:
            ln = counts[4]
            counts[4] += 1
            n_links += 1
            if _singular_repeated(buf, vstart, vstart + vlength, _LINK_WIRES, 4):
                return REPEATED
            code_ln, ln_attrs = _attributes_of(
                buf, vstart, vstart + vlength, 4, _LINK_WIRES, fill, LINK, counts, kv
            )
            if code_ln != OK:
                return code_ln
            lt, lt_len, li, li_len = 0, 0, 0, 0
            p, e = vstart, vstart + vlength
            while p < e:
                n2, _, _, s2, l2, p = _field(buf, p, e)
                if n2 == 1:
                    lt, lt_len = s2, l2
                elif n2 == 2:
                    li, li_len = s2, l2
            if fill:
                links[ln, LN_TRACE] = lt
                links[ln, LN_TRACE_LEN] = lt_len
                links[ln, LN_ID] = li
                links[ln, LN_ID_LEN] = li_len
                links[ln, LN_ATTRS] = ln_attrs
        elif number == 15:
            if _singular_repeated(buf, vstart, vstart + vlength, _STATUS_WIRES, -1):
                return REPEATED
            p, e = vstart, vstart + vlength
            while p < e:
                n2, w2, v2, s2, l2, p = _field(buf, p, e)
                if p < 0:
                    return BROKEN
                if n2 < _STATUS_WIRES.size and _STATUS_WIRES[n2] >= 0 and _STATUS_WIRES[n2] != w2:
                    return WIRE
                if n2 == 2:
                    message, message_len = s2, l2
                elif n2 == 3:
                    code = v2
    # The reference's dead-letter rules (otlp_proto.decode_request): left to it whole.
    if trace_len != 16 or ident_len != 8 or (parent_len != 0 and parent_len != 8):
        return DEAD
    if not (start > _ZERO and start <= stop and stop < _LIMIT):
        return DEAD
    nonzero_trace = False
    for i in range(trace, trace + 16):
        if buf[i] != 0:
            nonzero_trace = True
    nonzero_id = False
    for i in range(ident, ident + 8):
        if buf[i] != 0:
            nonzero_id = True
    if not (nonzero_trace and nonzero_id):
        return DEAD
    if fill:
        spans[row, SP_TRACE] = trace
        spans[row, SP_TRACE_LEN] = trace_len
        spans[row, SP_ID] = ident
        spans[row, SP_ID_LEN] = ident_len
        spans[row, SP_PARENT] = parent
        spans[row, SP_PARENT_LEN] = parent_len
        spans[row, SP_NAME] = name
        spans[row, SP_NAME_LEN] = name_len
        spans[row, SP_KIND] = np.int64(np.int32(kind & np.uint64(0xFFFFFFFF)))
        spans[row, SP_START] = np.int64(start)
        spans[row, SP_END] = np.int64(stop)
        spans[row, SP_CODE] = np.int64(np.int32(code & np.uint64(0xFFFFFFFF)))
        spans[row, SP_MESSAGE] = message
        spans[row, SP_MESSAGE_LEN] = message_len
        spans[row, SP_SCOPE] = scope
        spans[row, SP_ATTRS] = attrs
        spans[row, SP_EVENTS] = n_events
        spans[row, SP_LINKS] = n_links
    return OK


@njit(cache=True, nogil=True)
def _scope_spans(buf, pos, end, resource, fill, counts, scopes, spans, events, links, kv):  # type: ignore[no-untyped-def]
    row = counts[1]
    counts[1] += 1
    name, name_len = 0, -1
    seen_scope = False
    while pos < end:
        number, wire, _, vstart, vlength, pos = _field(buf, pos, end)
        if pos < 0:
            return BROKEN
        if (number == 1 or number == 2 or number == 3) and wire != 2:
            return WIRE
        if number == 1:
            if seen_scope:
                return REPEATED
            seen_scope = True
            if _singular_repeated(buf, vstart, vstart + vlength, _SCOPE_WIRES, 3):
                return REPEATED
            p, e = vstart, vstart + vlength
            name_len = 0
            while p < e:
                n2, w2, _, s2, l2, p = _field(buf, p, e)
                if p < 0:
                    return BROKEN
                if n2 < _SCOPE_WIRES.size and _SCOPE_WIRES[n2] >= 0 and _SCOPE_WIRES[n2] != w2:
                    return WIRE
                if n2 == 1:
                    name, name_len = s2, l2
        elif number == 2:
            code = _span(buf, vstart, vstart + vlength, row, fill, counts, spans, events, links, kv)
            if code != OK:
                return code
    if fill:
        scopes[row, SS_RESOURCE] = resource
        scopes[row, SS_NAME] = name
        scopes[row, SS_NAME_LEN] = name_len
    return OK


@njit(cache=True, nogil=True)
def walk(buf, starts, ends, fill, counts, resources, scopes, spans, events, links, kv):  # type: ignore[no-untyped-def]
    """Walk the requests ``buf[starts[i]:ends[i]]``: count (``fill`` False) or fill the tables.

    ``counts`` (9 int64, zeroed by the caller) ends as the number of resource spans,
    scope spans, spans, events, links and key/values of each region; the filling pass
    takes the same counts and the tables sized by the counting pass. Key/values are
    numbered per region; ``kv`` rows of region r start at ``counts[5 + r]`` as given.
    """
    for r in range(starts.size):
        pos, end = starts[r], ends[r]
        while pos < end:
            number, wire, _, vstart, vlength, pos = _field(buf, pos, end)
            if pos < 0:
                return BROKEN
            if number != 1:
                continue
            if wire != 2:
                return WIRE
            row = counts[0]
            counts[0] += 1
            p, e = vstart, vstart + vlength
            attrs = 0
            seen_resource = False
            while p < e:
                n2, w2, _, s2, l2, p = _field(buf, p, e)
                if p < 0:
                    return BROKEN
                if (n2 == 1 or n2 == 2 or n2 == 3) and w2 != 2:
                    return WIRE
                if n2 == 1:
                    if seen_resource:
                        return REPEATED
                    seen_resource = True
                    if _singular_repeated(buf, s2, s2 + l2, _RESOURCE_WIRES, 1):
                        return REPEATED
                    code, attrs = _attributes_of(
                        buf, s2, s2 + l2, 1, _RESOURCE_WIRES, fill, RESOURCE, counts, kv
                    )
                    if code != OK:
                        return code
                elif n2 == 2:
                    code = _scope_spans(
                        buf, s2, s2 + l2, row, fill, counts, scopes, spans, events, links, kv
                    )
                    if code != OK:
                        return code
            if fill:
                resources[row] = attrs
    return OK


@njit(cache=True, nogil=True)
def _digits(value):  # type: ignore[no-untyped-def]
    """Characters of an int64 in decimal."""
    size = 1 if value >= 0 else 2
    magnitude = np.uint64(value) if value >= 0 else np.uint64(-(value + 1)) + np.uint64(1)
    while magnitude >= np.uint64(10):
        magnitude //= np.uint64(10)
        size += 1
    return size


@njit(cache=True, nogil=True)
def _write_int(out, at, value):  # type: ignore[no-untyped-def]
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
def _item_text(buf, pos, end, out, at, write):  # type: ignore[no-untyped-def]
    """An array item as JSON (``null``, a plain string, an integer, a boolean): new ``at``."""
    if pos >= end:
        if write:
            out[at : at + 4] = _NULL
        return at + 4
    number, _, value, start, length, _ = _field(buf, pos, end)
    if number == 1:
        if write:
            out[at] = 0x22
            out[at + 1 : at + 1 + length] = buf[start : start + length]
            out[at + 1 + length] = 0x22
        return at + length + 2
    if number == 3:
        if write:
            return _write_int(out, at, np.int64(value))
        return at + _digits(np.int64(value))
    if value != _ZERO:
        if write:
            out[at : at + 4] = _TRUE
        return at + 4
    if write:
        out[at : at + 5] = _FALSE
    return at + 5


@njit(cache=True, nogil=True)
def _value_text(buf, kind, start, length, raw, extra_offsets, extra_data, extra, out, at, write):  # type: ignore[no-untyped-def]
    """Write one value's text at ``at`` (or only measure it): the position after it."""
    if kind == STRING:
        if write:
            out[at : at + length] = buf[start : start + length]
        return at + length
    if kind == INT:
        if write:
            return _write_int(out, at, raw)
        return at + _digits(raw)
    if kind == BOOL:
        if raw != 0:
            if write:
                out[at : at + 4] = _TRUE
            return at + 4
        if write:
            out[at : at + 5] = _FALSE
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
            at = _item_text(buf, s2, s2 + l2, out, at, write)
        if write:
            out[at] = 0x5D
        return at + 1
    if kind in (DOUBLE, PYTHON):
        begin, stop = extra_offsets[extra], extra_offsets[extra + 1]
        if write:
            out[at : at + stop - begin] = extra_data[begin:stop]
        return at + stop - begin
    return at


@njit(cache=True, nogil=True)
def format_values(buf, kv, kinds, extra_index, extra_offsets, extra_data):  # type: ignore[no-untyped-def]
    """The attribute strings of ``kv`` rows: (bytes, offsets, valid).

    ``kinds`` may differ from ``kv``'s (a value the reference reads as absent is NONE);
    ``extra_index[i]`` is the row of value i in the texts made in Python (``extra_*``).
    """
    n = kv.shape[0]
    offsets = np.zeros(n + 1, np.int64)
    valid = np.ones(n, np.bool_)
    empty = np.zeros(0, np.uint8)
    at = 0
    for i in range(n):
        if kinds[i] == NONE:
            valid[i] = False
        at = _value_text(
            buf, kinds[i], kv[i, KV_START], kv[i, KV_LEN], kv[i, KV_RAW],
            extra_offsets, extra_data, extra_index[i], empty, at, False,
        )  # fmt: skip
        offsets[i + 1] = at
    out = np.empty(at, np.uint8)
    for i in range(n):
        _value_text(
            buf, kinds[i], kv[i, KV_START], kv[i, KV_LEN], kv[i, KV_RAW],
            extra_offsets, extra_data, extra_index[i], out, offsets[i], True,
        )  # fmt: skip
    return out, offsets, valid


@njit(cache=True, nogil=True)
def gather(buf, starts, lengths):  # type: ignore[no-untyped-def]
    """The byte ranges concatenated, and their offsets (n + 1)."""
    n = starts.size
    offsets = np.zeros(n + 1, np.int64)
    for i in range(n):
        offsets[i + 1] = offsets[i] + max(lengths[i], 0)
    out = np.empty(offsets[n], np.uint8)
    for i in range(n):
        size = offsets[i + 1] - offsets[i]
        out[offsets[i] : offsets[i] + size] = buf[starts[i] : starts[i] + size]
    return out, offsets


@njit(cache=True, nogil=True)
def hexes(buf, starts, lengths):  # type: ignore[no-untyped-def]
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
