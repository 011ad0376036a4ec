"""Read Arize/Phoenix span exports (JSONL, JSON, CSV, Parquet) into a :class:`RawBatch`.

Phoenix's ``get_spans_dataframe()`` and its exports flatten each span into columns:
``context.trace_id``, ``context.span_id``, ``parent_id``, ``span_kind``, ``start_time``,
``end_time``, ``status_code``, ``attributes.llm.model_name``, ... Timestamps come as ISO
strings or epoch numbers. ``span_kind`` is the OpenInference kind (LLM, CHAIN, ...), so it
becomes the ``openinference.span.kind`` attribute and the OTel kind stays unspecified.
Exports are small next to OTLP traffic, so a per-record loop is fine here.

Evaluations joined to the spans (``eval.<name>.score``, ``.label``, ``.explanation``
columns, see :data:`EVAL_COLUMN`) become attributes of the same names, which ``pyflare
eval`` reads as Phoenix results.

``get_spans_dataframe().to_csv()`` writes list and dict cells (``events``,
``attributes.llm.input_messages``, ``attributes.metadata``) as Python literals
(``[{'name': 'exception', ...}]``): they are parsed with :func:`ast.literal_eval`, which
reads literals only and never runs code. A span whose events still cannot be read keeps
its other fields, with the raw events in the ``pyflare.unreadable_events`` attribute.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pyflare_cli.sources.opening import Format, UnreadableInput, open_binary
from pyflare_cli.sources.otlp_json import BadRecord, decode_id
from pyflare_cli.sources.raw import DeadLetter, RawBatch

EVAL_COLUMN = re.compile(r"^eval\..+\.(score|label|explanation)$")
"""Phoenix's joined span evaluations: ``TraceDataset.get_spans_dataframe()`` adds each
``SpanEvaluations`` as top-level ``eval.<name>.score|label|explanation`` columns (the name
may hold spaces and dots: ``eval.Q&A Correctness.label``). They are kept as span
attributes of the same name, where ``analysis.eval.scores`` reads Phoenix results."""
_RESOURCE_KEYS = ("service.name", "service.version", "deployment.environment.name")
_STATUS = {"OK": "ok", "ERROR": "error", "UNSET": "unset", "": "unset"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_SCALES = ((1e11, 10**9), (1e14, 10**6), (1e17, 10**3), (math.inf, 1))
"""Epoch numbers by magnitude: seconds, milliseconds, microseconds, else nanoseconds."""


def read_jsonl_lines(
    items: list[tuple[str, bytes]], source: str
) -> tuple[pl.DataFrame, list[DeadLetter]]:
    """Decode Phoenix JSON Lines (position, line) pairs."""
    records: list[tuple[str, Any]] = []
    dead: list[DeadLetter] = []
    for position, line in items:
        try:
            records.append((position, json.loads(line)))
        except ValueError as exc:
            dead.append(
                DeadLetter(
                    source, position, f"invalid JSON: {exc}", line.decode("utf-8", "replace")
                )
            )
    frame, more = decode_records(records, source)
    return frame, dead + more


def read_file(path: Path, fmt: Format, source: str) -> tuple[pl.DataFrame, list[DeadLetter]]:
    """Decode a whole Phoenix CSV, Parquet or JSON-array export."""
    with open_binary(path) as stream:
        data = stream.read()
    try:
        if fmt is Format.PHOENIX_JSON:
            loaded = json.loads(data)
            if not isinstance(loaded, list):
                raise UnreadableInput("a JSON array of spans was expected")
            rows: Iterable[Any] = loaded
        elif fmt is Format.PHOENIX_CSV:
            table = pl.read_csv(data, infer_schema=False)
            rows = (_csv_row(row) for row in table.iter_rows(named=True))
        else:
            rows = pl.read_parquet(data).iter_rows(named=True)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise UnreadableInput(f"cannot read the {fmt.value} export: {exc}") from None
    records = [(f"record {i}", row) for i, row in enumerate(rows)]
    return decode_records(records, source)


def decode_records(
    records: list[tuple[str, Any]], source: str
) -> tuple[pl.DataFrame, list[DeadLetter]]:
    batch = RawBatch()
    dead: list[DeadLetter] = []
    resources: dict[tuple[tuple[str, str | None], ...], int] = {}
    for position, record in records:
        try:
            _decode_record(record, batch, resources)
        except (BadRecord, TypeError, ValueError, AttributeError) as exc:
            dead.append(DeadLetter(source, position, str(exc), _jsonable(record)))
    return batch.to_frame(), dead


def _field(record: dict[str, Any], *names: str) -> Any:
    for name in names:
        if "." in name and name not in record:
            head, tail = name.split(".", 1)
            nested = record.get(head)
            if isinstance(nested, dict) and nested.get(tail) is not None:
                return nested[tail]
        value = record.get(name)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return value
    return None


def _decode_record(
    record: Any, batch: RawBatch, resources: dict[tuple[tuple[str, str | None], ...], int]
) -> None:
    if not isinstance(record, dict):
        raise BadRecord("a span record must be a JSON object")
    trace_id = decode_id(_field(record, "context.trace_id", "trace_id"), 16, "context.trace_id")
    span_id = decode_id(_field(record, "context.span_id", "span_id"), 8, "context.span_id")
    parent = decode_id(_field(record, "parent_id", "parent_span_id"), 8, "parent_id", optional=True)
    start = parse_time(_field(record, "start_time"), "start_time")
    end = parse_time(_field(record, "end_time"), "end_time")
    if end < start:
        raise BadRecord("end_time is before start_time")
    attributes: dict[str, str | None] = {}
    for key, value in record.items():
        if key.startswith("attributes."):
            _flatten(key[len("attributes.") :], value, attributes)
        elif key == "attributes" and isinstance(value, dict | str):
            nested = json.loads(value) if isinstance(value, str) else value
            if isinstance(nested, dict):
                _flatten("", nested, attributes)
    for key, value in record.items():
        if EVAL_COLUMN.match(key):  # joined span evaluations win over attributes
            _flatten(key, value, attributes)
    kind = _field(record, "span_kind")
    if kind and "openinference.span.kind" not in attributes:
        attributes["openinference.span.kind"] = str(kind)
    resource_pairs = tuple((k, attributes.pop(k)) for k in _RESOURCE_KEYS if k in attributes)
    if resource_pairs not in resources:
        resources[resource_pairs] = batch.add_resource(list(resource_pairs))
    status = str(_field(record, "status_code") or "").upper().removeprefix("STATUS_CODE_")
    if status not in _STATUS:
        raise BadRecord(f"invalid status_code {status!r}")
    events = _field(record, "events") or []
    try:
        event_rows = _events(events)
    except (BadRecord, ValueError, TypeError, AttributeError):
        # The span is still good: keep it, and its events as they were written.
        event_rows = []
        raw = events if isinstance(events, str) else json.dumps(_jsonable(events), default=str)
        attributes[UNREADABLE_EVENTS] = raw
    batch.trace_id.append(trace_id or "")
    batch.span_id.append(span_id or "")
    batch.parent_span_id.append(parent)
    batch.name.append(str(_field(record, "name") or ""))
    batch.kind.append("unspecified")
    batch.start_ns.append(start)
    batch.end_ns.append(end)
    batch.status_code.append(_STATUS[status])
    message = _field(record, "status_message")
    batch.status_message.append(str(message) if message not in (None, "") else None)
    batch.scope_name.append(None)
    batch.resource_index.append(resources[resource_pairs])
    batch.attributes.add_row(list(attributes.items()))
    for time_ns, name, pairs in event_rows:
        batch.event_time.append(time_ns)
        batch.event_name.append(name)
        batch.event_attributes.add_row(pairs)
    batch.event_offsets.append(len(batch.event_name))
    batch.link_offsets.append(len(batch.link_span_id))


UNREADABLE_EVENTS = "pyflare.unreadable_events"
MAX_LITERAL_CHARS = 1 << 20
"""Cells longer than this are kept as text: literal_eval's cost grows with nesting."""


