"""OTLP/JSON attribute values, as Arrow's JSON reader gives them, turned into attribute strings.

Why: the reference (:func:`pyflare_cli.sources.otlp_json.string_value`) runs Python for every
value of every span. Here all the values of a batch are one Arrow struct column
(``stringValue``, ``intValue``... as its fields) and become the reference's strings with
Arrow kernels: strings, bytes and canonical integers as they are, booleans as
``true``/``false``, doubles as Python's ``repr`` and arrays of such scalars as
``json.dumps`` writes them. Key/value lists and arrays of anything else go through the
reference itself, one value at a time. A value the fast path cannot promise to read as the
reference does (two kinds at once, an integer not in canonical form, NaN) is flagged, and
its whole line is left to the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pyflare_cli.sources.otlp_json import string_value

Mask = npt.NDArray[np.bool_]

_S = pa.string()
SCALARS = ("stringValue", "boolValue", "intValue", "doubleValue", "bytesValue")


def key_values_type(integers: pa.DataType) -> pa.DataType:
    """An OTLP ``attributes`` list in the reader's schema, ``intValue`` read as ``integers``
    (strings, as the spec writes int64, or numbers, as some exporters do).

    Inside arrays and key/value lists only scalars are read: deeper nesting is left to the
    reference (the reader refuses the unexpected field).
    """
    inner = pa.struct(
        [
            ("stringValue", _S),
            ("boolValue", pa.bool_()),
            ("intValue", integers),
            ("doubleValue", pa.float64()),
            ("bytesValue", _S),
        ]
    )
    entries = pa.list_(pa.struct([("key", _S), ("value", inner)]))
    any_value = pa.struct(
        [
            *((f.name, f.type) for f in inner),
            ("arrayValue", pa.struct([("values", pa.list_(inner))])),
            ("kvlistValue", pa.struct([("values", entries)])),
        ]
    )
    return pa.list_(pa.struct([("key", _S), ("value", any_value)]))


CANONICAL_INT = r"^(0|-?[1-9][0-9]*)$"
"""Integers ``str(int(text))`` gives back unchanged (no sign, zeros or spaces added)."""
PLAIN_JSON = r"^[ !#-\[\]-~]*$"
"""Printable ASCII without a quote or backslash: ``json.dumps`` writes it as it is."""


def _numpy(array: pa.Array) -> Mask:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.bool_)


def _valid(array: pa.Array) -> Mask:
    return _numpy(pc.is_valid(array))


def _matches(array: pa.Array, pattern: str) -> Mask:
    return _numpy(pc.fill_null(pc.match_substring_regex(array, pattern), False))


def doubles_text(values: pa.Array) -> tuple[pa.Array, Mask]:
    """Doubles as Python's ``repr`` writes them (nulls stay null), and which are not finite.

    Arrow's shortest formatting is ``repr``'s for 0 and magnitudes in [1e-4, 1e9) once a
    ``.0`` is added to whole numbers; the few others are formatted by Python.
    """
    numbers = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    present = _valid(values)
    finite = np.isfinite(numbers)
    at = np.flatnonzero(present & finite)
    if not at.size:
        return pa.nulls(len(values), _S), present & ~finite
    chosen = numbers[at]
    magnitude = np.abs(chosen)
    plain = (magnitude == 0) | ((magnitude >= 1e-4) & (magnitude < 1e9))
    formatted = pa.array(chosen, pa.float64()).cast(_S)
    whole = pa.array(chosen == np.floor(chosen))  # Arrow writes these without a "."
    text = pc.if_else(whole, pc.binary_join_element_wise(formatted, ".0", ""), formatted)
    odd = np.flatnonzero(~plain)
    if odd.size:
        mask = np.zeros(at.size, np.bool_)
        mask[odd] = True
        text = pc.replace_with_mask(
            text, pa.array(mask), pa.array([repr(float(x)) for x in chosen[odd]], _S)
        )
    index = np.full(len(values), -1, np.int64)
    index[at] = np.arange(at.size)
    return text.take(pa.array(index, mask=index < 0)), present & ~finite


def _scalars(values: pa.StructArray) -> tuple[dict[str, pa.Array], npt.NDArray[np.int64]]:
    """Each scalar field of ``values`` (null where the value is null) and how many are set."""
    fields = {name: pc.struct_field(values, name) for name in SCALARS}
    count = np.zeros(len(values), np.int64)
    for array in fields.values():
        count += _valid(array)
    return fields, count


def _scalar_text(fields: dict[str, pa.Array]) -> tuple[pa.Array, Mask, pa.Array]:
    """The attribute string of a one-field scalar value (null when none), flags, doubles'."""
    integers = fields["intValue"]
    if pa.types.is_integer(integers.type):
        integers, bad = integers.cast(_S), np.zeros(len(integers), np.bool_)
    else:
        bad = _valid(integers) & ~_matches(integers, CANONICAL_INT)
    doubles, not_finite = doubles_text(fields["doubleValue"])
    booleans = pc.if_else(fields["boolValue"], "true", "false")
    text = pc.coalesce(fields["stringValue"], integers, booleans, doubles, fields["bytesValue"])
    return text, bad | not_finite, doubles


