"""Decode one task into canonical spans: the per-format decoders behind one entry point.

This is the expensive half of ingest, and the half that runs in worker processes
(:mod:`pyflare_cli.ingest.workers`); cutting the input into tasks is
:mod:`pyflare_cli.sources.tasks`. A payload that cannot be decoded becomes a dead letter with
its reason; it never takes the rest of its task down with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
from pyflare_cli.sources.raw import DeadLetter, RawBatch
from pyflare_cli.sources.tasks import Task


@dataclass
class Decoded:
    """The result of one task: canonical spans and what could not be used."""

    spans: pl.DataFrame
    dead: list[DeadLetter]
    skipped: int


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
