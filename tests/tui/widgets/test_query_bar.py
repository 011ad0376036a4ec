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
