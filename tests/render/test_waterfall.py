from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from rich.cells import cell_len
from rich.console import Console, RenderableType

from pyflare_cli.analysis.traces.tree import breakdown
from pyflare_cli.render.waterfall import (
    Waterfall,
    format_duration,
    format_tokens,
    render_breakdown,
    service_colour,
)
from pyflare_cli.schema import POLARS_SCHEMA

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def event(ms: float) -> list[dict[str, Any]]:
    return [{"time": T0 + timedelta(milliseconds=ms), "name": "e", "attributes": None}]


def span(
    span_id: str, parent: str | None, start_ms: float, end_ms: float, **extra: Any
) -> dict[str, Any]:
    """One canonical span row; times are milliseconds after T0."""
    row: dict[str, Any] = {
        "trace_id": "t" * 32,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": span_id,
        "service_name": "api",
        "status_code": "ok",
        "start_time": T0 + timedelta(milliseconds=start_ms),
        "end_time": T0 + timedelta(milliseconds=end_ms),
        "model": None,
        "input_tokens": None,
        "output_tokens": None,
        "events": None,
    }
    row.update(extra)
    return row


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return pl.DataFrame(
        [{c: row.get(c) for c in columns} for row in rows],
        schema={c: POLARS_SCHEMA[c] for c in columns},
        orient="row",
    )


def chat_trace() -> pl.DataFrame:
    return frame(
        span("root", None, 0, 1000, name="POST /chat"),
        span("ret", "root", 20, 180, service_name="retriever", name="search", events=event(100)),
        span("emb", "ret", 25, 60, service_name="openai", name="embed"),
        span(
            "llm",
            "root",
            200,
            900,
            service_name="openai",
            name="chat",
            model="gpt-4o",
            input_tokens=1234,
            output_tokens=340,
            status_code="error",
        ),
        span("tool", "llm", 300, 400, service_name="tools", name="web_search"),
        span("bg", "gone", 500, 700, service_name="worker", name="background"),
        span("db", "root", 905, 990, service_name="db", name="insert"),
    )


def render(renderable: RenderableType, width: int = 100) -> list[str]:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text().splitlines()


def rows_of(lines: list[str], names: list[str]) -> dict[str, str]:
    return {name: next(line for line in lines if f" {name}" in line) for name in names}


def test_ruler_has_ticks_in_order() -> None:
    lines = render(Waterfall(chat_trace()))
    ticks = lines[0].split()[2:]
    assert ticks == ["0ms", "250ms", "500ms", "750ms"]
    assert "┬" in lines[1]
    assert lines[0].index("0ms") == lines[1].index("┬")


def test_rows_follow_the_tree_with_guides() -> None:
    lines = render(Waterfall(chat_trace()))
    body = lines[2:9]
    order = ["POST /chat", "search", "embed", "chat", "web_search", "insert", "background"]
    assert [next(n for n in order if f" {n}" in line) for line in body] == order
    assert "├─retriever search" in body[1]
    assert "│ └─openai embed" in body[2]
    assert "└─db insert" in body[5]
    assert all(cell_len(line) <= 100 for line in lines)


def test_error_marker_without_colour() -> None:
    lines = render(Waterfall(chat_trace()))
    marked = [line for line in lines[2:9] if line.startswith("✖")]
    assert len(marked) == 1 and " chat gpt-4o 1.2k→340" in marked[0]
    assert "✖ error" in lines[-1]
    assert not any("\x1b" in line for line in lines)


def test_error_span_is_red_in_colour() -> None:
    console = Console(width=100, file=io.StringIO(), color_system="standard", force_terminal=True)
    console.print(Waterfall(chat_trace()))
    output = console.file.getvalue()  # type: ignore[attr-defined]
    error_line = next(line for line in output.splitlines() if "✖" in line and "chat" in line)
    assert "\x1b[1;31m" in error_line or "\x1b[31m" in error_line


