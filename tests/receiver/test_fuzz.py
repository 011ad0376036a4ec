"""Fuzz a real receiver on 127.0.0.1 over OTLP/HTTP and OTLP/gRPC (property-based, Hypothesis).

Properties, for generated OTLP/JSON, mutated and generated protobuf, and random bytes:
no 5xx (gRPC: only OK or INVALID_ARGUMENT), no error logged (no traceback), and no
acknowledgement for what will not be stored: after the run, the store holds exactly the
spans the receiver answered as accepted, and no spool segment went to the dead letters.
A few hundred cases here; ``benchmarks/bench_fuzz_receiver.py`` runs tens of thousands.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import polars as pl
import pytest
from fuzz_strategies import json_bodies, protobuf_bodies, valid_request
from hypothesis import HealthCheck, given, settings
from receiver_support import Running

from pyflare_cli.receiver.server import ReceiverConfig

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
CASES = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, _Errors]]:
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    root = tmp_path_factory.mktemp("fuzz") / "store"
    config = ReceiverConfig(
        root=root, http="127.0.0.1:0", grpc="127.0.0.1:0", flush_interval=0.2, workers=1
    )
    running = Running(config)
    try:
        yield running, errors
    finally:
        running.stop()
        logging.getLogger().removeHandler(errors)


@pytest.fixture(scope="module")
def http(fuzzed: tuple[Running, _Errors]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzzed[0].http_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def export(fuzzed: tuple[Running, _Errors]) -> Iterator[grpc.UnaryUnaryMultiCallable]:
    with grpc.insecure_channel(fuzzed[0].grpc_target) as channel:
        yield channel.unary_unary(
            EXPORT, request_serializer=lambda b: b, response_deserializer=lambda b: b
        )


ACKED: list[tuple[str, bytes]] = []
"""(kind, body) of every request answered 200."""


def _acknowledged_spans() -> list[tuple[str, str, int]]:
    """(trace_id, span_id, start ns) of every span the answers accepted, by the decoder."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from pyflare_cli.sources import otlp_json, otlp_proto
    from pyflare_cli.sources.raw import RawBatch

    batch = RawBatch()
    for kind, body in ACKED:
        if kind == "json":
            otlp_json.decode_document(otlp_json.load(body), batch, "fuzz", "body")
        else:
            request = ExportTraceServiceRequest.FromString(body)
            otlp_proto.decode_request(request, batch, "fuzz", "body")
    return list(zip(batch.trace_id, batch.span_id, batch.start_ns, strict=True))


def _check_answer(answer: httpx.Response) -> None:
    assert answer.status_code in (200, 400), (answer.status_code, answer.text[:300])
    if answer.status_code == 400 and answer.headers["content-type"] == "application/json":
        status = answer.json()
        assert status["code"] == 3 and status["message"]


@CASES
@given(body=json_bodies)
def test_http_json(http: httpx.Client, body: bytes) -> None:
    answer = http.post("/v1/traces", content=body, headers={"content-type": "application/json"})
    _check_answer(answer)
    if answer.status_code == 200:
        ACKED.append(("json", body))
    if answer.status_code == 200 and answer.content != b"{}":
        partial = answer.json()["partialSuccess"]
        assert int(partial["rejectedSpans"]) > 0 and partial["errorMessage"]


@CASES
@given(body=protobuf_bodies)
def test_http_protobuf(http: httpx.Client, body: bytes) -> None:
    answer = http.post(
        "/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
    )
    _check_answer(answer)
    if answer.status_code == 200:
        ACKED.append(("pb", body))


@CASES
@given(body=protobuf_bodies)
def test_grpc(export: grpc.UnaryUnaryMultiCallable, body: bytes) -> None:
    try:
        export(body, timeout=60)
        ACKED.append(("pb", body))
    except grpc.RpcError as error:
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, error  # type: ignore[attr-defined]


def test_every_acknowledged_span_is_stored(
    fuzzed: tuple[Running, _Errors], http: httpx.Client
) -> None:
    """Runs after the fuzz tests above (file order): the canary and the whole tally."""
    running, errors = fuzzed
    canary = http.post(
        "/v1/traces", content=valid_request(2), headers={"content-type": "application/x-protobuf"}
    )
    assert canary.status_code == 200
    ACKED.append(("pb", valid_request(2)))
    stats = running.receiver.stats
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not running.receiver.spool.unflushed:
            break
        time.sleep(0.1)
    # Segments with the same bytes are one source to the store (a retried request): count
    # spans by identity, decoded from every acknowledged body.
    expected = _acknowledged_spans()
    assert len(expected) == stats.spans_accepted
    found = running.stored().select("trace_id", "span_id", pl.col("start_time").dt.epoch("ns"))
    assert set(found.iter_rows()) == set(expected)
    assert stats.last_flush_error is None
    whole_segments = list((running.root / "dead_letter").rglob("spool-*"))
    assert not whole_segments
    letters = [
        json.loads(line)
        for path in Path(running.root / "dead_letter").rglob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert not [d for d in letters if str(d["reason"]).startswith("cannot be stored")]
    assert not errors.records, [r.getMessage()[:300] for r in errors.records]
