"""Phoenix's ``get_spans_dataframe().to_csv()``: Python-literal cells, read safely.

``fixtures/phoenix/spans_dataframe.csv`` was written by pandas' ``to_csv`` from a frame
shaped like Phoenix's (index and column ``context.span_id``, list and dict cells, NaN
tokens, one event whose timestamp pandas wrote as ``Timestamp('...')``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pyflare_cli.sources.decoding import decode
from pyflare_cli.sources.opening import Format, sniff
from pyflare_cli.sources.phoenix import UNREADABLE_EVENTS, _literal
from pyflare_cli.sources.tasks import split


def _spans(path: Path) -> pl.DataFrame:
    assert sniff(path) is Format.PHOENIX_CSV
    decoded = [decode(task) for task in split(path, Format.PHOENIX_CSV, path.name)]
    assert [d.dead for d in decoded] == [[]]
    return pl.concat([d.spans for d in decoded]).sort("span_id")


def test_every_span_is_kept_with_its_events_and_messages(fixtures_dir: Path) -> None:
    spans = _spans(fixtures_dir / "phoenix" / "spans_dataframe.csv")
    assert spans.height == 4
    agent, chat, failed, tool = spans.iter_rows(named=True)
    assert (agent["ai_kind"], agent["parent_span_id"]) == ("agent", None)
    assert chat["input_text"] == "Be brief.\nWhere is my order?"
    assert chat["output_text"] == "It ships tomorrow."
    assert (chat["input_tokens"], chat["output_tokens"], chat["request_model"]) == (
        1200,
        300,
        "gpt-4o-mini",
    )
    assert chat["attributes"]["metadata.agent_name"] == "support"
    # Every error survives, with its exception event when it can be read.
    assert spans.filter(pl.col("status_code") == "error").height == 2
    assert (failed["error_type"], failed["error_message"]) == (
        "openai.RateLimitError",
        "Error code: 429",
    )
    assert failed["input_tokens"] is None
    assert [e["name"] for e in failed["events"]] == ["exception"]
    # The tool's event holds a pandas Timestamp: not a literal, so the span keeps it raw.
    assert tool["events"] == []
    assert "Timestamp(" in tool["attributes"][UNREADABLE_EVENTS]
    assert (tool["status_code"], tool["error_message"]) == ("error", "KeyError: 42")


def test_literals_are_never_evaluated() -> None:
    assert _literal("[{'a': 1}]") == [{"a": 1}]
    assert _literal('{"a": [1, 2]}') == {"a": [1, 2]}
    hostile = "[__import__('os').system('echo pwned')]"
    assert _literal(hostile) == hostile
    deep = "[" * 100_000 + "]" * 100_000
    assert _literal(deep) == deep
