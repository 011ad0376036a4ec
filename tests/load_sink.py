"""A tiny real OTLP receiver for the load generator's tests: HTTP (stdlib) and gRPC.

It decodes every request it accepts (protobuf, OTLP/JSON, gzip), counts spans and keeps
the (trace_id, span_id) pairs, so a test can compare what the generator says it delivered
with what arrived. It can be told to answer with a status (429, 503, a gRPC code), to
delay each answer, or to refuse some spans of each request in a partial success.

Run on its own (``python tests/load_sink.py --port 4318``) it serves OTLP/HTTP until
interrupted: the receiver the load generator's throughput figures were measured against.
"""

from __future__ import annotations

import argparse
import gzip
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass
class SinkState:
    """What the sink received, and how it is told to answer."""

    status: int = 200
    grpc_code: grpc.StatusCode | None = None
    delay_s: float = 0.0
    partial_reject: int = 0
    parse: bool = True
    keep_ids: bool = True
    requests: int = 0
    answered: int = 0
    spans: int = 0
    duplicates: int = 0
    ids: set[tuple[str, str]] = field(default_factory=set)
    content_types: set[str] = field(default_factory=set)
    encodings: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, pairs: list[tuple[str, str]]) -> None:
        with self.lock:
            self.spans += len(pairs)
            if not self.keep_ids:
                return
            before = len(self.ids)
            self.ids.update(pairs)
            self.duplicates += len(pairs) - (len(self.ids) - before)


def proto_pairs(body: bytes) -> list[tuple[str, str]]:
    request = ExportTraceServiceRequest.FromString(body)
    return [
        (span.trace_id.hex(), span.span_id.hex())
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]


def json_pairs(body: bytes) -> list[tuple[str, str]]:
    doc = json.loads(body)
    return [
        (span["traceId"], span["spanId"])
        for rs in doc.get("resourceSpans", [])
        for ss in rs.get("scopeSpans", [])
        for span in ss.get("spans", [])
    ]


def partial_response(rejected: int) -> ExportTraceServiceResponse:
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = "over quota"
    return response


def _handler(state: SinkState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            content_type = self.headers.get("Content-Type", "")
            encoding = self.headers.get("Content-Encoding", "")
            with state.lock:
                state.requests += 1
                state.content_types.add(content_type)
                state.encodings.add(encoding)
            if state.delay_s:
                time.sleep(state.delay_s)
            if self.path != "/v1/traces":
                return self._answer(404, b"", "text/plain")
            if state.status != 200:
                return self._answer(state.status, b"", "text/plain")
            is_json = content_type.startswith("application/json")
            if state.parse:
                data = gzip.decompress(body) if encoding == "gzip" else body
                state.accept(json_pairs(data) if is_json else proto_pairs(data))
            response = partial_response(state.partial_reject)
            if is_json:
                doc: dict[str, Any] = {}
                if state.partial_reject:
                    doc["partialSuccess"] = {
                        "rejectedSpans": str(state.partial_reject),
                        "errorMessage": "over quota",
                    }
                self._answer(200, json.dumps(doc).encode(), "application/json")
            else:
                self._answer(200, response.SerializeToString(), "application/x-protobuf")

        def _answer(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            with state.lock:
                state.answered += 1

    return Handler


@contextmanager
def http_sink(state: SinkState | None = None, port: int = 0) -> Iterator[tuple[str, SinkState]]:
    """An OTLP/HTTP sink on 127.0.0.1 (a free port): yields its base URL and state."""
    state = state or SinkState()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def grpc_sink(state: SinkState | None = None) -> Iterator[tuple[str, SinkState]]:
    """An OTLP/gRPC sink on 127.0.0.1 (a free port): yields ``host:port`` and its state."""
    state = state or SinkState()

    def export(body: bytes, context: grpc.ServicerContext) -> bytes:
        with state.lock:
            state.requests += 1
        if state.delay_s:
            time.sleep(state.delay_s)
        if state.grpc_code is not None:
            context.abort(state.grpc_code, "sink told to refuse")
        state.accept(proto_pairs(body))
        return partial_response(state.partial_reject).SerializeToString()

    handler = grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        {"Export": grpc.unary_unary_rpc_method_handler(export)},
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=8), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", state
    finally:
        server.stop(grace=None).wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--no-parse", action="store_true", help="answer without decoding")
    # Standalone, it counts spans but keeps no ids (a long run would hold millions).
    args = parser.parse_args()
    state = SinkState(parse=not args.no_parse, keep_ids=False)
    with http_sink(state, args.port) as (url, _):
        print(f"OTLP/HTTP sink on {url}/v1/traces (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(5)
                print(f"requests {state.requests} spans {state.spans}", flush=True)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
