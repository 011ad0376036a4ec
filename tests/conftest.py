"""Shared fixtures: the fixture files, a scratch store, and a builder for OTLP requests.

The builder makes small ``ExportTraceServiceRequest`` messages inline, so a test shows the
exact attributes it feeds in; ``otlp.canonical(request)`` runs them through the real
decoder and normaliser and returns canonical spans.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from pyflare_cli.schema import COLUMNS, POLARS_SCHEMA
from pyflare_cli.sources.normalize import normalize
from pyflare_cli.sources.otlp_proto import decode_request
from pyflare_cli.sources.otlp_wire import varint
from pyflare_cli.sources.raw import DeadLetter, RawBatch
from pyflare_cli.store.catalog import Catalog, SourceRecord
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.writer import SpanWriter

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``fixtures/`` of the repository (made by ``scripts/make_fixtures.py``)."""
    return ROOT / "fixtures"


@pytest.fixture
def tmp_store(tmp_path: Path) -> Path:
    """A store folder that does not exist yet."""
    return tmp_path / "store"


def canonical_spans(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """A canonical frame from partial rows.

    ``start_time`` (aware datetime) and ``span_id`` are needed; ``trace_id`` defaults to
    ``t-<span_id>``, ``end_time`` to start + ``ms`` (default 1) milliseconds, maps and
    lists to empty, every other column to null.
    """
    full = []
    for row in rows:
        start: datetime = row["start_time"]
        end = row.get("end_time") or start + timedelta(milliseconds=row.get("ms", 1))
        out: dict[str, Any] = {c: None for c in COLUMNS}
        out.update(
            trace_id=f"t-{row['span_id']}",
            name="op",
            kind="internal",
            status_code="unset",
            service_name="svc",
            attributes={},
            resource_attributes={},
            events=[],
            links=[],
        )
        out.update({k: v for k, v in row.items() if k != "ms"})
        out.update(end_time=end, duration_ns=(end - start) // timedelta(microseconds=1) * 1000)
        full.append(out)
    return pl.DataFrame(full, schema=POLARS_SCHEMA)


@pytest.fixture
def make_spans() -> Callable[..., pl.DataFrame]:
    """``make_spans(*rows)``: see :func:`canonical_spans`."""

    def make(*rows: Mapping[str, Any]) -> pl.DataFrame:
        return canonical_spans(rows)

    return make


def commit_spans(root: Path, frame: pl.DataFrame, source: str) -> list[Path]:
    """Write ``frame`` into the store at ``root`` as one committed source; its part files."""
    layout = StoreLayout(root)
    catalog = Catalog(layout.catalog)
    try:
        writer = SpanWriter(layout)
        writer.write(frame)
        finals = [final for _, final in writer.pending]
        record = SourceRecord(
            sha256=source,
            path=f"/inputs/{source}",
            size=1,
            format="otlp-json",
            rows=writer.rows,
            dead_lettered=0,
            ingested_at="2025-01-01T00:00:00+00:00",
            state="committing",
            files=writer.final_names(),
        )
        writer.commit(catalog, record)
    finally:
        catalog.close()
    return finals


@pytest.fixture
def add_source() -> Callable[[Path, pl.DataFrame, str], list[Path]]:
    """``add_source(root, frame, name)``: commit ``frame`` as one source (real Parquet, SQLite)."""
    return commit_spans


class OtlpBuilder:
    """Builds OTLP protobuf requests (and their JSON forms) for tests."""

    TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
    T0 = 1_763_640_000_000_000_000  # 2025-11-20T12:00:00Z, the fixtures' time
    MS = 1_000_000

    @staticmethod
    def value(value: Any) -> AnyValue:
        """A Python value as an OTLP AnyValue (bytes, bool, int, float, str, list, dict)."""
        out = AnyValue()
        if isinstance(value, AnyValue):
            out.CopyFrom(value)
        elif isinstance(value, bytes):
            out.bytes_value = value
        elif isinstance(value, bool):
            out.bool_value = value
        elif isinstance(value, int):
            out.int_value = value
        elif isinstance(value, float):
            out.double_value = value
        elif isinstance(value, str):
            out.string_value = value
        elif isinstance(value, list | tuple):
            out.array_value.values.extend(OtlpBuilder.value(v) for v in value)
        elif isinstance(value, dict):
            out.kvlist_value.values.extend(OtlpBuilder.key_values(value))
        elif value is not None:
            raise TypeError(f"no AnyValue for {value!r}")
        return out

    @staticmethod
    def key_values(attributes: Mapping[str, Any] | None) -> list[KeyValue]:
        return [
            KeyValue(key=key, value=OtlpBuilder.value(value))
            for key, value in (attributes or {}).items()
        ]

    def span(
        self,
        span_id: str = "00f067aa0ba902b7",
        *,
        trace_id: str | None = None,
        parent: str | None = None,
        name: str = "span",
        kind: int = Span.SPAN_KIND_INTERNAL,
        start_ms: float = 0,
        duration_ms: float = 10,
        attributes: Mapping[str, Any] | None = None,
        events: Iterable[tuple[str, float, Mapping[str, Any]]] = (),
        links: Iterable[tuple[str, str, Mapping[str, Any]]] = (),
        status: int = Status.STATUS_CODE_UNSET,
        status_message: str = "",
    ) -> Span:
        """One span. ``events``: (name, ms after T0, attrs); ``links``: (trace, span, attrs)."""
        start = self.T0 + int(start_ms * self.MS)
        span = Span(
            trace_id=bytes.fromhex(trace_id or self.TRACE),
            span_id=bytes.fromhex(span_id),
            parent_span_id=bytes.fromhex(parent) if parent else b"",
            name=name,
            kind=kind,
            start_time_unix_nano=start,
            end_time_unix_nano=start + int(duration_ms * self.MS),
            status=Status(code=status, message=status_message),
        )
        span.attributes.extend(self.key_values(attributes))
        for event_name, at_ms, event_attributes in events:
            event = span.events.add()
            event.name = event_name
            event.time_unix_nano = self.T0 + int(at_ms * self.MS)
            event.attributes.extend(self.key_values(event_attributes))
        for link_trace, link_span, link_attributes in links:
            link = span.links.add()
            link.trace_id = bytes.fromhex(link_trace)
            link.span_id = bytes.fromhex(link_span)
            link.attributes.extend(self.key_values(link_attributes))
        return span

    def request(
        self,
        *spans: Span,
        resource: Mapping[str, Any] | None = None,
        scope: str = "tests",
    ) -> ExportTraceServiceRequest:
        """One request: one resource (``service.name`` defaults to ``svc``), one scope."""
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            self.key_values({"service.name": "svc"} if resource is None else resource)
        )
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = scope
        scope_spans.spans.extend(spans)
        return request

    def stream(self, *requests: ExportTraceServiceRequest) -> bytes:
        """Requests framed by varint lengths (protobuf's writeDelimitedTo)."""
        out = b""
        for request in requests:
            data = request.SerializeToString()
            out += varint(len(data)) + data
        return out

    @staticmethod
    def to_json(request: ExportTraceServiceRequest, *, hex_ids: bool = True) -> dict[str, Any]:
        """The OTLP/JSON form: lowerCamelCase keys, hex ids (or protobuf's base64 ids)."""
        document = MessageToDict(request)
        if not hex_ids:
            return document

        def to_hex(item: dict[str, Any]) -> None:
            for key in ("traceId", "spanId", "parentSpanId"):
                if item.get(key):
                    item[key] = base64.b64decode(item[key]).hex()

        document = copy.deepcopy(document)
        for resource_spans in document.get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    to_hex(span)
                    for link in span.get("links", []):
                        to_hex(link)
        return document

    @staticmethod
    def decode(request: ExportTraceServiceRequest) -> tuple[pl.DataFrame, list[DeadLetter]]:
        """Canonical spans and dead letters of one request, through the real decoder."""
        batch = RawBatch()
        dead = decode_request(request, batch, "test", "request 0")
        return normalize(batch.to_frame()), dead

    def canonical(self, request: ExportTraceServiceRequest) -> pl.DataFrame:
        spans, dead = self.decode(request)
        assert dead == [], dead
        return spans

    def one(self, attributes: Mapping[str, Any], **span: Any) -> dict[str, Any]:
        """The canonical row of a single span with these attributes."""
        spans = self.canonical(self.request(self.span(attributes=attributes, **span)))
        assert spans.height == 1
        return spans.row(0, named=True)


@pytest.fixture
def otlp() -> OtlpBuilder:
    return OtlpBuilder()
