"""A small second attribute map per part, so analyses that group by a few keys stop
decoding prompt payloads.

``attributes`` keeps every attribute (DESIGN.md), GenAI message payloads included: about
576 MiB of uncompressed pages per million demo spans. rca's dimensions read a handful of
keys, yet Polars decodes the whole map column to look them up. Each part written since
schema version 2 also holds ``category_attributes``: the attributes whose key may name a
category (:func:`pyflare_cli.semconv.is_category_key`: not an id, payload, indexed array
or a key already promoted to a column) and whose value is at most
:data:`MAX_VALUE_BYTES` bytes (3.5 MiB of pages on the same million spans).

The part's footer lists the category keys it left out for a longer value, so the choice
between the two maps is exact (:func:`small_map_serves`): a reader gets the small map
only when every part it scans has it and none of the keys it reads was left out of any
of them. Older parts, or a key left out once, and the reader reads ``attributes``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pyflare_cli.semconv import is_category_key

if TYPE_CHECKING:
    import pyarrow as pa

CATEGORY_COLUMN = "category_attributes"
MAX_VALUE_BYTES = 256
"""Values longer than this stay in ``attributes`` only. Category values (routes, regions,
model and database names, methods, flags) are tens of bytes; 256 keeps any of them and
bounds the column when an unexpected key carries a paragraph."""
RULE = "1"
"""Which keys and lengths the column holds (1: ``is_category_key`` and 256 bytes as of
schema version 2). A part written under another rule is read as if it had no column."""
RULE_KEY = b"pyflare.category_attributes"
LONG_KEYS_KEY = b"pyflare.category_long_keys"
MAX_LISTED = 1000
"""More category keys left out than this in one part: the footer says ``*`` (any key),
and readers of that part use ``attributes``."""
ANY = "*"


@dataclass(frozen=True)
class AttributeReads:
    """What a reader reads of the span attributes: ``keys`` by name, and with
    ``any_category`` any category key it finds (rca's dimension discovery)."""

    keys: frozenset[str] = frozenset()
    any_category: bool = False


def category_map(attributes: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, list[str]]:
    """The ``category_attributes`` column for an ``attributes`` map column, and the
    category keys left out because a value was longer than :data:`MAX_VALUE_BYTES`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    maps = attributes.combine_chunks() if isinstance(attributes, pa.ChunkedArray) else attributes
    offsets = maps.offsets.to_numpy().astype(np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    keys = maps.keys.slice(first, last - first)
    items = maps.items.slice(first, last - first)
    names = [k for k in pc.unique(keys).to_pylist() if k is not None and is_category_key(k)]
    category = pc.is_in(keys, value_set=pa.array(names, pa.string()))
    short = pc.fill_null(pc.less_equal(pc.binary_length(items), MAX_VALUE_BYTES), True)
    keep = pc.and_(category, short)
    left_out = pc.unique(pc.filter(keys, pc.and_(category, pc.invert(short)))).to_pylist()
    kept = np.concatenate([[0], np.cumsum(keep.to_numpy(zero_copy_only=False), dtype=np.int64)])
    small = pa.MapArray.from_arrays(
        pa.array(kept[offsets - first], pa.int32()),
        pc.filter(keys, keep),
        pc.filter(items, keep),
        mask=maps.is_null() if maps.null_count else None,
    )
    return small, sorted(str(k) for k in left_out)


def with_category_map(table: pa.Table) -> pa.Table:
    """``table`` (canonical columns) with ``category_attributes`` appended and its footer
    entries added to the schema metadata."""
    small, left_out = category_map(table.column("attributes"))
    listed = json.dumps(left_out) if len(left_out) <= MAX_LISTED else ANY
    metadata = dict(table.schema.metadata or {})
    metadata[RULE_KEY] = RULE.encode()
    metadata[LONG_KEYS_KEY] = listed.encode()
    table = table.append_column(CATEGORY_COLUMN, small)
    return table.replace_schema_metadata(metadata)


_FOOTERS: dict[tuple[str, int, int], frozenset[str] | None] = {}
"""Per part (path, size, mtime): the category keys it left out (``{"*"}``: unknown), or
None when it has no small map of this rule. Parts never change in place."""


def left_out_keys(path: Path) -> frozenset[str] | None:
    """The category keys part ``path`` left out of its small map, or None without one."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _FOOTERS:
        with path.open("rb") as handle:  # Polars reads a path as a glob
            metadata = pl.read_parquet_metadata(handle)
        rule = metadata.get(RULE_KEY.decode())
        listed = metadata.get(LONG_KEYS_KEY.decode())
        if rule != RULE or listed is None:
            _FOOTERS[key] = None
        else:
            _FOOTERS[key] = frozenset([ANY] if listed == ANY else json.loads(listed))
    return _FOOTERS[key]


def small_map_serves(files: list[Path], reads: AttributeReads) -> bool:
    """Whether ``category_attributes`` gives a reader of ``reads`` exactly what
    ``attributes`` gives, in every part of ``files``."""
    if not files or not all(is_category_key(k) for k in reads.keys):
        return False
    for path in files:
        left_out = left_out_keys(path)
        if left_out is None or ANY in left_out:
            return False
        if (reads.any_category and left_out) or reads.keys & left_out:
            return False
    return True
