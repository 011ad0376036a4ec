"""Read Langfuse's own exports (public API JSON pages, JSON Lines, a SQLite copy) as spans.

Shapes follow Langfuse's public API (``fern/apis/server/definition`` in langfuse/langfuse,
and the models of the ``langfuse`` SDK): ``GET /api/public/traces``, ``/observations``
and ``/scores`` answer ``{"data": [...], "meta": {"page", "limit", "totalItems",
"totalPages"}}``; ``GET /api/public/traces/{id}`` one trace with its ``observations`` and
``scores`` inlined. A file may hold a page, a bare list, one trace, or JSON Lines of any
of these records (an observation export). Each record is recognised by its fields:

- an **observation** (``type`` GENERATION, SPAN, EVENT, AGENT, TOOL, ...) becomes a span:
  GENERATION -> llm, SPAN -> chain, EVENT -> a zero-length span; ``parentObservationId``
  is the parent. Its fields become the ``langfuse.observation.*`` attributes the Langfuse
  SDK writes over OTLP, so :mod:`pyflare_cli.semconv`'s Langfuse rows read both alike.
- a **trace** fills ``userId``, ``sessionId``, ``release``, ``tags`` and ``metadata``
  (``agent_name``) into its observations; a trace with no observation in the input is
  one span of its own, so a traces-only page is not lost.
- a **score** becomes a zero-length evaluator span in the scored trace with the OTel
  GenAI evaluation attributes (name, value, label, comment), linked to the observation
  it scores: ``pyflare eval`` reads it as a result for that span (or for the trace).

Langfuse ids need not be hex (``uuid4()``, ``"my-trace-1"``): a 32-hex or UUID trace id
and a 16-hex observation id are kept (dashes dropped), any other id maps to the first
hex digits of its SHA-256, the same in every file, and the original is kept in
``langfuse.trace.id`` / ``langfuse.observation.id``. Exports are small next to OTLP
traffic, so the per-record loop here is fine; the SQLite reader is in
:mod:`pyflare_cli.sources.langfuse_sqlite`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import polars as pl

from pyflare_cli.sources.langfuse_shapes import hex_id, record_kind
from pyflare_cli.sources.otlp_json import BadRecord
from pyflare_cli.sources.phoenix import parse_time
from pyflare_cli.sources.raw import DeadLetter, RawBatch

SCOPE = "langfuse-export"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # integers past 64 bits, keys that are not strings
        return json.dumps(value, separators=(",", ":"), default=str)


def _time(value: Any, what: str) -> int:
    """Nanoseconds of an API timestamp (ISO 8601 with ``Z``), else any form Phoenix reads."""
    if isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return parse_time(value, what)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (moment - _EPOCH) // _MICRO * 1000
    return parse_time(value, what)


def _records(document: Any, position: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(position, kind, record) of every Langfuse record in a document, inlined ones too."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    kind = record_kind(document)
    if isinstance(document, list):
        for index, item in enumerate(document):
            out.extend(_records(item, f"{position} [{index}]"))
        return out
    if kind == "page":
        return _records(document["data"], f"{position} data")
    if kind is None:
        raise BadRecord("not a Langfuse trace, observation, score or page")
    out.append((position, kind, document))
    if kind == "trace":
        for field in ("observations", "scores"):
            inlined = document.get(field)
            if isinstance(inlined, list) and inlined and isinstance(inlined[0], dict):
                out.extend(_records(inlined, f"{position} {field}"))
    return out


CHUNK = 20_000
"""Records turned into one raw frame at a time: memory holds a chunk, not the export."""


class Decoder:
    """Langfuse records in, raw frames out, a chunk at a time.

    Trace records are kept (they fill their observations); observations and scores
    become spans as soon as :data:`CHUNK` of them are waiting, through ``finish_frame``
    (normalisation), so only their spans stay in memory. Give every trace first
    (:meth:`add_traces`) when the input can be read twice, as JSON Lines can.
    """

    def __init__(self, source: str, finish_frame: Callable[[pl.DataFrame], pl.DataFrame]):
        self.source = source
        self.finish_frame = finish_frame
        self.traces: dict[str, dict[str, Any]] = {}
        self.traced: set[str] = set()
        self.dead: list[DeadLetter] = []
        self.frames: list[pl.DataFrame] = []
        self._waiting: list[tuple[str, str, dict[str, Any]]] = []

    def _found(
        self, position: str, document: Any, quiet: bool = False
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """The records of a document; each one that is not Langfuse's is one dead letter."""
        if isinstance(document, list):
            return [
                found
                for index, item in enumerate(document)
                for found in self._found(f"{position} [{index}]", item, quiet)
            ]
        if record_kind(document) == "page":
            return self._found(f"{position} data", document["data"], quiet)
        try:
            return _records(document, position)
        except BadRecord as exc:
            if not quiet:  # the second look at a document says it
                self.dead.append(DeadLetter(self.source, position, str(exc), _text(document)))
            return []

    def add_traces(self, position: str, document: Any) -> None:
        """Keep the trace records of a document that holds no observation or score."""
        for _, kind, record in self._found(position, document, quiet=True):
            if kind == "trace":
                self.traces[str(record["id"])] = record

    def add(self, position: str, document: Any) -> None:
        """Every record of a document: traces kept, observations and scores queued."""
        for where, kind, record in self._found(position, document):
            if kind == "trace":
                self.traces[str(record["id"])] = record
            else:
                self._waiting.append((where, kind, record))
        if len(self._waiting) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        batch = RawBatch()
        batch.add_resource([])
        for where, kind, record in self._waiting:
            trace_id = str(record.get("traceId"))
            if kind == "observation":
                self.traced.add(trace_id)
                trace = self.traces.get(trace_id)
                _add(batch, where, record, trace, self.source, self.dead, _observation)
                continue
            subject = (record.get("subject") or {}) if "traceId" not in record else {}
            trace_id = str(subject.get("traceId") or subject.get("id") or trace_id)
            trace = self.traces.get(trace_id)
            _add(batch, where, record, trace, self.source, self.dead, _score)
        self._waiting = []
        if len(batch):
            self.frames.append(self.finish_frame(batch.to_frame()))

    def finish(self) -> list[pl.DataFrame]:
        """The frames of every record; a trace none of whose observations came is a span."""
        self._flush()
        batch = RawBatch()
        batch.add_resource([])
        for trace_id, trace in self.traces.items():
            if trace_id not in self.traced:
                where = f"trace {trace_id}"
                _add(batch, where, trace, trace, self.source, self.dead, _trace_span)
        if len(batch):
            self.frames.append(self.finish_frame(batch.to_frame()))
        return self.frames


