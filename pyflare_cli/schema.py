"""The canonical span schema: one row per span, the contract between readers, store and analyses.

Every source is normalised to exactly these columns (see DESIGN.md, "The canonical span").
The Arrow schema is what goes into Parquet; Polars (>= 2) reads the map columns back as
``pl.Map(String, String)``, which is what :data:`POLARS_SCHEMA` describes.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import pyarrow as pa

SCHEMA_VERSION = 2
"""Written to every Parquet file as ``pyflare.schema_version``; readers accept <= this.
Version 2 adds ``category_attributes`` after the canonical columns (a subset of
``attributes``, :mod:`pyflare_cli.store.category`); scans read parts of both versions."""

SCHEMA_VERSION_KEY = b"pyflare.schema_version"


_PL_KV = pl.Map(pl.String, pl.String)
_PL_TS = pl.Datetime("ns", "UTC")

POLARS_SCHEMA: dict[str, pl.DataType] = {
    "trace_id": pl.String(),
    "span_id": pl.String(),
    "parent_span_id": pl.String(),
    "name": pl.String(),
    "kind": pl.String(),
    "start_time": _PL_TS,
    "end_time": _PL_TS,
    "duration_ns": pl.Int64(),
    "status_code": pl.String(),
    "status_message": pl.String(),
    "service_name": pl.String(),
    "service_version": pl.String(),
    "environment": pl.String(),
    "scope_name": pl.String(),
    "ai_kind": pl.String(),
    "provider": pl.String(),
    "model": pl.String(),
    "request_model": pl.String(),
    "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
    "total_tokens": pl.Int64(),
    "cache_read_tokens": pl.Int64(),
    "cache_write_tokens": pl.Int64(),
    "reasoning_tokens": pl.Int64(),
    "reported_cost_usd": pl.Float64(),
    "finish_reason": pl.String(),
    "tool_name": pl.String(),
    "agent_name": pl.String(),
    "user_id": pl.String(),
    "session_id": pl.String(),
    "input_text": pl.String(),
    "output_text": pl.String(),
    "error_type": pl.String(),
    "error_message": pl.String(),
    "embedding": pl.List(pl.Float32),
    "attributes": _PL_KV,
    "resource_attributes": _PL_KV,
    "events": pl.List(pl.Struct({"time": _PL_TS, "name": pl.String, "attributes": _PL_KV})),
    "links": pl.List(
        pl.Struct({"trace_id": pl.String, "span_id": pl.String, "attributes": _PL_KV})
    ),
}

COLUMNS: tuple[str, ...] = tuple(POLARS_SCHEMA)


@cache
def arrow_schema() -> pa.Schema:
    """The Arrow schema written to Parquet (strings, not large strings; maps as maps).

    Built on first use so that commands that only read never import PyArrow.
    """
    import pyarrow as pa

    str_map = pa.map_(pa.string(), pa.string())
    ts = pa.timestamp("ns", tz="UTC")

    schema = pa.schema(
        [
            ("trace_id", pa.string()),
            ("span_id", pa.string()),
            ("parent_span_id", pa.string()),
            ("name", pa.string()),
            ("kind", pa.string()),
            ("start_time", ts),
            ("end_time", ts),
            ("duration_ns", pa.int64()),
            ("status_code", pa.string()),
            ("status_message", pa.string()),
            ("service_name", pa.string()),
            ("service_version", pa.string()),
            ("environment", pa.string()),
            ("scope_name", pa.string()),
            ("ai_kind", pa.string()),
            ("provider", pa.string()),
            ("model", pa.string()),
            ("request_model", pa.string()),
            ("input_tokens", pa.int64()),
            ("output_tokens", pa.int64()),
            ("total_tokens", pa.int64()),
            ("cache_read_tokens", pa.int64()),
            ("cache_write_tokens", pa.int64()),
            ("reasoning_tokens", pa.int64()),
            ("reported_cost_usd", pa.float64()),
            ("finish_reason", pa.string()),
            ("tool_name", pa.string()),
            ("agent_name", pa.string()),
            ("user_id", pa.string()),
            ("session_id", pa.string()),
            ("input_text", pa.string()),
            ("output_text", pa.string()),
            ("error_type", pa.string()),
            ("error_message", pa.string()),
            ("embedding", pa.list_(pa.float32())),
            ("attributes", str_map),
            ("resource_attributes", str_map),
            (
                "events",
                pa.list_(pa.struct([("time", ts), ("name", pa.string()), ("attributes", str_map)])),
            ),
            (
                "links",
                pa.list_(
                    pa.struct(
                        [
                            ("trace_id", pa.string()),
                            ("span_id", pa.string()),
                            ("attributes", str_map),
                        ]
                    )
                ),
            ),
        ]
    )

    return schema


SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_CODES = ("unset", "ok", "error")
AI_KINDS = (
    "llm",
    "embedding",
    "retriever",
    "reranker",
    "tool",
    "agent",
    "chain",
    "guardrail",
    "evaluator",
    "workflow",
    "prompt",
)


def empty_frame() -> pl.DataFrame:
    """A frame with no rows and the canonical columns and types."""
    return pl.DataFrame(schema=POLARS_SCHEMA)


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    """Convert a canonical Polars frame to an Arrow table of exactly :func:`arrow_schema`."""
    return frame.select(COLUMNS).to_arrow().cast(arrow_schema())
