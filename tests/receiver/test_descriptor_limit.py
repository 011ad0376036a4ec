"""``pyflare receive`` under a real low descriptor limit, with connections past it.

With ``RLIMIT_NOFILE`` at 1,024, idle connections to both ports used every descriptor:
gRPC logged "File descriptor limit reached. Retrying." every second, the flusher could
not open the store (acknowledged spans stayed in the spool) and accept() failures filled
stderr. Here the receiver runs as a subprocess with a limit of 256 (soft and hard, so it
cannot raise it) while 300 silent connections hit OTLP/HTTP and 150 hit OTLP/gRPC.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from ports import free_port
from test_grpc_connections import idle_connections, request, wait_until

from pyflare_cli.store.scan import scan_spans

LIMIT = 256


def _low_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def _stored(root: Path) -> int:
    try:
        return scan_spans(root).select("span_id").collect().height
    except Exception:  # a part being written: look again
        return 0


def test_a_receiver_at_256_descriptors_serves_exports_past_the_limit(tmp_path: Path) -> None:
    http_port, grpc_port = free_port(), free_port()
    root = tmp_path / "store"
    stderr_path = tmp_path / "stderr.txt"
    pyflare = [sys.executable, "-c", "from pyflare_cli.main import run; run()"]
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            [
                *pyflare,
                "receive",
                "--http",
                f"127.0.0.1:{http_port}",
                "--grpc",
                f"127.0.0.1:{grpc_port}",
                "--store",
                str(root),
                "--workers",
                "1",
                "--flush-interval",
                "0.2",
                "--quiet",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=_low_limit,
        )
    base = f"http://127.0.0.1:{http_port}"
    grpc_target = f"127.0.0.1:{grpc_port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(up), stderr_path.read_text()
        # A running exporter keeps its channel (the OTLP SDKs do): open it before the flood.
        with grpc.insecure_channel(grpc_target) as channel:
            stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
            stub.Export(request(1), timeout=30, wait_for_ready=True)
            with (
                idle_connections(f"127.0.0.1:{http_port}", 300, preface=False),
                idle_connections(grpc_target, 150, preface=False),
            ):
                time.sleep(0.5)  # let the receiver accept (and refuse) what it can
                for index in range(2, 12):
                    stub.Export(request(index), timeout=30, wait_for_ready=True)
                for index in range(12, 22):  # each on a new connection
                    body = request(index).SerializeToString()
                    answer = httpx.post(
                        f"{base}/v1/traces",
                        content=body,
                        headers={"content-type": "application/x-protobuf"},
                        timeout=30,
                    )
                    assert answer.status_code == 200, answer.text
                # The flusher still has descriptors to open the store and write parts.
                assert wait_until(lambda: _stored(root) >= 21), _stored(root)
                health = httpx.get(f"{base}/healthz", timeout=30).json()
                assert health["flusher"]["state"] == "ok", health
                open_now = len(list(Path(f"/proc/{process.pid}/fd").iterdir()))
                assert open_now < LIMIT
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    errors = stderr_path.read_text(errors="replace")
    assert code == 0, errors
    assert "Traceback" not in errors
    assert "File descriptor limit reached" not in errors
    assert len(errors.splitlines()) <= 3, errors
