"""The search bar completes field names and explains a bad query where it is wrong."""

from __future__ import annotations

import pytest

from pyflare_cli.analysis.search.compile import parse
from pyflare_cli.errors import QuerySyntaxError
from pyflare_cli.tui.widgets.query_bar import error_text, suggest


def test_completion_and_error_text() -> None:
    assert suggest("status:error mod") == "status:error model:"
    assert suggest("-stat") == "-status:"
    assert suggest("status:er") == "status:error"
    assert suggest("zzz") is None
    with pytest.raises(QuerySyntaxError) as raised:
        parse("service:api modle:x")
    text = error_text("service:api modle:x", raised.value)
    assert "at 1:13" in text.plain and "did you mean 'model'" in text.plain
    assert text.plain.endswith("service:api modle:x")


VALUES = {
    "service": ["rag-api", "chat gateway", "Chat-API"],
    "model": ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4"],
    "name": ["POST /chat", "retrieve"],
    "attr": ["http.route", "gen_ai.system"],
    "resource": ["service.name"],
}


@pytest.mark.parametrize(
    ("typed", "completed"),
    [
        ("service:rag", "service:rag-api"),
        ("status:error service:chat-", "status:error service:chat-API"),
        ("model:gpt", "model:gpt-4o-mini"),
        ("-model:cla", "-model:claude-sonnet-4"),
        ("operation:ret", "operation:retrieve"),
        ('service:"chat g', 'service:"chat gateway"'),
        ('name:"POST', 'name:"POST /chat"'),
        ("attr.http", "attr.http.route:"),
        ("resource.serv", "resource.service.name:"),
        ("service:zzz", None),
        ("service:rag-api", None),
        ("service:chat g", None),  # needs quotes: typed without one, nothing to extend
    ],
)
def test_completes_values_from_the_store(typed: str, completed: str | None) -> None:
    result = suggest(typed, VALUES)
    assert result == completed
    if result is not None:
        assert result.startswith(typed)  # the input shows the rest; enter/→ accepts it
        parse(result + "x" if result.endswith(":") else result)
