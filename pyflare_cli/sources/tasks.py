"""Cut an input into independent decode tasks, and decode one task into canonical spans.

Splitting is cheap and sequential (it reads the input once, in bounded pieces); decoding is
the expensive part and runs in worker processes when there is enough work
(:mod:`pyflare_cli.ingest.pipeline`). A task is plain picklable data, so memory is bounded by the
task size times the number of tasks in flight, never by the input size.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import polars as pl
import zstandard
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.sources import (
    collector,
    langfuse,
    langfuse_sqlite,
    otlp_columnar,
    otlp_json,
    otlp_json_columnar,
    phoenix,
)
from pyflare_cli.sources.normalize import normalize
from pyflare_cli.sources.opening import Format, UnreadableInput, is_compressed, open_binary
from pyflare_cli.sources.otlp_wire import varint
from pyflare_cli.sources.raw import DeadLetter, RawBatch

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


@dataclass
class Decoded:
    """The result of one task: canonical spans and what could not be used."""

    spans: pl.DataFrame
    dead: list[DeadLetter]
    skipped: int


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


def decode(task: Task) -> Decoded:
    """Decode one task into canonical spans (runs in a worker process).

    A payload that breaks the batch as a whole (a value no column can hold, say) must not
    take the task's other payloads down with it: the task is then decoded payload by
    payload, and each payload that still fails becomes one dead letter with the reason.
    """
    if task.format in (
        Format.PHOENIX_CSV,
        Format.PHOENIX_PARQUET,
        Format.PHOENIX_JSON,
        Format.PHOENIX_JSONL,
    ):
        return _decode_phoenix(task)
    if task.format in (Format.LANGFUSE_JSON, Format.LANGFUSE_JSONL, Format.LANGFUSE_SQLITE):
        return _decode_langfuse(task)
    payloads = list(task.payloads())
    try:
        return _decode_payloads(task, payloads)
    except Exception:
        return _decode_one_by_one(task, payloads)


def _decode_one_by_one(task: Task, payloads: list[tuple[str, bytes]]) -> Decoded:
    frames: list[pl.DataFrame] = []
    dead: list[DeadLetter] = []
    skipped = 0
    for position, payload in payloads:
        try:
            decoded = _decode_payloads(task, [(position, payload)])
        except Exception as exc:
            binary = task.format in (Format.OTLP_PROTO, Format.COLLECTOR_FRAMED)
            record = _b64(payload) if binary else payload.decode("utf-8", "replace")
            reason = f"cannot be stored: {type(exc).__name__}: {exc}"
            dead.append(DeadLetter(task.source, position, reason, record))
            continue
        frames.append(decoded.spans)
        dead.extend(decoded.dead)
        skipped += decoded.skipped
    spans = pl.concat(frames) if frames else normalize(RawBatch().to_frame())
    return Decoded(spans, dead, skipped)


def _decode_payloads(task: Task, payloads: list[tuple[str, bytes]]) -> Decoded:
    if task.format in (Format.OTLP_JSONL, Format.OTLP_JSON):
        lines, letters, ignored = otlp_json_columnar.decode_lines(payloads, task.source)
        return Decoded(normalize(lines), letters, ignored)
    batch = RawBatch()
    parsed: list[otlp_columnar.Parsed] = []
    dead: list[DeadLetter] = []
    skipped = 0
    for position, payload in payloads:
        is_json = task.format is not Format.OTLP_PROTO
        if task.format is Format.COLLECTOR_FRAMED:
            try:
                is_json, payload = collector.unframe(payload)
            except zstandard.ZstdError as exc:
                reason = f"zstd frame does not decompress: {exc}"
                dead.append(DeadLetter(task.source, position, reason, _b64(payload)))
                continue
        if not is_json:
            request = ExportTraceServiceRequest()
            try:
                request.ParseFromString(payload)
            except DecodeError as exc:
                reason = f"protobuf does not decode: {exc}"
                dead.append(DeadLetter(task.source, position, reason, _b64(payload)))
                continue
            parsed.append((position, payload, len(dead)))
            continue
        if parsed:  # JSON after protobuf (a Collector file can mix them): rows stay in order
            otlp_columnar.by_reference(parsed, batch, task.source, dead)
            parsed = []
        try:
            document = otlp_json.load(payload)
        except ValueError as exc:
            text = payload.decode("utf-8", "replace")
            dead.append(DeadLetter(task.source, position, f"invalid JSON: {exc}", text))
            continue
        letters, had_traces = otlp_json.decode_document(document, batch, task.source, position)
        dead.extend(letters)
        skipped += 0 if had_traces else 1
    # Upb has parsed (and so checked) every request; the columnar decoder reads their bytes.
    raw = otlp_columnar.decode_or_reference(parsed, batch, task.source, dead)
    return Decoded(normalize(batch.to_frame() if raw is None else raw), dead, skipped)


def _decode_phoenix(task: Task) -> Decoded:
    if task.format is Format.PHOENIX_JSONL:
        raw, dead = phoenix.read_jsonl_lines(task.items, task.source)
    else:
        raw, dead = phoenix.read_file(Path(task.items[0][1].decode()), task.format, task.source)
    return Decoded(normalize(raw), dead, 0)


def _decode_langfuse(task: Task) -> Decoded:
    path = Path(task.items[0][1].decode())
    if task.format is Format.LANGFUSE_SQLITE:
        if is_compressed(path):
            raise UnreadableInput("a compressed SQLite database: decompress it first")
        frames, dead = langfuse_sqlite.read_database(path, task.source, normalize)
    elif task.format is Format.LANGFUSE_JSON:
        with open_binary(path) as stream:
            data = stream.read()
        try:
            document = otlp_json.load(data)
        except ValueError as exc:
            raise UnreadableInput(f"invalid JSON: {exc}") from None
        del data
        frames, dead = langfuse.decode_documents([("document", document)], task.source, normalize)
    else:
        frames, dead = _langfuse_lines(path, task.source)
    spans = pl.concat(frames) if frames else normalize(RawBatch().to_frame())
    return Decoded(spans, dead, 0)


def _langfuse_lines(path: Path, source: str) -> tuple[list[pl.DataFrame], list[DeadLetter]]:
    """Langfuse JSON Lines in two passes: the trace records, then the rest a chunk at a time.

    A line without ``"traceId"`` holds no observation or score (traces, pages of them, or
    something else: a dead letter); the first pass reads only those, so every trace is
    known before the second pass, and memory holds the traces and one chunk of spans.
    """
    decoder = langfuse.Decoder(source, normalize)
    for first_pass in (True, False):
        with open_binary(path) as stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip() or first_pass == (b'"traceId"' in line):
                    continue
                position = f"line {number}"
                try:
                    document = otlp_json.load(line)
                except ValueError as exc:
                    text = line.decode("utf-8", "replace")
                    decoder.dead.append(DeadLetter(source, position, f"invalid JSON: {exc}", text))
                    continue
                decoder.add(position, document)
    return decoder.finish(), decoder.dead


def _b64(payload: bytes) -> str:
    import base64

    return base64.b64encode(payload).decode("ascii")
