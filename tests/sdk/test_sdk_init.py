"""``pyflare.init``: exporters, the OTEL_* variables, the handle, the JSON Lines file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyflare
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pyflare import exporters
from pyflare.jsonl import JsonLinesExporter

ROOT = Path(__file__).resolve().parents[2]
OTEL_VARS = [
    "PYFLARE_EXPORT",
    "PYFLARE_API_KEY",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)


class Collector:
    """A stand-in OTLP/HTTP endpoint recording each request's path, headers and spans."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], ExportTraceServiceRequest]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                request = ExportTraceServiceRequest.FromString(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                collector.requests.append((self.path, headers, request))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve = self.server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def span_names(self) -> list[str]:
        return [
            span.name
            for _, _, request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    yield running
    running.server.shutdown()
    running.server.server_close()


def _send_one(**init: object) -> None:
    with pyflare.init(set_global=False, **init), pyflare.span("hello"):  # type: ignore[arg-type]
        pass


def test_http_to_a_base_endpoint_with_api_key(collector: Collector) -> None:
    _send_one(service_name="svc", endpoint=collector.base, api_key="k-123")
    ((path, headers, request),) = collector.requests
    assert path == "/v1/traces"
    assert headers["authorization"] == "Bearer k-123"
    assert headers["content-type"] == "application/x-protobuf"
    resource = {
        kv.key: kv.value.string_value for kv in request.resource_spans[0].resource.attributes
    }
    assert resource["service.name"] == "svc"
    assert collector.span_names() == ["hello"]


def test_otel_environment_variables(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.base)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=ml,authorization=Bearer%20env")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=ci")
    _send_one()
    monkeypatch.setenv("PYFLARE_API_KEY", "k-env")
    _send_one(service_name="explicit")
    (p1, h1, r1), (p2, h2, r2) = collector.requests
    assert p1 == p2 == "/v1/traces"
    assert (h1["x-team"], h1["authorization"]) == ("ml", "Bearer env")
    assert (h2["x-team"], h2["authorization"]) == ("ml", "Bearer k-env")
    first = {kv.key: kv.value.string_value for kv in r1.resource_spans[0].resource.attributes}
    second = {kv.key: kv.value.string_value for kv in r2.resource_spans[0].resource.attributes}
    assert first["service.name"] == "from-env"
    assert first["deployment.environment.name"] == "ci"
    assert second["service.name"] == "explicit"


def test_full_traces_url_is_kept(collector: Collector) -> None:
    _send_one(endpoint=collector.base + "/custom/traces")
    assert collector.requests[0][0] == "/custom/traces"


def test_export_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert exporters.resolve("none", None, None).exporter is None
    assert isinstance(exporters.resolve("console", None, None).exporter, ConsoleSpanExporter)
    target = exporters.resolve(f"file://{tmp_path}/t.jsonl", None, None)
    assert isinstance(target.exporter, JsonLinesExporter)
    assert target.description == f"file://{tmp_path}/t.jsonl"
    memory = InMemorySpanExporter()
    assert exporters.resolve(memory, None, None).exporter is memory
    http = exporters.resolve(None, None, None)
    assert http.description == "otlp http http://127.0.0.1:4318/v1/traces"
    grpc = exporters.resolve("grpc", None, None)
    assert isinstance(grpc.exporter, GrpcExporter)
    assert grpc.description == "otlp grpc http://127.0.0.1:4317"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert isinstance(exporters.resolve(None, "127.0.0.1:9", None).exporter, GrpcExporter)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert exporters.resolve(None, None, None).exporter is None
    monkeypatch.setenv("PYFLARE_EXPORT", f"file://{tmp_path}/env.jsonl")
    assert exporters.resolve(None, None, None).description.endswith("env.jsonl")
    with pytest.raises(ValueError, match="export='kafka'"):
        exporters.resolve("kafka", None, None)
    with pytest.raises(ValueError, match="needs a path"):
        exporters.resolve("file://", None, None)


def test_http_url() -> None:
    assert exporters.http_url("127.0.0.1:4318") == "http://127.0.0.1:4318/v1/traces"
    assert exporters.http_url("https://h/") == "https://h/v1/traces"
    assert exporters.http_url("https://h/otlp/v1/traces") == "https://h/otlp/v1/traces"


def test_sdk_disabled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = pyflare.init(export=f"file://{tmp_path}/t.jsonl", set_global=False)
    with pyflare.span("ignored") as span:
        assert not span.is_recording()
    assert not handle.enabled and handle.flush()
    handle.shutdown()
    assert not (tmp_path / "t.jsonl").exists()


def test_handle_lifecycle(tmp_path: Path) -> None:
    first = pyflare.init(export=f"file://{tmp_path}/a.jsonl", set_global=False)
    assert pyflare.active() is first and "active" in repr(first)
    second = pyflare.init(export=f"file://{tmp_path}/b.jsonl", set_global=False)
    assert not first.enabled and pyflare.active() is second
    with pyflare.span("kept"):
        pass
    assert second.flush()
    second.shutdown()
    second.shutdown()
    assert pyflare.active() is None
    lines = (tmp_path / "b.jsonl").read_text().splitlines()
    assert len(lines) == 1


def test_json_lines_file_is_otlp_json(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "traces.jsonl"
    with pyflare.init(service_name="files", export=f"file://{path}", set_global=False):
        with pyflare.span("root"), pyflare.span("child", kind="tool"):
            pass
        assert pyflare.active() is not None
        pyflare.active().flush()  # type: ignore[union-attr]
        with pyflare.span("later"):
            pass
    documents = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(documents) == 2  # one request per export
    spans = [
        span
        for document in documents
        for resource in document["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    by_name = {span["name"]: span for span in spans}
    assert set(by_name) == {"root", "child", "later"}
    assert len(by_name["child"]["traceId"]) == 32 and len(by_name["child"]["spanId"]) == 16
    assert by_name["child"]["parentSpanId"] == by_name["root"]["spanId"]
    assert int(by_name["child"]["startTimeUnixNano"]) > 0


def test_flushed_at_exit_without_shutdown(tmp_path: Path) -> None:
    path = tmp_path / "exit.jsonl"
    script = (
        "import pyflare\n"
        f"pyflare.init(service_name='bye', export='file://{path}')\n"
        "with pyflare.span('last words'):\n    pass\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "sdk" / "src")}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    assert "last words" in path.read_text()