def decode_documents(
    documents: Iterable[tuple[str, Any]],
    source: str,
    finish_frame: Callable[[pl.DataFrame], pl.DataFrame] = lambda frame: frame,
) -> tuple[list[pl.DataFrame], list[DeadLetter]]:
    """The frames of every record in ``documents`` ((position, parsed JSON) pairs).

    Traces are read before their observations become spans: every document is held.
    """
    held = list(documents)
    decoder = Decoder(source, finish_frame)
    for position, document in held:
        decoder.add_traces(position, document)
    for position, document in held:
        decoder.add(position, _without_traces(document))
    return decoder.finish(), decoder.dead


def _without_traces(document: Any) -> Any:
    """A document whose trace records were taken already (inlined ones kept inlined)."""
    kind = record_kind(document)
    if kind == "trace":
        inlined = [*(document.get("observations") or []), *(document.get("scores") or [])]
        return [item for item in inlined if isinstance(item, dict)]  # not lists of ids
    if kind == "page":
        return {**document, "data": [_without_traces(item) for item in document["data"]]}
    if isinstance(document, list):
        return [_without_traces(item) for item in document]
    return document


def _add(
    batch: RawBatch,
    position: str,
    record: dict[str, Any],
    trace: dict[str, Any] | None,
    source: str,
    dead: list[DeadLetter],
    build: Any,
) -> None:
    try:
        span = build(record, trace)
    except (BadRecord, TypeError, ValueError, AttributeError, KeyError) as exc:
        dead.append(DeadLetter(source, position, str(exc), _text(record)))
        return
    trace_id, span_id, parent, name, start, end, error, message, attributes, links = span
    batch.trace_id.append(trace_id)
    batch.span_id.append(span_id)
    batch.parent_span_id.append(parent)
    batch.name.append(name)
    batch.kind.append("internal")
    batch.start_ns.append(start)
    batch.end_ns.append(end)
    batch.status_code.append("error" if error else "unset")
    batch.status_message.append(message)
    batch.scope_name.append(SCOPE)
    batch.resource_index.append(0)
    batch.attributes.add_row([(k, v) for k, v in attributes.items() if v is not None])
    batch.event_offsets.append(len(batch.event_name))
    for link_trace, link_span in links:
        batch.link_trace_id.append(link_trace)
        batch.link_span_id.append(link_span)
        batch.link_attributes.add_row([])
    batch.link_offsets.append(len(batch.link_span_id))


