"""Open an input transparently (gzip, zstd, stdin) and tell its format from its content.

Extensions are hints at most: a `.json` that holds JSON Lines, a protobuf dump called
`.bin`, a gzip file without `.gz`, or the Collector file exporter's length-prefixed
messages in a `.json` are all recognised by their first bytes.
"""

from __future__ import annotations

import gzip
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import IO

import zstandard
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.sources.collector import looks_framed
from pyflare_cli.sources.langfuse_shapes import record_kind

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
SQLITE_MAGIC = b"SQLite format 3\x00"
SNIFF_BYTES = 1 << 16


class Format(StrEnum):
    """Every input format pyflare reads."""

    OTLP_PROTO = "otlp-proto"
    OTLP_PROTO_STREAM = "otlp-proto-stream"
    COLLECTOR_FRAMED = "otlp-collector-framed"
    OTLP_JSON = "otlp-json"
    OTLP_JSONL = "otlp-jsonl"
    PHOENIX_JSONL = "phoenix-jsonl"
    PHOENIX_JSON = "phoenix-json"
    PHOENIX_CSV = "phoenix-csv"
    PHOENIX_PARQUET = "phoenix-parquet"
    LANGFUSE_JSON = "langfuse-json"
    LANGFUSE_JSONL = "langfuse-jsonl"
    LANGFUSE_SQLITE = "langfuse-sqlite"


class UnreadableInput(ValueError):
    """The whole input cannot be read; the message says why (one line)."""

    record: object = None
    """The bytes that could not be read (base64), when they are known: a torn tail."""


