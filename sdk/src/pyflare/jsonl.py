"""A span exporter that appends OTLP JSON Lines to a file, for tests and CI without a server.

The OpenTelemetry Python SDK has no file exporter in the OTLP format, so this one reuses the
OTLP exporters' own protobuf encoder (the same request the HTTP exporter would send) and
prints it as OTLP/JSON as the spec writes it: lowerCamelCase keys and hex trace and span
ids. Each export is one line, the format of the Collector's ``file`` exporter, which
``pyflare ingest`` reads. Lines are written whole under a lock and flushed at once, so a
crash loses at most the batch being written, and two processes appending to one file (with
``O_APPEND``) do not interleave within a line.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(item: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = item.get(key)
        if value:
            item[key] = base64.b64decode(value).hex()


def request_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The OTLP/JSON ``ExportTraceServiceRequest`` of ``spans`` (hex ids, camelCase keys)."""
    document: dict[str, Any] = MessageToDict(encode_spans(spans))
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                _hex_ids(span)
                for link in span.get("links", []):
                    _hex_ids(link)
    return document


class JsonLinesExporter(SpanExporter):
    """Appends one OTLP/JSON request per export to ``path`` (created with its folder)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        line = json.dumps(request_json(spans), separators=(",", ":"), ensure_ascii=False)
        data = (line + "\n").encode()
        with self._lock:
            if self._fd is None:
                return SpanExportResult.FAILURE
            try:
                written = 0
                while written < len(data):
                    written += os.write(self._fd, data[written:])
            except OSError:
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
        return True

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