def _trace_attributes(trace: dict[str, Any] | None, record: dict[str, Any]) -> dict[str, Any]:
    """What a trace (or the trace fields an observation carries itself) says of its spans."""
    source = {**(trace or {}), **{k: v for k, v in record.items() if v is not None}}
    out: dict[str, Any] = {
        "langfuse.user.id": _text(source.get("userId")),
        "langfuse.session.id": _text(source.get("sessionId")),
        "langfuse.release": _text(source.get("release")),
        "langfuse.environment": _text(source.get("environment")),
        "langfuse.trace.name": _text((trace or {}).get("name") or record.get("traceName")),
        "langfuse.trace.tags": _text((trace or {}).get("tags") or record.get("tags")),
    }
    metadata = (trace or {}).get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = None
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            out[f"langfuse.trace.metadata.{key}"] = _text(value)
    return out


def _usage(record: dict[str, Any]) -> tuple[str | None, str | None]:
    """usage_details and cost_details JSON, from the newer fields or the older ``usage``."""
    usage = record.get("usageDetails")
    given = record.get("usage")
    old: dict[str, Any] = given if isinstance(given, dict) else {}
    if not usage and old:
        usage = {k: old[k] for k in ("input", "output", "total") if old.get(k) is not None}
    cost = record.get("costDetails")
    if not cost:
        totals = (record.get("calculatedTotalCost"), record.get("totalCost"), old.get("totalCost"))
        total = next((t for t in totals if t is not None), None)
        cost = {"total": total} if total is not None else None
    # An all-zero usage or cost (what the API shows for a SPAN) says nothing: no tokens.
    usage = usage if isinstance(usage, dict) and any(usage.values()) else None
    cost = cost if isinstance(cost, dict) and any(cost.values()) else None
    return (_text(usage) if usage else None), (_text(cost) if cost else None)