def test_critical_path_marked_by_glyphs() -> None:
    lines = render(Waterfall(chat_trace()))
    rows = rows_of(lines, ["POST /chat", "search", "embed", "chat", "web_search", "background"])
    on_path = {name for name, line in rows.items() if line[1] == "◆"}
    assert on_path == {"POST /chat", "search", "embed", "chat", "web_search"}
    assert "█" in rows["chat"]
    assert "━" in rows["background"] and "█" not in rows["background"]


def test_events_orphans_and_tokens() -> None:
    lines = render(Waterfall(chat_trace()))
    rows = rows_of(lines, ["search", "background", "chat"])
    assert "•" in rows["search"]
    assert "[orphan] worker background" in rows["background"]
    assert "gpt-4o 1.2k→340" in rows["chat"]
    assert "700ms" in rows["chat"]


def test_max_rows_truncates_with_a_notice() -> None:
    lines = render(Waterfall(chat_trace(), max_rows=3))
    assert [" POST /chat " in lines[2], " search " in lines[3], " embed " in lines[4]] == [True] * 3
    assert lines[5] == "… 4 more spans (3 of 7 shown)"
    assert lines[6].startswith("✖ error")
    assert len(lines) == 7


def test_width_option_and_narrow_console() -> None:
    lines = render(Waterfall(chat_trace(), width=60), width=100)
    assert all(cell_len(line) <= 60 for line in lines)
    narrow = render(Waterfall(chat_trace()), width=40)
    assert all(cell_len(line) <= 40 for line in narrow)


def test_awkward_names_stay_on_one_line() -> None:
    spans = frame(
        span("root", None, 0, 10, name="检索服务检索服务检索服务检索服务检索服务检索服务"),
        span("kid", "root", 1, 2, name="multi\nline\x1b[31m name"),
        span("zero", "root", 5, 5, name=None, service_name=None),
    )
    lines = render(Waterfall(spans, legend=False))
    assert len(lines) == 5
    assert all(cell_len(line) <= 100 for line in lines)
    assert "…" in lines[2]
    assert "multi line" in lines[3]


def test_deep_and_large_traces_render() -> None:
    n = 10_000
    spans = frame(*(span(f"s{i}", f"s{i - 1}" if i else None, i, 2 * n - i) for i in range(n)))
    waterfall = Waterfall(spans, max_rows=200)
    lines = render(waterfall)
    assert "… 9,800 more spans (200 of 10,000 shown)" in lines
    assert "…" in lines[150][:40]
    assert waterfall.row(n - 1, 120).cell_len == 120
    assert len(waterfall.row_segments(5000, 120)) > 3


def test_breakdown_table() -> None:
    spans = chat_trace()
    lines = render(render_breakdown(breakdown(spans, "service"), title="time by service"))
    assert lines[0].strip() == "time by service"
    assert lines[1].split() == ["service", "spans", "total", "self", "share", "errors"]
    assert lines[2].split()[:6] == ["openai", "2", "735ms", "635ms", "52.9%", "✖"]
    assert [line.split()[0] for line in lines[2:]] == [
        "openai",
        "worker",
        "retriever",
        "tools",
        "db",
        "api",
    ]
    ops = render(render_breakdown(breakdown(spans, "operation")))
    assert ops[0].split()[:2] == ["service", "operation"]
    assert ops[1].split()[:3] == ["openai", "chat", "1"]


def test_formatting_helpers() -> None:
    assert [format_duration(v) for v in (850, 12_345, 250_000_000, 1_234_000_000)] == [
        "850ns",
        "12.3µs",
        "250ms",
        "1.23s",
    ]
    assert format_duration(125 * 10**9) == "2m05s"
    assert format_duration(3 * 3600 * 10**9) == "3h00m"
    assert [format_tokens(v) for v in (340, 1234, 56_000, 3_400_000, None)] == [
        "340",
        "1.2k",
        "56k",
        "3.4M",
        "?",
    ]
    assert service_colour("api") == service_colour("api")
    assert "red" not in service_colour("payments")
