"""SIGKILL right after acknowledgements: every acknowledged span is in the store after restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from ports import free_port

from pyflare_cli.store.scan import scan_spans

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "otlp"
TEMPLATE = ExportTraceServiceRequest.FromString((FIXTURES / "trace.pb").read_bytes())


def _start(store: Path, port: int, flush_interval: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyflare_cli",
            "receive",
            "--store",
            str(store),
            "--quiet",
            "--http",
            f"127.0.0.1:{port}",
            "--grpc",
            "off",
            "--flush-interval",
            flush_interval,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(process.stderr.read().decode() if process.stderr else "no start")


def _request(index: int) -> tuple[bytes, set[str]]:
    request = ExportTraceServiceRequest()
    request.CopyFrom(TEMPLATE)
    ids = set()
    for n, span in enumerate(request.resource_spans[0].scope_spans[0].spans):
        span.trace_id = index.to_bytes(16, "big")
        span.span_id = (index * 16 + n + 1).to_bytes(8, "big")
        if span.parent_span_id:
            span.parent_span_id = (index * 16 + 1).to_bytes(8, "big")
        ids.add(span.span_id.hex())
    return request.SerializeToString(), ids


def test_acknowledged_spans_survive_sigkill(tmp_path: Path) -> None:
    store, port = tmp_path / "store", free_port()
    first = _start(store, port, "3600")  # nothing is flushed: everything is in the spool
    acknowledged: set[str] = set()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for index in range(1, 41):
            body, ids = _request(index)
            answer = client.post(
                "/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
            )
            assert answer.status_code == 200
            acknowledged |= ids
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    assert scan_spans(store).collect().height == 0  # not flushed, only spooled
    second = _start(store, port, "0.1")
    deadline = time.monotonic() + 30
    while scan_spans(store).collect().height < len(acknowledged) and time.monotonic() < deadline:
        time.sleep(0.1)
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    stored = scan_spans(store).collect()
    assert set(stored["span_id"].to_list()) == acknowledged
    assert stored.height == len(acknowledged) == 160
    assert not list((store / "spool").iterdir())


def test_sigterm_flushes_and_exits_zero(tmp_path: Path) -> None:
    store, port = tmp_path / "store", free_port()
    process = _start(store, port, "3600")
    body, ids = _request(7)
    answer = httpx.post(
        f"http://127.0.0.1:{port}/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf"},
    )
    assert answer.status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert set(scan_spans(store).collect()["span_id"].to_list()) == ids