def _observation(record: dict[str, Any], trace: dict[str, Any] | None) -> tuple[Any, ...]:
    kind = str(record["type"]).upper()
    start = _time(record.get("startTime"), "startTime")
    end = start if kind == "EVENT" else _time(record.get("endTime") or start, "endTime")
    if end < start:
        raise BadRecord("endTime is before startTime")
    level = str(record.get("level") or "DEFAULT").upper()
    usage, cost = _usage(record)
    attributes: dict[str, Any] = {
        **_trace_attributes(trace, record),
        "langfuse.observation.type": kind.lower(),
        "langfuse.observation.id": str(record["id"]),
        "langfuse.trace.id": str(record["traceId"]),
        "langfuse.observation.parent_id": _text(record.get("parentObservationId")),
        "langfuse.observation.model.name": _text(record.get("model")),
        "langfuse.observation.model.parameters": _text(record.get("modelParameters")),
        "langfuse.observation.usage_details": usage,
        "langfuse.observation.cost_details": cost,
        "langfuse.observation.input": _text(record.get("input")),
        "langfuse.observation.output": _text(record.get("output")),
        "langfuse.observation.level": level,
        "langfuse.observation.status_message": _text(record.get("statusMessage")),
        "langfuse.observation.completion_start_time": _text(record.get("completionStartTime")),
        "langfuse.observation.prompt.name": _text(record.get("promptName")),
        "langfuse.version": _text(record.get("version")),
    }
    metadata = record.get("metadata")
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            attributes[f"langfuse.observation.metadata.{key}"] = _text(value)
    parent = record.get("parentObservationId")
    return (
        hex_id(record["traceId"], 32),
        hex_id(record["id"], 16),
        hex_id(parent, 16) if parent else None,
        str(record.get("name") or kind.lower()),
        start,
        end,
        level == "ERROR",
        _text(record.get("statusMessage")) or None,
        attributes,
        [],
    )


def _trace_span(record: dict[str, Any], trace: dict[str, Any] | None) -> tuple[Any, ...]:
    start = _time(record.get("timestamp"), "timestamp")
    latency = record.get("latency")
    end = start + round(float(latency) * 1e9) if isinstance(latency, int | float) else start
    attributes = {
        **_trace_attributes(record, {}),
        "langfuse.trace.id": str(record["id"]),
        "langfuse.observation.input": _text(record.get("input")),
        "langfuse.observation.output": _text(record.get("output")),
    }
    name = str(record.get("name") or "trace")
    trace_id = hex_id(record["id"], 32)
    span_id = hex_id(f"trace:{record['id']}", 16)
    return (trace_id, span_id, None, name, start, end, False, None, attributes, [])


def _subject(record: dict[str, Any]) -> dict[str, Any]:
    """A v3 score's ``subject`` as the v1 fields ``traceId`` and ``observationId``."""
    subject = record.get("subject")
    if not isinstance(subject, dict):
        return record
    kind = subject.get("kind")
    if kind == "trace":
        return {**record, "traceId": subject.get("id"), "observationId": None}
    if kind == "observation" and subject.get("traceId"):
        return {**record, "traceId": subject["traceId"], "observationId": subject.get("id")}
    raise BadRecord(f"a score of a {kind} is not on a trace: no span to grade")


def _score(record: dict[str, Any], trace: dict[str, Any] | None) -> tuple[Any, ...]:
    record = _subject(record)
    when = _time(record.get("timestamp") or record.get("createdAt"), "timestamp")
    trace_id = hex_id(record["traceId"], 32)
    scored = record.get("observationId")
    value = record.get("value")
    label = record.get("stringValue")
    if label is None and isinstance(value, str):
        value, label = None, value
    attributes: dict[str, Any] = {
        **_trace_attributes(trace, {}),
        "langfuse.observation.type": "evaluator",
        "langfuse.trace.id": str(record["traceId"]),
        "langfuse.score.id": _text(record.get("id")),
        "langfuse.score.source": _text(record.get("source")),
        "langfuse.score.data_type": _text(record.get("dataType")),
        "langfuse.observation.id": _text(scored),
        "gen_ai.evaluation.name": str(record["name"]),
        "gen_ai.evaluation.score.value": _text(value),
        "gen_ai.evaluation.score.label": _text(label),
        "gen_ai.evaluation.explanation": _text(record.get("comment")),
    }
    span_id = hex_id(f"score:{record.get('id') or json.dumps(record, sort_keys=True)}", 16)
    parent = hex_id(scored, 16) if scored else None
    links = [(trace_id, parent)] if parent else []
    name = f"score {record['name']}"
    return (trace_id, span_id, parent, name, when, when, False, None, attributes, links)
