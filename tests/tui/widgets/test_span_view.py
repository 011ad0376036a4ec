"""The span detail's Rich pieces draw the headless model exactly as Rich's JSON would."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console, RenderableType
from rich.json import JSON

from pyflare_cli.tui.model.span_info import pretty_text
from pyflare_cli.tui.widgets.span_view import key_values, pretty


def ansi(renderable: RenderableType, width: int = 40) -> str:
    out = io.StringIO()
    Console(width=width, file=out, color_system="truecolor", force_terminal=True).print(renderable)
    return out.getvalue()


@pytest.mark.parametrize(
    "text", ['{"a": [1, 2.5, null, true], "long": "' + "x" * 60 + '"}', '[{"é": "ü"}]']
)
def test_json_looks_as_rich_draws_it(text: str) -> None:
    assert ansi(pretty(pretty_text(text))) == ansi(JSON.from_data(json.loads(text), indent=2))


def test_plain_and_missing_text() -> None:
    assert "hello [b]world[/b]" in ansi(pretty(pretty_text("hello [b]world[/b]")))
    assert "none" in ansi(pretty(pretty_text(None)))


def test_key_values_wrap_values_and_say_none() -> None:
    drawn = ansi(key_values([("model", "gpt-4o " * 8)], title="GenAI / LLM"), width=30)
    assert drawn.count("gpt-4o") == 8 and "GenAI / LLM" in drawn
    assert "none" in ansi(key_values([]))
