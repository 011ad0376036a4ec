"""Every layout the Collector's file exporter writes reads back as the same spans.

The files are framed exactly as ``exporter/fileexporter`` frames them (``file_writer.go``:
``exportMessageAsLine`` and ``exportMessageAsBuffer``, a 4-byte big-endian length before
each message; ``compression_writer.go``: one zstd stream, or one frame per write when the
file rotates), around requests the real OpenTelemetry SDK encoded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from polars.testing import assert_frame_equal

from pyflare_cli.ingest.pipeline import Ingestor
from pyflare_cli.sources.decoding import decode
from pyflare_cli.sources.opening import Format, sniff
from pyflare_cli.sources.tasks import split
from pyflare_cli.store.scan import scan_spans


def _messages(tmp: Any) -> list[Any]:
    """Three ExportTraceServiceRequests of real SDK spans (an LLM call, an error, a tool)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("collector-files")
    requests = []
    for batch in range(3):
        with tracer.start_as_current_span(f"agent {batch}") as root:
            root.set_attribute("gen_ai.operation.name", "invoke_agent")
            with tracer.start_as_current_span("chat gpt-4o-mini") as llm:
                llm.set_attribute("gen_ai.operation.name", "chat")
                llm.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                llm.set_attribute("gen_ai.usage.input_tokens", 100 + batch)
                llm.set_attribute("gen_ai.usage.output_tokens", 20)
                llm.set_attribute("gen_ai.response.finish_reasons", ["stop"])
                if batch == 1:
                    llm.set_status(Status(StatusCode.ERROR, "rate limited"))
        requests.append(encode_spans(exporter.get_finished_spans()))
        exporter.clear()
    provider.shutdown()
    return requests


def _hex_json(request: Any) -> bytes:
    """The JSON the Collector's ptrace.JSONMarshaler writes: hex ids, camelCase keys."""
    from google.protobuf.json_format import MessageToDict

    document = MessageToDict(request)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        import base64

                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(document, separators=(",", ":")).encode()


def _prefixed(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


LAYOUTS: dict[str, Callable[[list[Any]], bytes]] = {
    # format: json (exportMessageAsLine)
    "json": lambda rs: b"".join(_hex_json(r) + b"\n" for r in rs),
    # format: proto (exportMessageAsBuffer)
    "proto": lambda rs: b"".join(_prefixed(r.SerializeToString()) for r in rs),
    # legacy compression: zstd, each message compressed, then length-prefixed
    "json+zstd per message": lambda rs: b"".join(_prefixed(_zstd(_hex_json(r))) for r in rs),
    "proto+zstd per message": lambda rs: b"".join(
        _prefixed(_zstd(r.SerializeToString())) for r in rs
    ),
    # native compression: one zstd stream around the lines or the prefixed messages
    "json+zstd stream": lambda rs: _zstd(b"".join(_hex_json(r) + b"\n" for r in rs)),
    "proto+zstd stream": lambda rs: _zstd(b"".join(_prefixed(r.SerializeToString()) for r in rs)),
    # native compression with rotation: one zstd frame per write
    "proto+zstd frame per write": lambda rs: b"".join(
        _zstd(_prefixed(r.SerializeToString())) for r in rs
    ),
}


def _read(path: Path) -> pl.DataFrame:
    fmt = sniff(path)
    frames = [decode(task) for task in split(path, fmt, path.name)]
    assert all(not f.dead for f in frames), [f.dead for f in frames]
    return pl.concat([f.spans for f in frames]).sort("span_id")


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_layout_gives_the_same_rows(layout: str, tmp_path: Path) -> None:
    requests = _messages(tmp_path)
    reference = tmp_path / "reference.jsonl"
    reference.write_bytes(LAYOUTS["json"](requests))
    path = tmp_path / "traces.out"
    path.write_bytes(LAYOUTS[layout](requests))
    spans = _read(path)
    assert spans.height == 6
    assert_frame_equal(spans, _read(reference))
    llm = spans.filter(pl.col("ai_kind") == "llm").sort("input_tokens")
    assert llm["input_tokens"].to_list() == [100, 101, 102]
    assert llm["finish_reason"].to_list() == ["stop"] * 3
    assert llm["status_code"].to_list() == ["unset", "error", "unset"]
    if "proto" in layout and "stream" not in layout and "frame" not in layout:
        assert sniff(path) is Format.COLLECTOR_FRAMED


def test_rotated_files_in_a_folder_all_go_in(tmp_path: Path) -> None:
    requests = _messages(tmp_path)
    folder = tmp_path / "otel"
    folder.mkdir()
    names = [
        "traces.json",
        "traces-2026-12-07T10-00-00.000.json",
        "traces-2026-12-07T11-00-00.000.json",
    ]
    for name, request in zip(names, requests, strict=True):
        (folder / name).write_bytes(_prefixed(request.SerializeToString()))
    store = tmp_path / "store"
    ingestor = Ingestor(store, workers=1)
    try:
        report = ingestor.ingest([str(p) for p in sorted(folder.iterdir())])
    finally:
        ingestor.close()
    assert [f.format for f in report.files] == ["otlp-collector-framed"] * 3
    assert report.spans == 6 and report.failed == []
    assert scan_spans(store).collect().height == 6


def test_a_cut_message_keeps_the_whole_ones_before_it(tmp_path: Path) -> None:
    requests = _messages(tmp_path)
    path = tmp_path / "cut.bin"
    path.write_bytes(LAYOUTS["proto"](requests)[:-5])
    ingestor = Ingestor(tmp_path / "store", workers=1)
    try:
        (result,) = ingestor.ingest([str(path)]).files
    finally:
        ingestor.close()
    assert (result.status, result.spans, result.dead_lettered) == ("ingested", 4, 1)


def test_a_corrupt_zstd_message_is_one_dead_letter(tmp_path: Path) -> None:
    requests = _messages(tmp_path)
    bad = _zstd(requests[1].SerializeToString())
    bad = bad[:6] + b"\xff" * (len(bad) - 6)
    path = tmp_path / "bad.bin"
    path.write_bytes(
        _prefixed(_zstd(requests[0].SerializeToString()))
        + _prefixed(bad)
        + _prefixed(_zstd(requests[2].SerializeToString()))
    )
    fmt = sniff(path)
    decoded = [decode(task) for task in split(path, fmt, path.name)]
    assert sum(d.spans.height for d in decoded) == 4
    (letter,) = [letter for d in decoded for letter in d.dead]
    assert letter.position == f"message 1 (byte {4 + len(_zstd(requests[0].SerializeToString()))})"


def test_a_varint_stream_with_a_big_first_request_is_not_taken_for_prefixes() -> None:
    from pyflare_cli.sources.collector import looks_framed
    from pyflare_cli.sources.otlp_wire import varint

    # A 5.5 MB request: a 4-byte varint, then the request's 0x0a, as `pyflare demo` writes.
    head = varint(5_500_000) + b"\x0a" + b"\x00" * 100
    assert len(varint(5_500_000)) == 4
    assert not looks_framed(head, whole=False)
    assert looks_framed((5_500_000).to_bytes(4, "big") + b"\x0a" + b"\x00" * 100, whole=False)
