"""Cut an input into independent decode tasks, in bounded pieces, without decoding them.

Splitting is cheap and sequential (it reads the input once, in bounded pieces); decoding is
the expensive part (:mod:`pyflare_cli.sources.decoding`) and runs in worker processes when
there is enough work (:mod:`pyflare_cli.ingest.workers`). A task is plain picklable data, so
memory is bounded by the task size times the number of tasks in flight, never by the input
size.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.sources import collector
from pyflare_cli.sources.opening import Format, UnreadableInput, is_compressed, open_binary
from pyflare_cli.sources.otlp_wire import varint

TASK_BYTES = 8 << 20
"""Target size of one task's payload: about 10-30k spans of OTLP."""


@dataclass
class Task:
    """A piece of one source: (position, payload) pairs of one format.

    The payloads are either in ``items``, or, for an uncompressed file, given as byte
    ``ranges`` (position, offset, length) of ``file`` that the worker reads itself, so the
    main process neither copies nor pickles them. With ``first_line`` set, the one range
    is a block of whole JSON lines, numbered from ``first_line``.
    """

    source: str
    format: Format
    items: list[tuple[str, bytes]] = field(default_factory=list)
    size: int = 0
    file: str | None = None
    ranges: list[tuple[str, int, int]] = field(default_factory=list)
    first_line: int | None = None

    def payloads(self) -> Iterator[tuple[str, bytes]]:
        yield from self.items
        if not self.ranges or self.file is None:
            return
        with open(self.file, "rb") as handle:
            for position, offset, length in self.ranges:
                handle.seek(offset)
                data = handle.read(length)
                if self.first_line is None:
                    yield position, data
                    continue
                for number, line in enumerate(data.split(b"\n"), start=self.first_line):
                    if line.strip():
                        yield f"line {number}", line.rstrip(b"\r")


def _varint(stream: IO[bytes], first: bytes) -> tuple[int, int]:
    """A varint whose first byte is ``first``: (value, bytes it took)."""
    read = stream.read
    result, shift, byte, used = 0, 0, first, 1
    while True:
        if not byte:
            raise UnreadableInput("truncated length prefix")
        value = byte[0]
        result |= (value & 0x7F) << shift
        if not value & 0x80:
            return result, used
        shift += 7
        if shift > 63:
            raise UnreadableInput("length prefix is not a varint")
        byte = read(1)
        used += 1


_WHOLE_FILE = (
    Format.PHOENIX_CSV,
    Format.PHOENIX_PARQUET,
    Format.PHOENIX_JSON,
    # Langfuse records refer to each other (a trace fills its observations): one task.
    Format.LANGFUSE_JSON,
    Format.LANGFUSE_JSONL,
    Format.LANGFUSE_SQLITE,
)


def split(path: Path, fmt: Format, label: str) -> Iterator[Task]:
    """The tasks of one input file (already decompressed by :func:`open_binary`)."""
    if fmt in _WHOLE_FILE:
        yield Task(label, fmt, [("file", str(path).encode())])
        return
    plain = not is_compressed(path)
    if plain and fmt in (Format.OTLP_PROTO_STREAM, Format.OTLP_JSONL, Format.COLLECTOR_FRAMED):
        with open(path, "rb") as handle:
            if fmt is Format.COLLECTOR_FRAMED:
                yield from _split_framed(handle, label, str(path))
            elif fmt is Format.OTLP_PROTO_STREAM:
                yield from _split_stream(handle, label, str(path))
            else:
                yield from _split_line_blocks(handle, label, str(path), fmt)
        return
    with open_binary(path) as stream:
        if fmt is Format.OTLP_PROTO:
            yield from _split_single_proto(stream.read(), label)
        elif fmt is Format.OTLP_PROTO_STREAM:
            yield from _split_stream(stream, label)
        elif fmt is Format.COLLECTOR_FRAMED:
            yield from _split_framed(stream, label)
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


