"""The common span loading of commands: time bounds, --where, whole traces, prices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pyflare_cli.query.spans import SpanQuery, list_traces, load_spans

NOW = datetime(2025, 11, 21, tzinfo=UTC)


def test_load_spans_and_list_traces_on_fixture_store(tmp_path: Path) -> None:
    from pyflare_cli.ingest.pipeline import Ingestor

    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "otlp"
    ingestor = Ingestor(tmp_path)
    try:
        ingestor.ingest([str(fixtures / "trace.json")])
    finally:
        ingestor.close()
    everything = load_spans(tmp_path, SpanQuery(), NOW).collect()
    assert everything.height == 4 and "cost_usd" in everything.columns
    errors = load_spans(tmp_path, SpanQuery(where="status:error"), NOW).collect()
    assert errors.height == 4  # whole traces are kept
    none = load_spans(tmp_path, SpanQuery(since="1h"), NOW).collect()
    assert none.height == 0
    listed = list_traces(load_spans(tmp_path, SpanQuery(), NOW), "duration", 5)
    assert listed.get_column("root_name").to_list() == ["POST /chat"]
    assert listed.get_column("models").to_list() == [["gpt-4o-2024-08-06"]]