def open_binary(path: Path) -> IO[bytes]:
    """A buffered binary stream of the decompressed content of ``path``."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller
    head = raw.read(4)
    raw.seek(0)
    if head.startswith(GZIP_MAGIC):
        return io.BufferedReader(gzip.GzipFile(fileobj=raw), buffer_size=1 << 20)
    if head.startswith(ZSTD_MAGIC):
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return io.BufferedReader(raw, buffer_size=1 << 20)


def is_compressed(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4)
    return head.startswith(GZIP_MAGIC) or head.startswith(ZSTD_MAGIC)


_PHOENIX_MARKERS = ("context.span_id", "context.trace_id", "span_kind")


def _json_kind(obj: object) -> str | None:
    if not isinstance(obj, dict):
        return None
    keys = set(obj)
    otlp = {"resourceSpans", "resource_spans", "resourceMetrics", "resource_metrics"}
    if keys & (otlp | {"resourceLogs", "resource_logs"}):
        return "otlp"
    if any(marker in keys for marker in _PHOENIX_MARKERS) or isinstance(obj.get("context"), dict):
        return "phoenix"
    if record_kind(obj) is not None:
        return "langfuse"
    return None


def sniff(path: Path) -> Format:
    """The format of ``path``, from its (decompressed) first bytes."""
    with open_binary(path) as stream:
        head = stream.read(SNIFF_BYTES)
        whole = not stream.read(1)
    if not head:
        raise UnreadableInput("empty file")
    if head.startswith(PARQUET_MAGIC):
        return Format.PHOENIX_PARQUET
    if head.startswith(SQLITE_MAGIC):
        return Format.LANGFUSE_SQLITE
    if head[0] != 0x0A and looks_framed(head, whole):
        return Format.COLLECTOR_FRAMED
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text_head[:1] in (b"{", b"["):
        return _sniff_json(text_head, whole)
    if _looks_like_text(head):
        first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
        if any(marker in first_line for marker in _PHOENIX_MARKERS) and "," in first_line:
            return Format.PHOENIX_CSV
        raise UnreadableInput("text that is neither OTLP/JSON, JSON Lines nor a Phoenix CSV")
    fmt = Format.OTLP_PROTO if head[0] == 0x0A else Format.OTLP_PROTO_STREAM
    if fmt is Format.OTLP_PROTO_STREAM and not _first_frame_decodes(head, whole):
        raise UnreadableInput(
            "binary data that is neither an OTLP protobuf request nor a length-delimited stream"
        )
    return fmt


def _first_frame_decodes(head: bytes, whole: bool) -> bool:
    """Whether ``head`` starts with a varint length and (when it fits) an OTLP request."""
    length, shift, index = 0, 0, 0
    while True:
        if index >= len(head) or shift > 63:
            return False
        byte = head[index]
        length |= (byte & 0x7F) << shift
        index += 1
        if not byte & 0x80:
            break
        shift += 7
    payload = head[index : index + length]
    if len(payload) < length:
        # The first request is longer than the sniffed head: only a whole file can tell.
        return not whole
    if not payload.startswith(b"\x0a"):
        return False
    try:
        ExportTraceServiceRequest().ParseFromString(payload)
    except DecodeError:
        return False
    return True


def _looks_like_text(head: bytes) -> bool:
    sample = head[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:
            return False
    return b"\x00" not in sample


def _langfuse_document(head: bytes) -> bool:
    """Whether a JSON document's head reads as Langfuse's API (camelCase Langfuse fields)."""
    return any(marker in head[:8192] for marker in _LANGFUSE_MARKERS)


_LANGFUSE_MARKERS = (
    b'"traceId"',
    b'"parentObservationId"',
    b'"htmlPath"',
    b'"sessionId"',
    b'"dataType"',
)


def _sniff_json(head: bytes, whole: bool) -> Format:
    if head.startswith(b"["):
        if _langfuse_document(head) and b'"context.span_id"' not in head[:8192]:
            return Format.LANGFUSE_JSON
        return Format.PHOENIX_JSON
    if whole and _langfuse_document(head) and b'"resourceSpans"' not in head:
        try:
            document = json.loads(head)
        except (ValueError, RecursionError):
            document = None
        if record_kind(document) is not None:
            return Format.LANGFUSE_JSON
    lines = head.split(b"\n")
    complete = lines if whole else lines[:-1]
    if not complete:
        # One line longer than the sniffed head: a compact document or a JSON Lines file
        # with long lines; both read line by line. Tell OTLP from Phoenix by their keys.
        return _jsonl_by_markers(head)
    first_line = complete[0]
    try:
        first = json.loads(first_line)
    except (ValueError, RecursionError):
        first = None
    if first is not None:
        kind = _json_kind(first) or _first_known_kind(complete[1:])
        if kind == "langfuse":
            return Format.LANGFUSE_JSONL
        if kind == "phoenix":
            return Format.PHOENIX_JSONL
        if kind == "otlp":
            return Format.OTLP_JSONL
        raise UnreadableInput(_UNKNOWN_JSON)
    following = next((line for line in complete[1:] if line.strip()), b"")
    if first_line.strip() in (b"{", b"[") or following[:1] in (b" ", b"\t", b"}", b"]"):
        # A pretty-printed document spans many lines: one OTLP/JSON request, or a page
        # of Langfuse's API.
        if _langfuse_document(head) and b'"resourceSpans"' not in head:
            return Format.LANGFUSE_JSON
        return Format.OTLP_JSON
    # JSON Lines whose first line is broken: the lines that parse tell the kind.
    kind = _first_known_kind(complete[1:])
    if kind == "langfuse":
        return Format.LANGFUSE_JSONL
    if kind == "phoenix":
        return Format.PHOENIX_JSONL
    if kind == "otlp":
        return Format.OTLP_JSONL
    return _jsonl_by_markers(head)


_UNKNOWN_JSON = "JSON that is neither OTLP (resourceSpans), a Phoenix nor a Langfuse export"


def _first_known_kind(lines: list[bytes]) -> str | None:
    """The kind of the first of ``lines`` that parses as a record pyflare knows."""
    for line in lines:
        try:
            kind = _json_kind(json.loads(line))
        except (ValueError, RecursionError):
            continue
        if kind is not None:
            return kind
    return None


def _jsonl_by_markers(head: bytes) -> Format:
    otlp = head.find(b'"resource')
    phoenix = min(
        (i for i in (head.find(m.encode()) for m in _PHOENIX_MARKERS) if i >= 0), default=-1
    )
    if phoenix >= 0 and (otlp < 0 or phoenix < otlp):
        return Format.PHOENIX_JSONL
    if otlp < 0 and _langfuse_document(head):
        return Format.LANGFUSE_JSONL  # one long line: a compact page, or long records
    if otlp < 0:
        raise UnreadableInput(_UNKNOWN_JSON)
    return Format.OTLP_JSONL
