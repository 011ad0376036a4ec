"""``pyflare receive --metrics``: a real receiver on 127.0.0.1 takes spans from the real
OpenTelemetry SDK exporters (OTLP/HTTP and OTLP/gRPC); its ``/metrics``, parsed with
``prometheus_client``'s Prometheus and OpenMetrics parsers, counts what was sent, refused
and stored."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from receiver_support import Running
from test_partial_success import _proto_request

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Counting(SpanExporter):
    """The real exporter underneath, counting the export requests it made."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.requests = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        assert result is SpanExportResult.SUCCESS
        self.requests += 1
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()


def _send(exporter: SpanExporter, spans: int) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "metrics-test"}))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=16))
    tracer = provider.get_tracer("pyflare.tests")
    for i in range(spans):
        with tracer.start_as_current_span(f"span {i}"):
            pass
    assert provider.force_flush(30_000)
    provider.shutdown()


def _scrape(url: str, accept: str = "", **headers: str) -> tuple[Samples, httpx.Response]:
    answer = httpx.get(url, headers={"accept": accept, **headers}, timeout=10)
    assert answer.status_code == 200, answer.text
    parse = openmetrics_families if "openmetrics" in accept else text_string_to_metric_families
    samples: Samples = {}
    for family in parse(answer.text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples, answer


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _settled(url: str, stored: int, timeout: float = 90) -> Samples:
    """The samples once every stored span is counted and the spool is empty."""
    deadline = time.monotonic() + timeout
    while True:
        samples, _ = _scrape(url)
        done = _value(samples, "pyflare_receiver_spans_stored_total") >= stored
        if done and _value(samples, "pyflare_receiver_spool_bytes") == 0:
            return samples
        if time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


@pytest.mark.parametrize("where", ["http", "own-port"])
def test_metrics_count_what_was_sent_refused_and_stored(
    start_receiver: Callable[..., Running], where: str
) -> None:
    running = start_receiver(metrics="http" if where == "http" else "127.0.0.1:0")
    receiver = running.receiver
    if where == "http":
        url = f"{running.http_url}/metrics"
        assert receiver.metrics_port is None
    else:
        url = f"http://127.0.0.1:{receiver.metrics_port}/metrics"
        assert receiver.metrics_port not in (None, receiver.http_port)
        assert httpx.get(f"{running.http_url}/metrics").status_code == 404
    over_http = Counting(HttpExporter(endpoint=f"{running.http_url}/v1/traces", timeout=10))
    over_grpc = Counting(GrpcExporter(endpoint=running.grpc_target, insecure=True, timeout=10))
    _send(over_http, 100)
    _send(over_grpc, 60)
    garbage = httpx.post(
        f"{running.http_url}/v1/traces",
        content=b"\xff\xff not protobuf",
        headers={"content-type": "application/x-protobuf"},
    )
    assert garbage.status_code == 400
    partial = httpx.post(  # 3 good spans, 9 refused inside an accepted request
        f"{running.http_url}/v1/traces",
        content=_proto_request("partial").SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert partial.status_code == 200
    # A request whose 4 spans are all bad is refused whole (400, INVALID_ARGUMENT): its
    # spans are decoded, so they count as refused too.
    all_bad = ExportTraceServiceRequest()
    all_bad.resource_spans.append(_proto_request("all bad").resource_spans[2])
    refused = httpx.post(
        f"{running.http_url}/v1/traces",
        content=all_bad.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert refused.status_code == 400
    with grpc.insecure_channel(running.grpc_target) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.RpcError) as answer:
            stub.Export(all_bad, timeout=30)
    assert answer.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    stored = running.stored(at_least=163).height
    assert stored == 163
    samples = _settled(url, stored)

    requests = "pyflare_receiver_requests_total"
    assert _value(samples, requests, transport="http", outcome="accepted") == over_http.requests
    assert _value(samples, requests, transport="grpc", outcome="accepted") == over_grpc.requests
    assert _value(samples, requests, transport="http", outcome="invalid") == 2
    assert _value(samples, requests, transport="grpc", outcome="invalid") == 1
    assert _value(samples, requests, transport="http", outcome="partial") == 1
    assert _value(samples, "pyflare_receiver_spans_accepted_total") == 163
    # 9 inside the accepted request, 4 + 4 of the requests refused whole; the garbage
    # body has no countable spans.
    assert _value(samples, "pyflare_receiver_spans_refused_total") == 9 + 4 + 4
    assert _value(samples, "pyflare_receiver_spans_stored_total") == stored
    flushes = _value(samples, "pyflare_receiver_flushes_total", outcome="ok")
    assert flushes >= 1 and _value(samples, "pyflare_receiver_flushes_total", outcome="error") == 0
    histogram = "pyflare_receiver_flush_duration_seconds"
    assert _value(samples, f"{histogram}_count") == flushes
    assert _value(samples, f"{histogram}_bucket", le="+Inf") == flushes
    assert _value(samples, f"{histogram}_sum") > 0
    assert _value(samples, "pyflare_receiver_spool_bytes") == 0
    assert _value(samples, "pyflare_receiver_flush_queue_segments") == 0
    assert _value(samples, "pyflare_receiver_flusher_up") == 1
    assert _value(samples, "pyflare_receiver_spool_limit_bytes") == receiver.config.max_spool_bytes
    # The same figures in OpenMetrics, when the scraper asks for it.
    again, answer = _scrape(url, accept=OPENMETRICS)
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")
    assert _value(again, "pyflare_receiver_spans_stored_total") == stored
    assert _value(again, requests, transport="grpc", outcome="accepted") == over_grpc.requests


def test_metrics_need_the_api_key_when_there_is_one(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver(metrics="http", api_key="s3cret")
    url = f"{running.http_url}/metrics"
    refused = httpx.get(url)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    samples, _ = _scrape(url, authorization="Bearer s3cret")
    assert _value(samples, "pyflare_receiver_flusher_up") == 1
    assert httpx.post(url, headers={"authorization": "Bearer s3cret"}).status_code == 405


def test_without_the_option_there_is_no_metrics_route(
    start_receiver: Callable[..., Running],
) -> None:
    running = start_receiver()
    assert httpx.get(f"{running.http_url}/metrics").status_code == 404
    assert running.receiver.metrics_port is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metrics", "http", "--http", "off"], "--http is off"),
        (["--metrics", "loud"], "--metrics 'loud': use 'http' or HOST:PORT"),
    ],
)
def test_bad_metrics_options_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pyflare_cli.main import app

    result = CliRunner().invoke(app, ["receive", "--store", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_the_command_serves_metrics_on_its_own_port(tmp_path: Path) -> None:
    """``pyflare receive --metrics 127.0.0.1:PORT`` in a process of its own."""
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    http, metrics = ports
    command: list[Any] = [sys.executable, "-m", "pyflare_cli", "receive", "--store", tmp_path]
    command += ["--grpc", "off", "--http", f"127.0.0.1:{http}", "--metrics", f"127.0.0.1:{metrics}"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=1)
            except httpx.TransportError:
                time.sleep(0.05)
        assert answer is not None and answer.status_code == 200
        assert "pyflare_receiver_spans_accepted_total 0.0" in answer.text
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
    assert b'"metrics_port": %d' % metrics in err
