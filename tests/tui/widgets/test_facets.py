"""Facet values become query terms that toggle on and off."""

from __future__ import annotations

from pyflare_cli.tui.widgets.facets import facet_term, toggle_term


def test_facet_terms_quote_and_toggle() -> None:
    assert facet_term("service", "rag-api") == "service:rag-api"
    assert facet_term("model", "my model*") == 'model:"my model*"'
    query = toggle_term("status:error", "service:api")
    assert query == "status:error service:api"
    assert toggle_term(query, "service:api") == "status:error"