def _events(events: Any) -> list[tuple[int, str, list[tuple[str, str | None]]]]:
    """(time, name, attributes) of each event; raises when any cannot be read."""
    if isinstance(events, str):
        events = _literal(events)
        if isinstance(events, str):
            raise BadRecord("events are neither JSON nor a Python literal")
    rows = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            raise BadRecord(f"invalid event {event!r}: want an object")
        event_attributes: dict[str, str | None] = {}
        _flatten("", event.get("attributes") or {}, event_attributes)
        time_ns = parse_time(event.get("timestamp") or event.get("time"), "event")
        rows.append((time_ns, str(event.get("name", "")), list(event_attributes.items())))
    return rows


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row without pandas' empty (NaN) cells, list and dict cells parsed.

    A cell that is valid JSON was a string in the frame (``llm.invocation_parameters``
    holds JSON text) and stays one; a list or dict cell is written by ``str()``, as a
    Python literal, which JSON does not read.
    """
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or value == "":
            continue
        if value[:1] in ("[", "{") and not _is_json(value):
            value = _literal(value)
        out[key] = value
    return out


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _literal(text: str) -> Any:
    """``text`` as JSON or a Python literal (``ast.literal_eval``, never ``eval``); else itself."""
    if len(text) > MAX_LITERAL_CHARS:
        return text
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return text


def _flatten(prefix: str, value: Any, out: dict[str, str | None]) -> None:
    """OpenInference flattening: nested objects by dots, lists of objects by index."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            _flatten(f"{prefix}.{index}", item, out)
    elif isinstance(value, str):
        out[prefix] = value
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    else:
        out[prefix] = json.dumps(_jsonable(value), separators=(",", ":"))


def parse_time(value: Any, what: str) -> int:
    """Nanoseconds since the epoch from an ISO string, a datetime or an epoch number.

    Epoch numbers are read by magnitude: seconds, milliseconds, microseconds or nanoseconds.
    """
    if value is None or value == "":
        raise BadRecord(f"missing {what}")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (moment - _EPOCH) // timedelta(microseconds=1) * 1000
    if isinstance(value, str):
        text = value.strip()
        try:
            number: int | float = int(text)
        except ValueError:
            pass
        else:
            return parse_time(number, what)
        try:
            number = float(text)
        except ValueError:
            try:
                moment = datetime.fromisoformat(text.replace(" ", "T", 1))
            except ValueError:
                raise BadRecord(f"invalid {what} {value!r}") from None
            return parse_time(moment, what)
        return parse_time(number, what)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise BadRecord(f"invalid {what} {value!r}")
        magnitude = abs(value)
        scale = next(scale for limit, scale in _EPOCH_SCALES if magnitude < limit)
        # Integer arithmetic: a float product loses nanoseconds (2**-52 of 1.7e18 is 256 ns).
        whole = int(value)
        return whole * scale + round((value - whole) * scale)
    raise BadRecord(f"invalid {what} {value!r}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
