"""Traces whose every string looks like Rich markup, made by the real OpenTelemetry SDK.

Data is never markup: ``[/INST]`` closes every Llama-format prompt, and span names,
services, models, attribute keys and values, event names, error messages and prompts can
hold ``[bold]`` or ``[link=...]`` as well. :func:`hostile_store` records such traces with
the OpenTelemetry SDK, encodes them with the SDK's own OTLP protobuf encoder and ingests
the file with ``pyflare ingest``, so the strings travel the whole real path. Tests then
check that every command and every TUI screen shows them verbatim.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, Status, StatusCode
from typer.testing import CliRunner

CLOSE = "[/INST]"
BOLD = "[bold]"
LINK = "[link=https://evil.example]"
MARKUP = (CLOSE, BOLD, LINK)
"""Each of these must appear verbatim wherever the data is shown."""

SERVICE = f"chat{BOLD}gw"
ROOT_NAME = f"POST /chat {CLOSE}"
LLM_NAME = f"chat {LINK}llama"
MODEL = f"llama{CLOSE}-3"
ERROR_MESSAGE = f"tool failed {CLOSE} {BOLD}boom"
PROMPT = f"<s>[INST] say hi {CLOSE} {BOLD}hi{LINK}"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
NOW_ISO = NOW.isoformat()
START_NS = int(datetime(2026, 11, 20, 11, 0, tzinfo=UTC).timestamp() * 1e9)


def record(count: int) -> bytes:
    """``count`` traces of three spans each, as one OTLP protobuf request."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE, BOLD: CLOSE}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer(f"scope{CLOSE}")
    linked = SpanContext(0x5B8EFFF798038103D269B633813FC60C, 0xEEE19B7EC3C1B174, False)
    for i in range(count):
        t = START_NS + i * 60_000_000_000
        with tracer.start_as_current_span(
            ROOT_NAME, start_time=t, end_on_exit=False, attributes={f"key{CLOSE}": f"v{BOLD}"}
        ) as root:
            llm = tracer.start_span(
                LLM_NAME,
                start_time=t + 1_000_000,
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": MODEL,
                    "gen_ai.response.model": MODEL,
                    "gen_ai.usage.input_tokens": 12,
                    "gen_ai.usage.output_tokens": 3,
                    "gen_ai.prompt": PROMPT,
                    "gen_ai.completion": f"ok {CLOSE}",
                    f"attr{LINK}": f"[/]{CLOSE}",
                },
                links=[Link(linked, {f"why{BOLD}": f"because{CLOSE}"})],
            )
            llm.add_event(f"retry{CLOSE}", {f"at{BOLD}": f"x{LINK}"}, timestamp=t + 2_000_000)
            llm.end(end_time=t + 300_000_000)
            tool = tracer.start_span(f"tool {BOLD}", start_time=t + 310_000_000)
            tool.set_status(Status(StatusCode.ERROR, ERROR_MESSAGE))
            tool.record_exception(RuntimeError(ERROR_MESSAGE), timestamp=t + 320_000_000)
            tool.end(end_time=t + 400_000_000)
            root.end(end_time=t + 500_000_000)
    provider.shutdown()
    return bytes(encode_spans(exporter.get_finished_spans()).SerializeToString())


def hostile_store(root: Path, traces: int = 3) -> Path:
    """A store holding ``traces`` hostile traces, ingested by ``pyflare ingest``."""
    from pyflare_cli.main import app

    root.parent.mkdir(parents=True, exist_ok=True)
    dump = root.parent / "hostile.pb"
    dump.write_bytes(record(traces))
    result = CliRunner().invoke(
        app, ["ingest", str(dump), "--store", str(root)], env={"PYFLARE_NOW": NOW_ISO}
    )
    assert result.exit_code == 0, result.output
    return root
