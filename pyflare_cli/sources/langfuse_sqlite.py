"""Read the SQLite database a Langfuse exporter writes (tables traces, generations, spans).

The analytics design pyflare was given keeps Langfuse data in three tables: ``traces``
(id, name, user_id, session_id, a ``trace_metadata`` JSON with agent_name, release and
tags), ``generations`` (model, model_parameters, input, output, input/output/total
tokens and costs, latency_ms, start, completion start and end times, level,
status_message) and ``spans``. Each row is turned into the public API's record shape and
read by :mod:`pyflare_cli.sources.langfuse`, so both exports map the same way. Column
names are matched loosely (``trace_metadata`` or ``metadata``, ``start_time`` or
``started_at``, ...); a missing table is an empty one, a database with none of the three
is refused.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from pyflare_cli.sources.langfuse import decode_documents
from pyflare_cli.sources.opening import UnreadableInput
from pyflare_cli.sources.phoenix import parse_time
from pyflare_cli.sources.raw import DeadLetter

SQLITE_MAGIC = b"SQLite format 3\x00"
TABLES = ("traces", "generations", "spans")
_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "observation_id"),
    "trace_pk": ("id", "trace_id"),
    "trace_id": ("trace_id", "traceid"),
    "parent": ("parent_observation_id", "parent_id", "parent_span_id"),
    "name": ("name",),
    "user": ("user_id",),
    "session": ("session_id",),
    "metadata": ("trace_metadata", "metadata"),
    "release": ("release",),
    "tags": ("tags",),
    "timestamp": ("timestamp", "created_at", "start_time"),
    "start": ("start_time", "started_at", "timestamp", "created_at"),
    "end": ("end_time", "ended_at", "completion_end_time"),
    "completion_start": ("completion_start_time", "completion_start"),
    "model": ("model", "model_name"),
    "parameters": ("model_parameters",),
    "input": ("input",),
    "output": ("output",),
    "input_tokens": ("input_tokens", "prompt_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens"),
    "total_tokens": ("total_tokens",),
    "input_cost": ("input_cost",),
    "output_cost": ("output_cost",),
    "total_cost": ("total_cost", "cost"),
    "latency_ms": ("latency_ms",),
    "level": ("level",),
    "status_message": ("status_message",),
}


def _get(row: dict[str, Any], name: str) -> Any:
    for column in _ALIASES[name]:
        if row.get(column) is not None:
            return row[column]
    return None


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _trace(row: dict[str, Any]) -> dict[str, Any]:
    metadata = _json(_get(row, "metadata"))
    metadata = metadata if isinstance(metadata, dict) else {}
    tags = _json(_get(row, "tags")) or metadata.get("tags")
    return {
        "id": _get(row, "trace_pk"),
        "timestamp": _get(row, "timestamp"),
        "name": _get(row, "name"),
        "userId": _get(row, "user"),
        "sessionId": _get(row, "session"),
        "release": _get(row, "release") or metadata.get("release"),
        "tags": tags,
        "metadata": metadata,
    }


def _observation(row: dict[str, Any], kind: str) -> dict[str, Any]:
    start = _get(row, "start")
    end = _get(row, "end")
    latency = _get(row, "latency_ms")
    if end is None and start is not None and latency is not None:
        end = parse_time(start, "start_time") + round(float(latency) * 1e6)
    usage = {
        "input": _get(row, "input_tokens"),
        "output": _get(row, "output_tokens"),
        "total": _get(row, "total_tokens"),
    }
    cost = {
        "input": _get(row, "input_cost"),
        "output": _get(row, "output_cost"),
        "total": _get(row, "total_cost"),
    }
    metadata = _json(row.get("metadata"))
    return {
        "id": _get(row, "id"),
        "traceId": _get(row, "trace_id"),
        "type": kind,
        "name": _get(row, "name"),
        "parentObservationId": _get(row, "parent"),
        "startTime": start,
        "endTime": end,
        "completionStartTime": _get(row, "completion_start"),
        "model": _get(row, "model"),
        "modelParameters": _json(_get(row, "parameters")),
        "input": _json(_get(row, "input")),
        "output": _json(_get(row, "output")),
        "usageDetails": {k: v for k, v in usage.items() if v is not None} or None,
        "costDetails": {k: v for k, v in cost.items() if v is not None} or None,
        "level": _get(row, "level"),
        "statusMessage": _get(row, "status_message"),
        "metadata": metadata if isinstance(metadata, dict) else None,
    }


def read_database(
    path: Path, source: str, finish_frame: Callable[[pl.DataFrame], pl.DataFrame]
) -> tuple[list[pl.DataFrame], list[DeadLetter]]:
    """The frames of every trace, generation and span row of the database at ``path``."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UnreadableInput(f"cannot open the SQLite database: {exc}") from None
    try:
        connection.row_factory = sqlite3.Row
        names = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not names & set(TABLES):
            raise UnreadableInput(
                "a SQLite database without Langfuse's traces, generations or spans tables"
            )
        documents: list[tuple[str, Any]] = []
        for table, kind in (("traces", None), ("generations", "GENERATION"), ("spans", "SPAN")):
            if table not in names:
                continue
            for index, row in enumerate(connection.execute(f"SELECT * FROM {table}")):
                record = dict(row)
                documents.append(
                    (
                        f"{table} row {index + 1}",
                        _trace(record) if kind is None else _observation(record, kind),
                    )
                )
    except sqlite3.Error as exc:
        raise UnreadableInput(f"cannot read the SQLite database: {exc}") from None
    finally:
        connection.close()
    return decode_documents(documents, source, finish_frame)
