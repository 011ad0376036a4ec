"""A columnar buffer that decoders fill span by span and turn into one Arrow-backed frame.

Decoding OTLP needs a Python loop over spans and attributes; everything after it is
vectorised. :class:`RawBatch` is the seam: decoders append plain values to flat lists
(no per-span dicts), and :meth:`RawBatch.to_frame` builds the *raw* frame in one go:
OTLP's own fields plus the attribute maps, before any convention is applied
(see :mod:`pyflare_cli.sources.normalize`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

MAX_TIME_NS = 2**63
"""Times are stored as int64 nanoseconds: anything at or past this cannot be held."""

KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_NAMES = ("unset", "ok", "error")

_TS = pa.timestamp("ns", tz="UTC")
_MAP = pa.map_(pa.string(), pa.string())

RAW_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start_time",
    "end_time",
    "status_code",
    "status_message",
    "scope_name",
    "attributes",
    "resource_attributes",
    "events",
    "links",
)


@dataclass
class DeadLetter:
    """A record that could not be read: kept with the reason and where it was."""

    source: str
    position: str
    reason: str
    record: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "position": self.position,
            "reason": self.reason,
            "record": self.record,
        }


@dataclass
class KeyValues:
    """Flat keys/values with per-row offsets: the parts of an Arrow map column."""

    offsets: list[int] = field(default_factory=lambda: [0])
    keys: list[str] = field(default_factory=list)
    values: list[str | None] = field(default_factory=list)

    def close_row(self) -> None:
        self.offsets.append(len(self.keys))

    def add_row(self, pairs: list[tuple[str, str | None]]) -> None:
        for key, value in pairs:
            self.keys.append(key)
            self.values.append(value)
        self.offsets.append(len(self.keys))

    def to_arrow(self) -> pa.MapArray:
        return pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()),
            pa.array(self.keys, pa.string()),
            pa.array(self.values, pa.string()),
            type=_MAP,
        )


class RawBatch:
    """Column buffers for a batch of decoded spans (see module docstring)."""

    def __init__(self) -> None:
        self.trace_id: list[str] = []
        self.span_id: list[str] = []
        self.parent_span_id: list[str | None] = []
        self.name: list[str] = []
        self.kind: list[str] = []
        self.start_ns: list[int] = []
        self.end_ns: list[int] = []
        self.status_code: list[str] = []
        self.status_message: list[str | None] = []
        self.scope_name: list[str | None] = []
        self.attributes = KeyValues()
        self.resources = KeyValues()
        self.resource_index: list[int] = []
        self.event_offsets: list[int] = [0]
        self.event_time: list[int] = []
        self.event_name: list[str] = []
        self.event_attributes = KeyValues()
        self.link_offsets: list[int] = [0]
        self.link_trace_id: list[str] = []
        self.link_span_id: list[str] = []
        self.link_attributes = KeyValues()

    def __len__(self) -> int:
        return len(self.span_id)

    def add_resource(self, pairs: list[tuple[str, str | None]]) -> int:
        """Register a resource's attributes; returns the index spans refer to."""
        self.resources.add_row(pairs)
        return len(self.resources.offsets) - 2

    def to_frame(self) -> pl.DataFrame:
        """The raw frame: columns :data:`RAW_COLUMNS`, typed for normalisation."""
        n = len(self.span_id)
        events_struct = pa.StructArray.from_arrays(
            [
                pa.array(self.event_time, pa.int64()).cast(_TS),
                pa.array(self.event_name, pa.string()),
                self.event_attributes.to_arrow(),
            ],
            names=["time", "name", "attributes"],
        )
        links_struct = pa.StructArray.from_arrays(
            [
                pa.array(self.link_trace_id, pa.string()),
                pa.array(self.link_span_id, pa.string()),
                self.link_attributes.to_arrow(),
            ],
            names=["trace_id", "span_id", "attributes"],
        )
        resources = self.resources.to_arrow()
        if n and len(resources) == 0:
            resources = KeyValues(offsets=[0, 0]).to_arrow()
            self.resource_index = [0] * n
        table = pa.table(
            {
                "trace_id": pa.array(self.trace_id, pa.string()),
                "span_id": pa.array(self.span_id, pa.string()),
                "parent_span_id": pa.array(self.parent_span_id, pa.string()),
                "name": pa.array(self.name, pa.string()),
                "kind": pa.array(self.kind, pa.string()),
                "start_time": pa.array(self.start_ns, pa.int64()).cast(_TS),
                "end_time": pa.array(self.end_ns, pa.int64()).cast(_TS),
                "status_code": pa.array(self.status_code, pa.string()),
                "status_message": pa.array(self.status_message, pa.string()),
                "scope_name": pa.array(self.scope_name, pa.string()),
                "attributes": self.attributes.to_arrow(),
                "resource_attributes": resources.take(pa.array(self.resource_index, pa.int32())),
                "events": pa.ListArray.from_arrays(
                    pa.array(self.event_offsets, pa.int32()), events_struct
                ),
                "links": pa.ListArray.from_arrays(
                    pa.array(self.link_offsets, pa.int32()), links_struct
                ),
            }
        )
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame
