"""Facet counts predict the list: each is the number of traces the list shows once the
facet's term is added to the query (the search compiler decides, not a second definition)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_support import NOW

from pyflare_cli.tui.model.data import SortKey, TraceSource
from pyflare_cli.tui.model.facets import count_facets, facet_term
from pyflare_cli.tui.widgets.facets import toggle_term


@pytest.fixture
def source(tui_store: Path) -> TraceSource:
    return TraceSource(tui_store, lambda: NOW)


@pytest.mark.parametrize("query", ["", "status:error", "duration:>1s", "tool:*"])
def test_every_count_is_the_total_its_term_lists(source: TraceSource, query: str) -> None:
    facets = source.facets(query)
    assert any(facets.counts.values())
    for field, values in facets.counts.items():
        for value, n in values:
            term = facet_term(field, value)
            # A ✓ value (its term already in the query) counts what is listed now.
            listed = query if term in query.split() else toggle_term(query, term)
            assert source.page(listed, SortKey(), 0, 1).total == n, (query, field, value)


def test_counts_are_not_traces_having_the_value_somewhere(source: TraceSource) -> None:
    """status:error and a service on a different span of the trace: the naive count
    (matching traces that have a span of the service) is larger than the list."""
    spans = source.spans("status:error").collect()
    groups = spans.group_by("service_name")
    naive = {str(service): frame["trace_id"].n_unique() for (service,), frame in groups}
    counted = dict(source.facets("status:error").counts["service"])
    assert any(naive[s] > n for s, n in counted.items()), (naive, counted)


def test_counts_follow_the_compiler_for_models(tui_store: Path) -> None:
    """``model:`` matches the response or the request model, without case."""
    facets = count_facets(tui_store, "", NOW)
    source = TraceSource(tui_store, lambda: NOW)
    for value, n in facets.counts["model"]:
        assert source.page(f"model:{value.upper()}", SortKey(), 0, 1).total == n


def test_bad_query_raises(tui_store: Path) -> None:
    from pyflare_cli.errors import QuerySyntaxError

    with pytest.raises(QuerySyntaxError):
        count_facets(tui_store, "modle:x", NOW)


def test_completion_values_come_from_the_store(source: TraceSource) -> None:
    values = source.completions()
    services = set(source.services())
    assert values["service"] and set(values["service"]) <= services
    assert "chat-api" in values["service"]
    assert values["model"] and values["name"]
    assert values["attr"], "attribute keys"
    assert values["resource"] and "service.name" in values["resource"]
