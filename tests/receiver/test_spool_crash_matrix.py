"""The spool crash matrix: a crash tears the last record at any byte; nothing before it is lost.

A torn length prefix made the splitter raise before it yielded what it had read: the
whole segment went to the dead letters, and for a large segment the complete records of
the task in progress were deleted outright (a dead letter with ``"record": null``). Here
the last record of a segment is cut at every byte offset of its prefix and its payload,
and each segment goes through the flusher, the receiver's own path into the store.
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any

import polars as pl
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

from pyflare_cli.receiver.flusher import Flusher, FlushResult
from pyflare_cli.receiver.server import SPOOL_FOLDER, ReceiverConfig
from pyflare_cli.sources.otlp_wire import varint
from pyflare_cli.store.scan import scan_spans

START = 1_700_000_000_000_000_000
COMPLETE = 3
"""Complete records before the torn one, two spans each."""


def _proto_request(segment: int, record: int, spans: int) -> bytes:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index in range(spans):
        span = scope.spans.add()
        span.trace_id = (segment * 1000 + record + 1).to_bytes(16, "big")
        span.span_id = (segment * 1000 + record * 10 + index + 1).to_bytes(8, "big")
        span.name = f"segment {segment} record {record}"
        span.start_time_unix_nano = START + index
        span.end_time_unix_nano = START + index + 1_000
    return request.SerializeToString()


def _json_line(segment: int, record: int, spans: int) -> bytes:
    rows = [
        {
            "traceId": f"{segment * 1000 + record + 1:032x}",
            "spanId": f"{segment * 1000 + record * 10 + index + 1:016x}",
            "name": f"segment {segment} record {record}",
            "startTimeUnixNano": str(START + index),
            "endTimeUnixNano": str(START + index + 1_000),
        }
        for index in range(spans)
    ]
    document = {"resourceSpans": [{"scopeSpans": [{"spans": rows}]}]}
    return json.dumps(document).encode() + b"\n"


def _flush_all(root: Path, segments: list[Path]) -> list[FlushResult]:
    results: list[FlushResult] = []
    done = threading.Event()

    def collect(result: FlushResult) -> None:
        results.append(result)
        if len(results) == len(segments):
            done.set()

    flusher = Flusher(root, collect, workers=1)
    for segment in segments:
        flusher.submit(segment)
    assert done.wait(300), f"{len(results)} of {len(segments)} segments flushed"
    flusher.drain_and_stop()
    return results


def _dead_letters(root: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((root / "dead_letter").rglob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_proto_segment_torn_at_every_byte_of_its_last_record(tmp_path: Path) -> None:
    root, spool = tmp_path / "store", tmp_path / "spool"
    spool.mkdir()
    last = _proto_request(0, COMPLETE, 1)
    record = varint(len(last)) + last
    segments = []
    for cut in range(1, len(record)):  # 0 and len(record): no torn record at all
        framed = [_proto_request(cut, r, 2) for r in range(COMPLETE)]
        complete = b"".join(varint(len(p)) + p for p in framed)
        path = spool / f"{cut:012d}-1.pb"
        path.write_bytes(complete + record[:cut])
        segments.append(path)
    results = _flush_all(root, segments)
    assert all(r.error is None and r.removed for r in results), [r for r in results if r.error]
    stored = scan_spans(root).collect()
    per_segment = stored.group_by(pl.col("name").str.extract(r"segment (\d+)")).len()
    assert per_segment.height == len(segments)
    assert per_segment["len"].to_list() == [COMPLETE * 2] * len(segments)
    # Every torn tail is a dead letter holding exactly the bytes that were on disk.
    tails = sorted(base64.b64decode(d["record"]) for d in _dead_letters(root))
    assert tails == sorted(record[:cut] for cut in range(1, len(record)))


def test_jsonl_segment_torn_at_every_byte_of_its_last_line(tmp_path: Path) -> None:
    root, spool = tmp_path / "store", tmp_path / "spool"
    spool.mkdir()
    last = _json_line(0, COMPLETE, 1)
    segments = []
    # Every 7th byte and the last one (the line is ~250 bytes; each cut is one flush). A
    # cut of only the newline leaves a whole document, which is stored: not a torn record.
    cuts = sorted({*range(1, len(last) - 1, 7), len(last) - 2})
    for cut in cuts:
        complete = b"".join(_json_line(cut, r, 2) for r in range(COMPLETE))
        path = spool / f"{cut:012d}-1.jsonl"
        path.write_bytes(complete + last[:cut])
        segments.append(path)
    results = _flush_all(root, segments)
    assert all(r.error is None and r.removed for r in results), [r for r in results if r.error]
    stored = scan_spans(root).collect()
    per_segment = stored.group_by(pl.col("name").str.extract(r"segment (\d+)")).len()
    assert per_segment["len"].to_list() == [COMPLETE * 2] * len(segments)
    letters = _dead_letters(root)
    assert len(letters) == len(cuts)
    assert sorted(d["record"] for d in letters) == sorted(last[:c].decode() for c in cuts)


def test_a_receiver_recovers_a_torn_open_segment(tmp_path: Path) -> None:
    # The crash left an open segment whose last record is torn inside its length prefix.
    root = tmp_path / "store"
    spool = root / SPOOL_FOLDER
    spool.mkdir(parents=True)
    framed = [_proto_request(1, r, 2) for r in range(COMPLETE)]
    big = _proto_request(1, COMPLETE, 400)
    torn = varint(len(big))[:1]  # the prefix of a >127-byte record, cut after one byte
    (spool / "000000000001-99.pb.open").write_bytes(
        b"".join(varint(len(p)) + p for p in framed) + torn
    )
    config = ReceiverConfig(root=root, http="127.0.0.1:0", grpc=None, workers=1)
    running = Running(config)
    try:
        assert running.stored(at_least=COMPLETE * 2, timeout=60).height == COMPLETE * 2
    finally:
        running.stop()
    assert not list(spool.iterdir())
    (letter,) = _dead_letters(root)
    assert base64.b64decode(letter["record"]) == torn
