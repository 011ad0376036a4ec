"""OTLP/HTTP from a plain httpx client: encodings, limits, status codes, auth."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from receiver_support import Running

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "otlp"
JSON_BODY = (FIXTURES / "trace.json").read_bytes()
PB_BODY = (FIXTURES / "trace.pb").read_bytes()
PB = {"content-type": "application/x-protobuf"}
JS = {"content-type": "application/json"}


@pytest.fixture
def running(start_receiver: Callable[..., Running]) -> Running:
    return start_receiver(max_body=64 * 1024)


def _post(running: Running, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{running.http_url}/v1/traces", content=body, headers=headers, timeout=10)


def test_protobuf_and_json_bodies_in_every_encoding(running: Running) -> None:
    answers = [
        _post(running, PB_BODY, PB),
        _post(running, gzip.compress(PB_BODY), {**PB, "content-encoding": "gzip"}),
        _post(running, JSON_BODY, JS),
        _post(running, zlib.compress(JSON_BODY), {**JS, "content-encoding": "deflate"}),
    ]
    assert [a.status_code for a in answers] == [200] * 4
    assert answers[0].headers["content-type"] == "application/x-protobuf"
    assert (
        ExportTraceServiceResponse.FromString(answers[0].content).partial_success.rejected_spans
        == 0
    )
    assert answers[2].json() == {}
    # The same 4 spans, 4 times: compaction removes repeats. Two spool segments with the
    # same bytes are one source to the store (as a re-ingested file is), so under load,
    # when the bodies land in separate segments, a repeat may be stored once, not twice.
    # Waiting for 16 waited out the whole timeout (60 s) whenever that happened; the
    # protobuf and JSON bodies differ in bytes, so 8 are always stored.
    stored = running.stored(at_least=8)
    assert stored.height in (8, 12, 16)
    assert set(stored["span_id"].to_list()) == {
        "eee19b7ec3c1b174",
        "eee19b7ec3c1b175",
        "eee19b7ec3c1b176",
        "eee19b7ec3c1b177",
    }


def test_partial_success_counts_and_explains_rejected_spans(running: Running) -> None:
    document = json.loads(JSON_BODY)
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[1]["spanId"] = "nope"
    answer = _post(running, json.dumps(document).encode(), JS)
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "invalid spanId 'nope'" in partial["errorMessage"]
    stored = running.stored(at_least=3)
    assert stored.height == 3
    letters = list((running.root / "dead_letter").rglob("*.jsonl"))
    assert letters and "invalid spanId" in letters[0].read_text()


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"\xff\xfe not protobuf", PB, 400, "not an OTLP ExportTraceServiceRequest"),
        (b"{not json", JS, 400, "not JSON"),
        (b'{"resourceMetrics": []}', JS, 400, "takes traces only"),
        (gzip.compress(JSON_BODY)[:-12], {**JS, "content-encoding": "gzip"}, 400, "truncated gzip"),
        (b"garbage", {**JS, "content-encoding": "gzip"}, 400, "not valid gzip"),
        (JSON_BODY, {"content-type": "text/plain"}, 415, "content type 'text/plain'"),
        (JSON_BODY, {**JS, "content-encoding": "br"}, 415, "content encoding 'br'"),
        (b"x" * (64 * 1024 + 1), JS, 413, "over 65536"),
        (gzip.compress(b" " * (1 << 22)), {**JS, "content-encoding": "gzip"}, 413, "decompressed"),
    ],
    ids=[
        "bad-pb",
        "bad-json",
        "metrics",
        "truncated",
        "not-gzip",
        "type",
        "encoding",
        "big",
        "bomb",
    ],
)
def test_bad_requests_get_their_status_and_the_receiver_keeps_serving(
    running: Running, body: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    answer = _post(running, body, headers)
    assert answer.status_code == status
    if headers.get("content-type") == "application/json":
        assert message in answer.json()["message"]
    else:
        assert message.encode() in answer.content
    assert _post(running, PB_BODY, PB).status_code == 200


def test_other_paths_and_methods(running: Running) -> None:
    base = running.http_url
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
    assert httpx.post(f"{base}/v1/metrics", content=b"", headers=PB).status_code == 404
    assert "traces only" in httpx.post(f"{base}/v1/logs", content=b"").json()["message"]
    assert httpx.get(f"{base}/nowhere").status_code == 404
    assert httpx.get(f"{base}/v1/traces").status_code == 405


def test_api_key(start_receiver: Callable[..., Running]) -> None:
    running = start_receiver(api_key="s3cret")
    assert _post(running, PB_BODY, PB).status_code == 401
    assert _post(running, PB_BODY, {**PB, "authorization": "Bearer wrong"}).status_code == 401
    assert _post(running, PB_BODY, {**PB, "authorization": "Bearer s3cret"}).status_code == 200
    assert _post(running, PB_BODY, {**PB, "x-api-key": "s3cret"}).status_code == 200
    assert running.receiver.stats.refused["unauthenticated"] == 2


def test_healthz_without_the_key_shows_liveness_only(
    start_receiver: Callable[..., Running],
) -> None:
    # Paths, counters and flush errors (which name files) were public with a key set.
    running = start_receiver(api_key="s3cret")
    anonymous = httpx.get(f"{running.http_url}/healthz")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    wrong = httpx.get(f"{running.http_url}/healthz", headers={"x-api-key": "nope"})
    assert wrong.json() == {"status": "ok"}
    full = httpx.get(f"{running.http_url}/healthz", headers={"x-api-key": "s3cret"}).json()
    assert full["status"] == "ok" and "flusher" in full and "spool_bytes" in full
