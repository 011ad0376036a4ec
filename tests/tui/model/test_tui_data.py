"""The TUI's data layer agrees with ``pyflare traces`` and pages without rescanning."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tui_support import FIXTURE_TRACE, NOW, write_spans

from pyflare_cli.analysis.traces.summary import TRACE_SORTS
from pyflare_cli.errors import QuerySyntaxError, UsageError
from pyflare_cli.query.prices import priced
from pyflare_cli.query.spans import PRICED_COLUMNS, SpanQuery, list_traces, load_spans
from pyflare_cli.store.scan import scan_spans
from pyflare_cli.tui.model.data import SortKey, TraceSource
from pyflare_cli.tui.model.history import QueryHistory


@pytest.fixture
def source(tui_store: Path) -> TraceSource:
    return TraceSource(tui_store, lambda: NOW)


@pytest.mark.parametrize("by", ["start", "duration", "spans", "errors", "tokens", "cost"])
def test_first_page_is_what_pyflare_traces_lists(source: TraceSource, by: str) -> None:
    expected = list_traces(load_spans(source.root, SpanQuery(), NOW), by, 30)
    page = source.page("", SortKey(by), 0, 30)
    assert page.rows.get_column("trace_id").to_list() == expected["trace_id"].to_list()
    assert page.rows.columns == expected.columns
    assert page.total > 30


def test_pages_tile_the_ordering(source: TraceSource) -> None:
    first = source.page("", SortKey("duration"), 0, 50)
    second = source.page("", SortKey("duration"), 50, 50)
    ids = first.rows["trace_id"].to_list() + second.rows["trace_id"].to_list()
    assert len(set(ids)) == 100
    durations = pl.concat([first.rows, second.rows])["duration_ns"].to_list()
    assert durations == sorted(durations, reverse=True)
    assert second.offset == 50 and second.end == 100


def test_ascending_and_text_columns_sort(source: TraceSource) -> None:
    oldest = source.page("", SortKey("start", descending=False), 0, 20).rows
    starts = oldest["start_time"].to_list()
    assert starts == sorted(starts)
    roots = source.page("", SortKey("root", descending=False), 0, 300).rows
    keys = list(zip(roots["root_service"], roots["root_name"], strict=True))
    assert keys == sorted(keys)
    by_id = source.page("", SortKey("trace", descending=True), 0, 10).rows["trace_id"].to_list()
    assert by_id == sorted(by_id, reverse=True)


def test_query_filters_traces_and_bad_query_raises(source: TraceSource) -> None:
    page = source.page("status:error", SortKey(), 0, 500)
    assert 0 < page.total < source.page("", SortKey(), 0, 1).total
    assert all(errors > 0 for errors in page.rows["errors"])
    with pytest.raises(QuerySyntaxError) as raised:
        source.page("modle:gpt", SortKey(), 0, 10)
    assert (raised.value.line, raised.value.column) == (1, 1)


def test_facets_count_traces(source: TraceSource) -> None:
    facets = source.facets("")
    services = dict(facets.counts["service"])
    assert services["chat-api"] == 1  # the fixture trace
    assert set(dict(facets.counts["status"])) <= {"unset", "ok", "error"}
    errors = source.facets("status:error").counts["status"]
    assert dict(errors)["error"] == source.page("status:error", SortKey(), 0, 1).total


def test_trace_by_prefix_and_errors(source: TraceSource) -> None:
    spans = source.trace(FIXTURE_TRACE[:8])
    assert spans["trace_id"].unique().to_list() == [FIXTURE_TRACE]
    assert "cost_usd" in spans.columns
    with pytest.raises(UsageError, match="no trace id starts with"):
        source.trace("ffffffffff")


def test_empty_store(tmp_path: Path) -> None:
    source = TraceSource(tmp_path / "nothing", lambda: NOW)
    assert not source.has_spans()
    assert source.page("", SortKey(), 0, 10).total == 0


def test_history_recalls_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    history = QueryHistory(path, {"errors": "status:error"})
    for query in ("a:1", "b:2", "a:1", "  "):
        history.add(query)
    assert history.recent == ["a:1", "b:2"]
    assert [history.older(), history.older(), history.older()] == ["a:1", "b:2", None]
    assert [history.newer(), history.newer(), history.newer()] == ["a:1", "", None]
    assert QueryHistory(path).recent == ["a:1", "b:2"]
    assert history.entries()[0] == ("saved  errors", "status:error")


@pytest.mark.parametrize("query", ["", "status:error", "service:rag-api duration:>99ms", "cost:>0"])
@pytest.mark.parametrize("sort", [SortKey(), SortKey("duration"), SortKey("errors", False)])
def test_pages_ranked_without_prices_are_the_priced_summaries(
    source: TraceSource, query: str, sort: SortKey
) -> None:
    """Sorts pricing cannot change rank the unpriced scan and price only the page's traces:
    every column of every page is still what the priced summaries of all traces say."""
    spans = load_spans(source.root, SpanQuery(where=query or None), NOW)
    expected = list_traces(spans, "start", 0)
    columns = [TRACE_SORTS[sort.column], "trace_id"]
    expected = expected.sort(columns, descending=[sort.descending, False], nulls_last=True)
    pages = [source.page(query, sort, offset, 40) for offset in (0, 40, 80)]
    got = pl.concat([p.rows for p in pages])
    assert got.height > 0 and pages[0].total == expected.height
    assert_frame_equal(got, expected.head(got.height))


@pytest.fixture(scope="module")
def reported_twice(tmp_path_factory: pytest.TempPathFactory, tui_store: Path) -> Path:
    """The demo store with 30 LLM calls reported again by a child span (a framework span
    over the provider's), which pricing counts once: their outer spans lose their tokens."""
    spans = scan_spans(tui_store).collect()
    llm = spans.filter((pl.col("ai_kind") == "llm") & pl.col("output_tokens").is_not_null())
    inner = llm.head(30).with_columns(
        pl.col("span_id").alias("parent_span_id"),
        (pl.col("span_id").str.slice(0, 8) + "d0d0d0d0").alias("span_id"),
        pl.col("start_time") + pl.duration(microseconds=1).cast(pl.Duration("ns")),
        pl.col("end_time") - pl.duration(microseconds=1).cast(pl.Duration("ns")),
    )
    root = tmp_path_factory.mktemp("twice") / ".pyflare"
    write_spans(root, pl.concat([spans, inner]), "twice")
    return root


@pytest.mark.parametrize("sort", [SortKey(), SortKey("tokens")])
def test_calls_reported_twice_count_once_on_every_page(reported_twice: Path, sort: SortKey) -> None:
    source = TraceSource(reported_twice, lambda: NOW)
    expected = list_traces(load_spans(reported_twice, SpanQuery(), NOW), sort.column, 0)
    got = pl.concat([source.page("", sort, offset, 100).rows for offset in range(0, 1000, 100)])
    assert_frame_equal(got, expected.head(got.height))


def test_pricing_changes_only_the_priced_columns(reported_twice: Path) -> None:
    """Why ranking by start, duration, spans or errors may skip pricing: it sets costs and
    blanks the tokens of calls reported twice, nothing else."""
    raw = scan_spans(reported_twice).collect().sort("trace_id", "span_id")
    priced_spans = priced(scan_spans(reported_twice), reported_twice).collect()
    priced_spans = priced_spans.sort("trace_id", "span_id")
    assert raw.height == priced_spans.height
    same = [c for c in raw.columns if c not in PRICED_COLUMNS]
    assert_frame_equal(raw.select(same), priced_spans.select(same))
    changed = raw["output_tokens"].ne_missing(priced_spans["output_tokens"]).sum()
    assert changed == 30
