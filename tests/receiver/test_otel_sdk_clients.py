"""The real OpenTelemetry SDK exporters, over OTLP/HTTP and OTLP/gRPC, into the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from receiver_support import Running

SPANS = 300


def _send(exporter: Any, service: str) -> set[str]:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=64))
    tracer = provider.get_tracer("pyflare.tests")
    sent: set[str] = set()
    for i in range(SPANS // 3):
        with tracer.start_as_current_span("handle", kind=SpanKind.SERVER) as root:
            root.set_attribute("http.route", "/chat")
            with tracer.start_as_current_span(f"chat gpt-4o #{i}", kind=SpanKind.CLIENT) as llm:
                llm.set_attribute("gen_ai.operation.name", "chat")
                llm.set_attribute("gen_ai.request.model", "gpt-4o")
                llm.set_attribute("gen_ai.usage.input_tokens", 100 + i)
                llm.set_attribute("gen_ai.usage.output_tokens", 7)
                sent.add(format(llm.get_span_context().span_id, "016x"))
            with tracer.start_as_current_span("tool") as tool:
                tool.set_status(Status(StatusCode.ERROR, "boom"))
                sent.add(format(tool.get_span_context().span_id, "016x"))
            sent.add(format(root.get_span_context().span_id, "016x"))
    assert provider.force_flush(30_000)
    provider.shutdown()
    return sent


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_sdk_exporter_spans_arrive_once_with_attributes(
    start_receiver: Callable[..., Running], protocol: str
) -> None:
    running = start_receiver()
    if protocol == "http":
        exporter: Any = HttpExporter(endpoint=f"{running.http_url}/v1/traces", timeout=10)
    else:
        exporter = GrpcExporter(endpoint=running.grpc_target, insecure=True, timeout=10)
    sent = _send(exporter, f"svc-{protocol}")
    stored = running.stored(at_least=len(sent))
    assert stored.height == len(sent) == SPANS
    assert set(stored["span_id"].to_list()) == sent
    llm = stored.filter(stored["name"].str.starts_with("chat gpt-4o"))
    assert llm.height == SPANS // 3
    assert set(llm["model"].to_list()) == {"gpt-4o"}
    assert set(llm["ai_kind"].to_list()) == {"llm"}
    assert sorted(llm["input_tokens"].to_list()) == [100 + i for i in range(SPANS // 3)]
    assert set(stored["service_name"].to_list()) == {f"svc-{protocol}"}
    assert stored.filter(stored["name"] == "tool")["status_code"].unique().to_list() == ["error"]
    routes = stored.filter(stored["name"] == "handle")["attributes"].map.get("http.route")
    assert routes.unique().to_list() == ["/chat"]
