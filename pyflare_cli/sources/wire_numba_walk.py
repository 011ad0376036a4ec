# mypy: disable-error-code="no-untyped-def"
# (numba types these kernels from their arguments at run time; annotations would be ignored)
"""The compiled walk of OTLP trace requests (:func:`walk`): one pass over the bytes.

Records every resource, scope, span, event, link and key/value of a task's requests as
rows of integer tables (offsets into the bytes, lengths, kinds, raw numbers), with the
column layout of :mod:`pyflare_cli.sources.wire_numba`; strings are not copied here. It
returns a nonzero code for whatever it cannot promise to read as upb and the reference do.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pyflare_cli.sources.wire_numba import (
    _LIMIT,
    _ZERO,
    BROKEN,
    DEAD,
    EV_ATTRS,
    EV_NAME,
    EV_NAME_LEN,
    EV_TIME,
    EVENT,
    FULL,
    KV_KEY,
    KV_KEY_LEN,
    KV_KIND,
    KV_LEN,
    KV_RAW,
    KV_REGION,
    KV_START,
    LINK,
    LN_ATTRS,
    LN_ID,
    LN_ID_LEN,
    LN_TRACE,
    LN_TRACE_LEN,
    NONE,
    OK,
    REPEATED,
    RESOURCE,
    SP_ATTRS,
    SP_CODE,
    SP_END,
    SP_EVENTS,
    SP_ID,
    SP_ID_LEN,
    SP_KIND,
    SP_LINKS,
    SP_MESSAGE,
    SP_MESSAGE_LEN,
    SP_NAME,
    SP_NAME_LEN,
    SP_PARENT,
    SP_PARENT_LEN,
    SP_SCOPE,
    SP_START,
    SP_TRACE,
    SP_TRACE_LEN,
    SPAN,
    SS_NAME,
    SS_NAME_LEN,
    SS_RESOURCE,
    WIRE,
    _any_value,
    _field,
)


@njit(cache=True, nogil=True)
def _key_value(buf, pos, end, fill, region, counts, kv):
    row = counts[9]
    counts[9] += 1
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
        if row >= kv.shape[0]:
            return FULL
        kv[row, KV_REGION] = region
        kv[row, KV_KEY] = key
        kv[row, KV_KEY_LEN] = key_len
        kv[row, KV_KIND] = kind
        kv[row, KV_START] = start
        kv[row, KV_LEN] = length
        kv[row, KV_RAW] = np.int64(raw)
    return OK


@njit(cache=True, nogil=True)
def _attributes_of(buf, pos, end, number_of_attrs, wires, fill, region, counts, kv):
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
def _singular_repeated(buf, pos, end, wires, repeated_number):
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
def _span(buf, pos, end, scope, fill, counts, spans, events, links, kv):
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
                if ev >= events.shape[0]:
                    return FULL
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
                if ln >= links.shape[0]:
                    return FULL
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
        if row >= spans.shape[0]:
            return FULL
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
def _scope_spans(buf, pos, end, resource, fill, counts, scopes, spans, events, links, kv):
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
        if row >= scopes.shape[0]:
            return FULL
        scopes[row, SS_RESOURCE] = resource
        scopes[row, SS_NAME] = name
        scopes[row, SS_NAME_LEN] = name_len
    return OK


@njit(cache=True, nogil=True)
def walk(buf, starts, ends, fill, counts, resources, scopes, spans, events, links, kv):
    """Walk the requests ``buf[starts[i]:ends[i]]``: count (``fill`` False) or fill the tables.

    ``counts`` (10 int64, zeroed by the caller) ends as the number of resource spans,
    scope spans, spans, events, links, key/values of each region (resource, span, event,
    link) and key/values in all. Filling stops with FULL when a table is too small: the
    caller then counts first. Key/values are rows in walk order, ``KV_REGION`` saying whose.
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
                if row >= resources.shape[0]:
                    return FULL
                resources[row] = attrs
    return OK
