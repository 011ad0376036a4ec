"""Fuzz `pyflare receive` for longer than the test suite does: tens of thousands of bodies.

    python benchmarks/bench_fuzz_receiver.py --cases 4000

Runs the property-based cases of tests/receiver/test_fuzz.py (the same Hypothesis
strategies: generated OTLP/JSON, mutated and generated protobuf, random bytes, deep
nesting) ``--cases`` times per family (JSON over HTTP, protobuf over HTTP, protobuf over
gRPC) against a real receiver on 127.0.0.1 running in a separate process, then checks that
the store holds exactly the spans that were acknowledged. Prints the statuses per family,
the number of 5xx (must be 0), gRPC codes, the receiver's stderr size, and the seconds.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import httpx
import polars as pl
from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "receiver"))

from fuzz_strategies import json_bodies, protobuf_bodies, valid_request  # noqa: E402

from pyflare_cli.store.scan import scan_spans  # noqa: E402

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4000, help="cases per family")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pyflare-fuzz-"))
    store, http_port, grpc_port = folder / "store", _free_port(), _free_port()
    stderr_path = folder / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
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
                f"127.0.0.1:{http_port}",
                "--grpc",
                f"127.0.0.1:{grpc_port}",
                "--flush-interval",
                "0.5",
            ],
            stderr=stderr,
        )
        base = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        statuses: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        acked: list[tuple[str, bytes]] = []
        cases = settings(
            max_examples=args.cases,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        started = time.perf_counter()
        with (
            httpx.Client(base_url=base, timeout=60) as client,
            grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel,
        ):
            export = channel.unary_unary(
                EXPORT, request_serializer=lambda b: b, response_deserializer=lambda b: b
            )

            @cases
            @given(body=json_bodies)
            def http_json(body: bytes) -> None:
                answer = client.post(
                    "/v1/traces", content=body, headers={"content-type": "application/json"}
                )
                statuses["http json"][str(answer.status_code)] += 1
                if answer.status_code == 200:
                    acked.append(("json", body))

            @cases
            @given(body=protobuf_bodies)
            def http_protobuf(body: bytes) -> None:
                answer = client.post(
                    "/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
                )
                statuses["http protobuf"][str(answer.status_code)] += 1
                if answer.status_code == 200:
                    acked.append(("pb", body))

            @cases
            @given(body=protobuf_bodies)
            def grpc_protobuf(body: bytes) -> None:
                try:
                    export(body, timeout=60)
                    statuses["grpc"]["OK"] += 1
                    acked.append(("pb", body))
                except grpc.RpcError as error:
                    statuses["grpc"][error.code().name] += 1  # type: ignore[attr-defined]

            http_json()
            http_protobuf()
            grpc_protobuf()
            canary = client.post(
                "/v1/traces",
                content=valid_request(2),
                headers={"content-type": "application/x-protobuf"},
            )
            assert canary.status_code == 200
            acked.append(("pb", valid_request(2)))
        seconds = time.perf_counter() - started
        process.send_signal(signal.SIGTERM)
        process.wait(120)
    expected = _decoded(acked)
    stored = (
        scan_spans(store)
        .select("trace_id", "span_id", pl.col("start_time").dt.epoch("ns"))
        .collect()
    )
    report = {
        "cases": {family: sum(counter.values()) for family, counter in statuses.items()},
        "statuses": {family: dict(counter) for family, counter in statuses.items()},
        "5xx": sum(n for c in statuses.values() for s, n in c.items() if s.startswith("5")),
        "grpc_unknown_or_internal": statuses["grpc"]["UNKNOWN"] + statuses["grpc"]["INTERNAL"],
        "acknowledged_spans": len(expected),
        "stored_spans_match": set(stored.iter_rows()) == set(expected),
        "receiver_exit": process.returncode,
        "receiver_stderr_bytes": stderr_path.stat().st_size,
        "seconds": round(seconds, 1),
    }
    print(json.dumps(report, indent=2))


def _decoded(acked: list[tuple[str, bytes]]) -> list[tuple[str, str, int]]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from pyflare_cli.sources import otlp_json, otlp_proto
    from pyflare_cli.sources.raw import RawBatch

    batch = RawBatch()
    for kind, body in acked:
        if kind == "json":
            otlp_json.decode_document(otlp_json.load(body), batch, "fuzz", "body")
        else:
            otlp_proto.decode_request(
                ExportTraceServiceRequest.FromString(body), batch, "fuzz", "body"
            )
    return list(zip(batch.trace_id, batch.span_id, batch.start_ns, strict=True))


if __name__ == "__main__":
    main()
