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


@pytest.mark.parametrize("text", ['{"a": [1, 2.5, null, true], "b": "x"}', '[{"é": "ü"}]'])
def test_json_looks_as_rich_draws_it(text: str) -> None:
    assert ansi(pretty(pretty_text(text))) == ansi(JSON.from_data(json.loads(text), indent=2))


@pytest.mark.parametrize("json_text", [True, False])
def test_long_prompts_wrap_and_lose_nothing(json_text: bool) -> None:
    words = " ".join(f"word{i}" for i in range(40)) + " " + "y" * 90
    text = json.dumps({"content": words}) if json_text else words
    out = io.StringIO()
    Console(width=40, file=out, color_system=None).print(pretty(pretty_text(text)))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 40
    assert "".join("".join(lines).split()).count("y") == 90
    assert all(f"word{i}" in out.getvalue() for i in range(40))


def test_plain_and_missing_text() -> None:
    assert "hello [b]world[/b]" in ansi(pretty(pretty_text("hello [b]world[/b]")))
    assert "none" in ansi(pretty(pretty_text(None)))


def test_key_values_wrap_values_and_say_none() -> None:
    drawn = ansi(key_values([("model", "gpt-4o " * 8)], title="GenAI / LLM"), width=30)
    assert drawn.count("gpt-4o") == 8 and "GenAI / LLM" in drawn
    assert "none" in ansi(key_values([]))
