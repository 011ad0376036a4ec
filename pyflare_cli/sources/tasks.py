"""Cut an input into independent decode tasks, and decode one task into canonical spans.

Splitting is cheap and sequential (it reads the input once, in bounded pieces); decoding is
the expensive part and runs in worker processes when there is enough work
(:mod:`pyflare_cli.ingest`). A task is plain picklable data, so memory is bounded by the
task size times the number of tasks in flight, never by the input size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import polars as pl
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.sources import otlp_json, otlp_proto, phoenix
from pyflare_cli.sources.normalize import normalize
from pyflare_cli.sources.opening import Format, UnreadableInput, open_binary
from pyflare_cli.sources.raw import DeadLetter, RawBatch

TASK_BYTES = 8 << 20
"""Target size of one task's payload: about 10-30k spans of OTLP."""


@dataclass
class Task:
    """A piece of one source: ``items`` are (position, payload) pairs of one format."""

    source: str
    format: Format
    items: list[tuple[str, bytes]] = field(default_factory=list)
    size: int = 0


@dataclass
class Decoded:
    """The result of one task: canonical spans and what could not be used."""

    spans: pl.DataFrame
    dead: list[DeadLetter]
    skipped: int


def _varint(stream: IO[bytes], first: bytes) -> int:
    read = stream.read
    result, shift, byte = 0, 0, first
    while True:
        if not byte:
            raise UnreadableInput("truncated length prefix")
        value = byte[0]
        result |= (value & 0x7F) << shift
        if not value & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise UnreadableInput("length prefix is not a varint")
        byte = read(1)


def split(path: Path, fmt: Format, label: str) -> Iterator[Task]:
    """The tasks of one input file (already decompressed by :func:`open_binary`)."""
    if fmt in (Format.PHOENIX_CSV, Format.PHOENIX_PARQUET, Format.PHOENIX_JSON):
        yield Task(label, fmt, [("file", str(path).encode())])
        return
    with open_binary(path) as stream:
        if fmt is Format.OTLP_PROTO:
            yield from _split_single_proto(stream.read(), label)
        elif fmt is Format.OTLP_PROTO_STREAM:
            yield from _split_stream(stream, label)
        elif fmt is Format.OTLP_JSON:
            yield Task(label, fmt, [("document", stream.read())])
        else:
            yield from _split_lines(stream, label, fmt)


def _split_single_proto(data: bytes, label: str) -> Iterator[Task]:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except DecodeError as exc:
        raise UnreadableInput(f"not an OTLP protobuf ExportTraceServiceRequest ({exc})") from None
    if len(data) <= TASK_BYTES:
        yield Task(label, Format.OTLP_PROTO, [("request 0", data)], len(data))
        return
    # Re-cut one big request into requests of whole ResourceSpans so workers share it.
    task = Task(label, Format.OTLP_PROTO)
    part = ExportTraceServiceRequest()
    for index, resource_spans in enumerate(request.resource_spans):
        part.resource_spans.append(resource_spans)
        if part.ByteSize() >= TASK_BYTES or index == len(request.resource_spans) - 1:
            payload = part.SerializeToString()
            task.items.append((f"request 0 (resource_spans up to {index})", payload))
            yield task
            task, part = Task(label, Format.OTLP_PROTO), ExportTraceServiceRequest()


def _split_stream(stream: IO[bytes], label: str) -> Iterator[Task]:
    read = stream.read
    task = Task(label, Format.OTLP_PROTO)
    index = 0
    offset = 0
    while True:
        first = read(1)
        if not first:
            break
        length = _varint(stream, first)
        payload = read(length)
        if len(payload) != length:
            if task.items:
                yield task  # the complete requests before the cut still go in
            raise UnreadableInput(
                f"request {index} at byte {offset} is truncated: {len(payload)} of {length} bytes"
            )
        task.items.append((f"request {index} (byte {offset})", payload))
        task.size += length
        offset += len(first) + length
        index += 1
        if task.size >= TASK_BYTES:
            yield task
            task = Task(label, Format.OTLP_PROTO)
    if task.items:
        yield task


def _split_lines(stream: IO[bytes], label: str, fmt: Format) -> Iterator[Task]:
    task = Task(label, fmt)
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        task.items.append((f"line {number}", line))
        task.size += len(line)
        if task.size >= TASK_BYTES:
            yield task
            task = Task(label, fmt)
    if task.items:
        yield task


def decode(task: Task) -> Decoded:
    """Decode one task into canonical spans (runs in a worker process)."""
    if task.format in (Format.PHOENIX_CSV, Format.PHOENIX_PARQUET, Format.PHOENIX_JSON):
        return _decode_phoenix(task)
    if task.format is Format.PHOENIX_JSONL:
        return _decode_phoenix(task)
    batch = RawBatch()
    dead: list[DeadLetter] = []
    skipped = 0
    for position, payload in task.items:
        if task.format is Format.OTLP_PROTO:
            request = ExportTraceServiceRequest()
            try:
                request.ParseFromString(payload)
            except DecodeError as exc:
                reason = f"protobuf does not decode: {exc}"
                dead.append(DeadLetter(task.source, position, reason, _b64(payload)))
                continue
            dead.extend(otlp_proto.decode_request(request, batch, task.source, position))
            continue
        try:
            document = json.loads(payload)
        except ValueError as exc:
            text = payload.decode("utf-8", "replace")
            dead.append(DeadLetter(task.source, position, f"invalid JSON: {exc}", text))
            continue
        letters, had_traces = otlp_json.decode_document(document, batch, task.source, position)
        dead.extend(letters)
        skipped += 0 if had_traces else 1
    return Decoded(normalize(batch.to_frame()), dead, skipped)


def _decode_phoenix(task: Task) -> Decoded:
    if task.format is Format.PHOENIX_JSONL:
        raw, dead = phoenix.read_jsonl_lines(task.items, task.source)
    else:
        raw, dead = phoenix.read_file(Path(task.items[0][1].decode()), task.format, task.source)
    return Decoded(normalize(raw), dead, 0)


def _b64(payload: bytes) -> str:
    import base64

    return base64.b64encode(payload).decode("ascii")
