"""What the span detail shows, as plain data: attribute groups and re-indented JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from pyflare_cli.tui.model.span_info import (
    GENAI,
    OTHER,
    PrettyText,
    describe,
    group_attributes,
    pretty_text,
)


def test_attributes_group_genai_first_then_the_rest() -> None:
    groups = group_attributes({"gen_ai.request.model": "gpt-4o", "http.route": "/chat"})
    assert groups[GENAI] == [("gen_ai.request.model", "gpt-4o")]
    assert groups[OTHER] == [("http.route", "/chat")]
    assert group_attributes(None) == {GENAI: [], OTHER: []}


def test_json_text_is_reindented_and_other_text_kept() -> None:
    assert pretty_text('  {"a": [1, 2], "é": null} ') == PrettyText(
        '{\n  "a": [\n    1,\n    2\n  ],\n  "é": null\n}', json=True
    )
    assert pretty_text("plain words") == PrettyText("plain words")
    assert pretty_text("{not json") == PrettyText("{not json")
    assert pretty_text("") == pretty_text(None) == PrettyText(None)


def test_cells_are_described_for_humans() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert describe(at) == "2026-01-02 03:04:05.006000 UTC"
    assert [describe(None), describe(0.1234567), describe(7)] == ["", "0.123457", "7"]
