"""``e`` in the waterfall: a stored trace written as OTLP/JSON reads back, through
``pyflare ingest``, to the same stored rows (every column)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from tui_support import FIXTURE_TRACE, NOW, cli

from pyflare_cli.store.scan import scan_spans
from pyflare_cli.tui.model.data import TraceSource
from pyflare_cli.tui.model.export import export_name, export_trace


def _rows(root: Path, trace_id: str) -> pl.DataFrame:
    return scan_spans(root).filter(pl.col("trace_id") == trace_id).sort("span_id").collect()


def _some_traces(root: Path) -> list[str]:
    source = TraceSource(root, lambda: NOW)
    llm = source.page("type:llm status:error", _sort(), 0, 1).rows["trace_id"].to_list()
    tools = source.page("tool:*", _sort(), 0, 1).rows["trace_id"].to_list()
    return [FIXTURE_TRACE, *llm, *tools]


def _sort():  # type: ignore[no-untyped-def]
    from pyflare_cli.tui.model.data import SortKey

    return SortKey("spans")


def test_exported_trace_ingests_back_to_the_same_spans(tui_store: Path, tmp_path: Path) -> None:
    copy = tmp_path / ".pyflare"
    traces = _some_traces(tui_store)
    assert len(traces) == 3
    for trace_id in traces:
        spans = TraceSource(tui_store, lambda: NOW).trace(trace_id)
        path = tmp_path / export_name(trace_id)
        assert export_trace(spans, path) == spans.height
        document = json.loads(path.read_text())
        first = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        assert first["traceId"] == trace_id and len(first["spanId"]) == 16
        cli("ingest", str(path), "--store", str(copy))
        before, after = _rows(tui_store, trace_id), _rows(copy, trace_id)
        assert after.height == before.height
        for column in before.columns:
            assert after[column].to_list() == before[column].to_list(), (trace_id, column)


@pytest.mark.parametrize("trace_id", ["[/INST]../x", ""])
def test_export_name_is_a_plain_file_name(trace_id: str) -> None:
    name = export_name(trace_id)
    assert "/" not in name and name.endswith(".otlp.json") and "[" not in name
