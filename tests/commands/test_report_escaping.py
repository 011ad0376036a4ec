"""Data is never markup in `pyflare report`: names made of HTML, Jinja, JSON and Markdown
syntax, recorded by the real OpenTelemetry SDK and ingested, show as text in the page,
in its embedded JSON and in the Markdown summary."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import invoke
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

SCRIPT = "<script>alert(1)</script>"
CLOSE = "</script><b>x</b>"
MODEL = f'llama[/INST]{SCRIPT}"quotes"'
SERVICE = f"svc{CLOSE}&amp;"
USER = "user|**bold**|[link](http://evil.example)"
SPAN = "{{ 7*7 }} {% if 1 %}jinja{% endif %}"
ERROR = f"boom {SCRIPT} 'single'"
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _record(path: Path) -> None:
    """60 traces over two days, a quarter failing, with hostile names everywhere."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("report-test")
    start = int(NOW.timestamp() * 1e9) - 2 * 86_400 * 10**9
    for i in range(60):
        t = start + i * 2_800 * 10**9
        with tracer.start_as_current_span(
            SPAN, start_time=t, end_on_exit=False, attributes={"user.id": USER}
        ) as root:
            llm = tracer.start_span(
                f"chat {MODEL}",
                start_time=t + 1_000_000,
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": MODEL,
                    "gen_ai.response.model": MODEL,
                    "gen_ai.usage.input_tokens": 100 + i,
                    "gen_ai.usage.output_tokens": 20 + i % 7,
                    "user.id": USER,
                },
            )
            if i % 4 == 0:
                llm.set_status(Status(StatusCode.ERROR, ERROR))
                llm.record_exception(RuntimeError(ERROR), timestamp=t + 2_000_000)
            llm.end(end_time=t + (200 + 10 * (i % 9)) * 1_000_000)
            root.end(end_time=t + 400_000_000)
    provider.shutdown()
    path.write_bytes(bytes(encode_spans(exporter.get_finished_spans()).SerializeToString()))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    _record(folder / "spans.pb")
    store = folder / "store"
    result = invoke("ingest", str(folder / "spans.pb"), "--store", str(store))
    assert result.exit_code == 0, result.output
    (folder / "prices.yaml").write_text(
        "prices:\n  - prefix: llama\n    input: 1.0\n    output: 2.0\n"
    )
    return store


def test_html_shows_names_as_text(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    config = hostile.parent / "prices.yaml"
    result = invoke(
        "report",
        "--since",
        "1d",
        "--store",
        str(hostile),
        "--out",
        str(out),
        "--config",
        str(config),
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    # Only the page's own JSON data blocks are script elements; no data string opens one.
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all(s.startswith('<script type="application/json"') for s in scripts)
    assert SCRIPT not in page and CLOSE not in page and "<b>x</b>" not in page
    assert "llama[/INST]&lt;script&gt;alert(1)&lt;/script&gt;&#34;quotes&#34;" in page
    assert "svc&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;&amp;amp;" in page  # in tables and SVG
    assert "{{ 7*7 }}" in page and ">49<" not in page  # a template in data is not run
    for block in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', page):
        data = json.loads(block)  # the escaped JSON still parses to the raw strings
        assert "</" not in block
        text = json.dumps(data, ensure_ascii=False)
        if "llama" in text:
            assert MODEL.replace('"', '\\"') in text


def test_markdown_shows_names_as_text(hostile: Path) -> None:
    config = hostile.parent / "prices.yaml"
    result = invoke(
        "report",
        "-f",
        "markdown",
        "--since",
        "1d",
        "--sections",
        "cost,errors",
        "--store",
        str(hostile),
        "--config",
        str(config),
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "<script" not in text and "<b>" not in text
    assert not re.search(r"(?<!\\)\]\(http", text)  # no live link: the bracket is escaped
    assert 'llama\\[/INST\\]&lt;script&gt;alert(1)&lt;/script&gt;"quotes"' in text
    assert "user\\|\\*\\*bold\\*\\*\\|\\[link\\](http://evil.example)" in text
    rows = [line for line in text.splitlines() if line.startswith("| user")]
    assert rows and all(line.count(" | ") == rows[0].count(" | ") for line in rows)
