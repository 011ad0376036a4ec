"""Helpers for the TUI tests and ``benchmarks/bench_tui.py``: fixed clock, stores, big traces.

``synthetic_trace`` builds one deterministic trace of any size (a few services, LLM spans
with models and tokens, errors, events) as a canonical span frame; ``write_spans`` commits
a frame to a store the way ingest does; ``settle`` waits until the app's loading workers
are done so that assertions and screenshots never race them.
"""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static
from typer.testing import CliRunner

from pyflare_cli.schema import COLUMNS, POLARS_SCHEMA
from pyflare_cli.store.catalog import Catalog, SourceRecord
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.writer import SpanWriter

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
NOW_ISO = NOW.isoformat()
ROOT = Path(__file__).resolve().parents[2]
FIXTURE_TRACE = "5b8efff798038103d269b633813fc60c"
"""The hand-written trace of ``fixtures/otlp/trace.json``: an LLM call, a failing tool
with an exception event and a link."""

SERVICES = ("gateway", "agent", "retriever", "llm-proxy", "tools", "postgres", "cache")
OPERATIONS = {
    "gateway": ("POST /chat", "auth"),
    "agent": ("invoke_agent planner", "plan", "reflect"),
    "retriever": ("retrieve", "rerank", "embed query"),
    "llm-proxy": ("chat gpt-4o", "chat claude-sonnet-4"),
    "tools": ("execute_tool search", "execute_tool get_order"),
    "postgres": ("SELECT orders", "INSERT audit"),
    "cache": ("GET session", "SET session"),
}


def cli(*args: str) -> None:
    """Run ``pyflare ARGS`` in-process with the fixed clock; fail loudly."""
    from pyflare_cli.main import app

    result = CliRunner().invoke(app, list(args), env={"PYFLARE_NOW": NOW_ISO})
    assert result.exit_code == 0, result.output


def demo_store(root: Path, spans: int = 3000, days: int = 2) -> Path:
    """Demo traffic (fixed seed and clock) plus the fixture trace, in the store ``root``."""
    cli("demo", "--spans", str(spans), "--days", str(days), "--store", str(root))
    cli("ingest", str(ROOT / "fixtures" / "otlp" / "trace.json"), "--store", str(root))
    return root


def synthetic_trace(n: int, *, seed: int = 7, trace_id: str = "ab" * 16) -> pl.DataFrame:
    """One trace of ``n`` spans: a fan-out tree 6-9 levels deep over ten seconds."""
    rng = random.Random(seed)
    t0 = NOW - timedelta(hours=1)
    rows: list[dict[str, Any]] = []
    queue: list[tuple[int, int, int, int]] = []  # (index, start_us, end_us, depth)

    def add(parent: int | None, start_us: int, end_us: int, depth: int) -> None:
        i = len(rows)
        service = SERVICES[0] if parent is None else SERVICES[1 + rng.randrange(6)]
        error = rng.random() < 0.01
        row: dict[str, Any] = {c: None for c in COLUMNS}
        row.update(
            trace_id=trace_id,
            span_id=f"{i + 1:016x}",
            parent_span_id=None if parent is None else f"{parent + 1:016x}",
            name=rng.choice(OPERATIONS[service]),
            kind="internal",
            start_time=t0 + timedelta(microseconds=start_us),
            end_time=t0 + timedelta(microseconds=end_us),
            duration_ns=(end_us - start_us) * 1000,
            status_code="error" if error else "unset",
            error_message="upstream timed out" if error else None,
            service_name=service,
            attributes={"synthetic.index": str(i)},
            resource_attributes={"service.name": service},
            events=[],
            links=[],
        )
        if service == "llm-proxy":
            model = "gpt-4o" if "gpt" in row["name"] else "claude-sonnet-4"
            tokens_in, tokens_out = rng.randint(200, 4000), rng.randint(20, 800)
            row.update(
                ai_kind="llm",
                model=model,
                request_model=model,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                total_tokens=tokens_in + tokens_out,
            )
        if rng.random() < 0.05:
            at = t0 + timedelta(microseconds=(start_us + end_us) // 2)
            row["events"] = [{"time": at, "name": "retry", "attributes": {"attempt": "1"}}]
        rows.append(row)
        queue.append((i, start_us, end_us, depth))

    add(None, 0, 10_000_000, 0)
    while queue and len(rows) < n:
        parent, start, end, depth = queue.pop(0)
        fanout = min(rng.randint(2, 7), n - len(rows))
        slot = max(1, (end - start) // max(1, fanout))
        for k in range(fanout):
            s = start + k * slot + rng.randrange(max(1, slot // 4))
            parallel = rng.random() < 0.2
            e = min(end, s + rng.randint(slot // 3 + 1, slot * (2 if parallel else 1)))
            add(parent, s, max(s + 1, e), depth + 1)
    return pl.DataFrame(rows, schema=POLARS_SCHEMA)


def write_spans(root: Path, frame: pl.DataFrame, source: str) -> None:
    """Commit ``frame`` into the store at ``root`` as one source (real Parquet + catalog)."""
    layout = StoreLayout(root)
    layout.root.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(layout.catalog)
    try:
        writer = SpanWriter(layout)
        writer.write(frame)
        record = SourceRecord(
            sha256=source,
            path=f"/inputs/{source}",
            size=1,
            format="otlp-json",
            rows=writer.rows,
            dead_lettered=0,
            ingested_at=NOW_ISO,
            state="committing",
            files=writer.final_names(),
        )
        writer.commit(catalog, record)
    finally:
        catalog.close()


def plain(widget: Static, width: int = 200) -> str:
    """What a Static shows, as plain text (its content rendered by Rich at ``width``)."""
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def screen_text(pilot: Pilot[Any]) -> str:
    """What the current screen shows, as plain text lines (the compositor's own strips)."""
    strips = pilot.app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips) + "\n"


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until no worker is pending or running for three refreshes in a row, so that a
    worker a screen starts on mount (still pending) is not missed."""
    app = pilot.app
    quiet = 0
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(not worker.is_finished for worker in app.workers)
        quiet = 0 if busy else quiet + 1
        if quiet == 3:
            return
    raise AssertionError("workers did not settle")


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press keys one by one, settling after each."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


Scenario = Callable[[Pilot[Any]], Awaitable[None]]


def drive(app: App[Any], scenario: Scenario, size: tuple[int, int] = (120, 36)) -> None:
    """Run ``app`` headless at ``size``, settle, then run ``scenario`` with its pilot."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())