def attribute_strings(values: pa.StructArray) -> tuple[pa.Array, Mask]:
    """Each AnyValue as the reference's attribute string, and which to leave to its line."""
    fields, count = _scalars(values)
    text, bad, _ = _scalar_text(fields)
    arrays = pc.struct_field(values, "arrayValue")
    kvlists = pc.struct_field(values, "kvlistValue")
    is_array, is_kvlist = _valid(arrays), _valid(kvlists)
    count += is_array
    count += is_kvlist
    bad |= count > 1
    by_reference = is_kvlist.copy()
    if is_array.any():
        at = np.flatnonzero(is_array)
        joined, plain, odd_items = _json_arrays(pc.struct_field(arrays, "values").take(at))
        bad[at] |= odd_items
        mask = np.zeros(len(values), np.bool_)
        mask[at[plain]] = True
        text = pc.replace_with_mask(text, pa.array(mask), joined.filter(pa.array(plain)))
        by_reference[at[~plain]] = True
    if is_kvlist.any():
        entries = pc.struct_field(kvlists, "values")
        inner = pc.struct_field(pc.list_flatten(entries), "value")
        bad |= _owners_of(_inner_bad(inner), entries)
    chosen = np.flatnonzero(by_reference & ~bad)
    if chosen.size:
        documents = values.take(pa.array(chosen)).to_pylist()
        texts = [string_value(_present(document)) for document in documents]
        mask = np.zeros(len(values), np.bool_)
        mask[chosen] = True
        text = pc.replace_with_mask(text, pa.array(mask), pa.array(texts, _S))
    return text, bad


def _inner_bad(items: pa.StructArray) -> Mask:
    """Array items or key/value list values that the reference could read differently."""
    fields, count = _scalars(items)
    _, bad, _ = _scalar_text(fields)
    return bad | (count > 1)


def _owners_of(item_flags: Mask, lists: pa.Array) -> Mask:
    """Per list of ``lists``, whether any of its items is flagged."""
    owners = np.asarray(pc.list_parent_indices(lists).to_numpy(), np.int64)
    flagged = np.zeros(len(lists), np.bool_)
    flagged[owners[item_flags]] = True
    return flagged


def _json_arrays(lists: pa.Array) -> tuple[pa.Array, Mask, Mask]:
    """Arrays of plain scalars as ``json.dumps`` writes them; which are plain; which are odd.

    Plain items: printable-ASCII strings and bytes without quote or backslash (quoted as
    they are), canonical integers, booleans, doubles. Other arrays are left to the
    reference (:func:`string_value`); arrays with an odd item to the reference's line.
    """
    items = pc.list_flatten(lists)
    fields, count = _scalars(items)
    text, bad, _ = _scalar_text(fields)
    quoted = _valid(fields["stringValue"]) | _valid(fields["bytesValue"])
    plain = (count == 1) & (~quoted | _matches(text, PLAIN_JSON))
    text = pc.if_else(pa.array(quoted), pc.binary_join_element_wise('"', text, '"', ""), text)
    lengths = np.asarray(pc.fill_null(pc.list_value_length(lists), 0).to_numpy(), np.int64)
    offsets = np.zeros(lengths.size + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    joined = pc.binary_join(
        pa.ListArray.from_arrays(pa.array(offsets), pc.fill_null(text, "")), ","
    )
    whole = pc.binary_join_element_wise("[", joined, "]", "")
    return whole, ~_owners_of(~plain, lists), _owners_of(bad | (count > 1), lists)


def _present(value: Any) -> Any:
    """A value read back from Arrow without the fields the document did not have."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value