def _split_stream(stream: IO[bytes], label: str, file: str | None = None) -> Iterator[Task]:
    """Tasks of varint-framed requests; with ``file``, as byte ranges the worker reads."""
    read = stream.read
    end = os.fstat(stream.fileno()).st_size if file else None
    task = Task(label, Format.OTLP_PROTO, file=file)
    index = 0
    offset = 0
    while True:
        first = read(1)
        if not first:
            break
        try:
            length, used = _varint(stream, first)
        except UnreadableInput as exc:
            # A crash can tear the last record anywhere, its length prefix included.
            if task.items or task.ranges:
                yield task  # the complete requests before the cut still go in
            raise _torn(stream, offset, f"request {index} at byte {offset}: {exc}") from None
        body = offset + used
        position = f"request {index} (byte {offset})"
        if end is not None:
            got = min(length, end - body)
            stream.seek(got, os.SEEK_CUR)
        else:
            payload = read(length)
            got = len(payload)
        if got != length:
            if task.items or task.ranges:
                yield task  # the complete requests before the cut still go in
            message = f"request {index} at byte {offset} is truncated: {got} of {length} bytes"
            tail = None if end is not None else varint(length) + payload
            raise _torn(stream, offset, message, tail) from None
        if end is not None:
            task.ranges.append((position, body, length))
        else:
            task.items.append((position, payload))
        task.size += length
        offset = body + length
        index += 1
        if task.size >= TASK_BYTES:
            yield task
            task = Task(label, Format.OTLP_PROTO, file=file)
    if task.items or task.ranges:
        yield task


TAIL_BYTES = 16 << 20
"""At most this much of a torn tail is kept in its dead letter."""


def _torn(
    stream: IO[bytes], offset: int, message: str, tail: bytes | None = None
) -> UnreadableInput:
    """The error for a torn tail at ``offset``, carrying its bytes for the dead letter."""
    if tail is None and stream.seekable():
        stream.seek(offset)
        tail = stream.read(TAIL_BYTES)
    error = UnreadableInput(message)
    if tail is not None:
        error.record = base64.b64encode(tail[:TAIL_BYTES]).decode("ascii")
    return error


def _split_framed(stream: IO[bytes], label: str, file: str | None = None) -> Iterator[Task]:
    """Tasks of the Collector's 4-byte-prefixed messages; with ``file``, as byte ranges."""
    task = Task(label, Format.COLLECTOR_FRAMED, file=file)
    try:
        for position, offset, payload, length, weight in collector.frames(stream, file is not None):
            if payload is None:
                task.ranges.append((position, offset, length))
            else:
                task.items.append((position, payload))
            task.size += weight  # decompressed: a task's memory, not its bytes on disk
            if task.size >= TASK_BYTES:
                yield task
                task = Task(label, Format.COLLECTOR_FRAMED, file=file)
    except collector.Truncated as exc:
        if task.items or task.ranges:
            yield task  # the complete messages before the cut still go in
        raise UnreadableInput(str(exc)) from None
    if task.items or task.ranges:
        yield task


def _split_line_blocks(stream: IO[bytes], label: str, file: str, fmt: Format) -> Iterator[Task]:
    """Tasks of blocks of whole lines, as byte ranges the worker reads and splits."""
    offset, line = 0, 1
    while True:
        block = stream.read(TASK_BYTES)
        if not block:
            return
        if not block.endswith(b"\n"):
            block += stream.readline()
        yield Task(
            label,
            fmt,
            size=len(block),
            file=file,
            ranges=[(f"lines from {line}", offset, len(block))],
            first_line=line,
        )
        offset += len(block)
        line += block.count(b"\n")


def _split_lines(stream: IO[bytes], label: str, fmt: Format) -> Iterator[Task]:
    task = Task(label, fmt)
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        task.items.append((f"line {number}", line.rstrip(b"\r\n")))
        task.size += len(line)
        if task.size >= TASK_BYTES:
            yield task
            task = Task(label, fmt)
    if task.items:
        yield task
