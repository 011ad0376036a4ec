"""Open an input transparently (gzip, zstd, stdin) and tell its format from its content.

Extensions are hints at most: a `.json` that holds JSON Lines, a protobuf dump called
`.bin`, or a gzip file without `.gz` are all recognised by their first bytes.
"""

from __future__ import annotations

import gzip
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import IO

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
PARQUET_MAGIC = b"PAR1"
SNIFF_BYTES = 1 << 16


class Format(StrEnum):
    """Every input format pyflare reads."""

    OTLP_PROTO = "otlp-proto"
    OTLP_PROTO_STREAM = "otlp-proto-stream"
    OTLP_JSON = "otlp-json"
    OTLP_JSONL = "otlp-jsonl"
    PHOENIX_JSONL = "phoenix-jsonl"
    PHOENIX_JSON = "phoenix-json"
    PHOENIX_CSV = "phoenix-csv"
    PHOENIX_PARQUET = "phoenix-parquet"


class UnreadableInput(ValueError):
    """The whole input cannot be read; the message says why (one line)."""


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
    return None


def sniff(path: Path) -> Format:
    """The format of ``path``, from its (decompressed) first bytes."""
    with open_binary(path) as stream:
        head = stream.read(SNIFF_BYTES)
    if not head:
        raise UnreadableInput("empty file")
    if head.startswith(PARQUET_MAGIC):
        return Format.PHOENIX_PARQUET
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text_head[:1] in (b"{", b"["):
        return _sniff_json(path, text_head)
    if _looks_like_text(head):
        first_line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
        if any(marker in first_line for marker in _PHOENIX_MARKERS) and "," in first_line:
            return Format.PHOENIX_CSV
        raise UnreadableInput("text that is neither OTLP/JSON, JSON Lines nor a Phoenix CSV")
    if head[0] == 0x0A:
        return Format.OTLP_PROTO
    return Format.OTLP_PROTO_STREAM


def _looks_like_text(head: bytes) -> bool:
    sample = head[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:
            return False
    return b"\x00" not in sample


def _sniff_json(path: Path, head: bytes) -> Format:
    if head.startswith(b"["):
        return Format.PHOENIX_JSON
    first_line = head.split(b"\n", 1)[0]
    try:
        first = json.loads(first_line)
    except ValueError:
        first = None
    if first is not None:
        kind = _json_kind(first)
        rest = head[len(first_line) :].strip()
        if kind == "phoenix":
            return Format.PHOENIX_JSONL
        if rest or kind == "otlp":
            return Format.OTLP_JSONL
        raise UnreadableInput("JSON that is neither OTLP (resourceSpans) nor a Phoenix span export")
    # A pretty-printed document spans many lines: it is one OTLP/JSON request.
    return Format.OTLP_JSON
