"""TLS with --tls-cert/--tls-key, on both protocols, with a throwaway self-signed certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receiver_support import Running

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "otlp"
BODY = (FIXTURES / "trace.pb").read_bytes()


def _with_other_span_ids(body: bytes) -> ExportTraceServiceRequest:
    """The same request with new span ids: two spool segments with identical bytes are one
    source to the store (tests/receiver/test_http.py), so under load an identical second
    request could be stored once and the test could not tell that gRPC delivered it."""
    request = ExportTraceServiceRequest.FromString(body)
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                span.span_id = bytes(b ^ 0xFF for b in span.span_id)
                if span.parent_span_id:
                    span.parent_span_id = bytes(b ^ 0xFF for b in span.parent_span_id)
    return request


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_on_http_and_grpc(
    start_receiver: Callable[..., Running], certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    running = start_receiver(tls_cert=cert, tls_key=key)
    url = f"https://127.0.0.1:{running.receiver.http_port}/v1/traces"
    answer = httpx.post(
        url,
        content=BODY,
        headers={"content-type": "application/x-protobuf"},
        verify=ssl.create_default_context(cafile=str(cert)),
    )
    assert answer.status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.post(url.replace("https", "http"), content=BODY, timeout=2)
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    with grpc.secure_channel(running.grpc_target, credentials) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        stub.Export(_with_other_span_ids(BODY), timeout=10)
    stored = running.stored(at_least=8)
    assert stored.height == 8
    assert stored["span_id"].n_unique() == 8
