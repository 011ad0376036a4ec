"""``pyflare traces`` prices only the traces it shows, and lists what it listed before.

:func:`query.spans.trace_list` ranks on the spans as stored when the order and ``--where``
read no cost or token column; the reference is :func:`list_traces` of :func:`load_spans`,
which prices every span first. The store is demo traffic plus LLM calls reported twice (a
framework span over the provider's), whose outer spans lose their tokens when priced.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from pyflare_cli.main import app
from pyflare_cli.query.spans import SpanQuery, list_traces, load_spans, trace_list
from pyflare_cli.store.scan import scan_spans
from tests.conftest import commit_spans

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("traces") / ".pyflare"
    args = ["demo", "--spans", "2000", "--days", "2", "--store", str(root)]
    done = CliRunner().invoke(app, args, env={"PYFLARE_NOW": NOW.isoformat()})
    assert done.exit_code == 0, done.output
    llm = scan_spans(root).filter(
        (pl.col("ai_kind") == "llm") & pl.col("output_tokens").is_not_null()
    )
    inner = (
        llm.head(40)
        .with_columns(
            pl.col("span_id").alias("parent_span_id"),
            (pl.col("span_id").str.slice(0, 8) + "d0d0d0d0").alias("span_id"),
            pl.col("start_time") + pl.duration(microseconds=1).cast(pl.Duration("ns")),
            pl.col("end_time") - pl.duration(microseconds=1).cast(pl.Duration("ns")),
        )
        .collect()
    )
    commit_spans(root, inner, "twice")
    return root


QUERIES = [
    SpanQuery(),
    SpanQuery(since="6h"),
    SpanQuery(since="2026-11-19T18:00:00Z", until="2026-11-20T06:00:00Z"),
    SpanQuery(where="status:error"),
    SpanQuery(where="model:gpt-4o*", since="1d"),
    SpanQuery(where="tokens:>2000"),  # reads token columns: every span is priced first
    SpanQuery(where="cost:>0.001"),
    SpanQuery(where="service:nothing-has-this"),
]


@pytest.mark.parametrize("by", ["start", "duration", "errors", "spans", "tokens", "cost"])
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.since}|{q.until}|{q.where}")
def test_trace_list_equals_pricing_every_span_first(store: Path, query: SpanQuery, by: str) -> None:
    expected = list_traces(load_spans(store, query, NOW), by, 15)
    assert_frame_equal(trace_list(store, query, NOW, by, 15), expected)


def test_the_store_has_calls_reported_twice_among_listed_traces(store: Path) -> None:
    # The comparison above means something only if listed traces hold priced calls whose
    # tokens pricing blanks: their totals differ from the stored spans' sums.
    listed = trace_list(store, SpanQuery(), NOW, "start", 2000)
    raw = (
        scan_spans(store)
        .group_by("trace_id")
        .agg(pl.col("output_tokens").sum().alias("raw_output"))
        .collect()
    )
    both = listed.join(raw, on="trace_id")
    assert both.filter(pl.col("output_tokens") != pl.col("raw_output")).height > 0
    assert listed.get_column("cost_usd").drop_nulls().len() > 0
