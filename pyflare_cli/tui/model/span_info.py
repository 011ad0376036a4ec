"""What the span detail shows, computed without Textual: attribute groups and pretty text.

Attributes are grouped GenAI/LLM first: a key belongs there when its namespace is one that
:mod:`pyflare_cli.semconv` reads for an AI convention (``gen_ai.``, ``llm.``,
``openinference.``, ``traceloop.``, ``langfuse.`` ...), so adding a convention there also
groups its attributes here. Prompt and completion text is pretty-printed when it is JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import RenderableType
from rich.json import JSON
from rich.table import Table
from rich.text import Text

from pyflare_cli.semconv import OTEL, RULES

GENAI_NAMESPACES = frozenset(
    rule.key.split(":")[-1].split(".")[0] for rule in RULES if rule.convention != OTEL
)
GENAI, OTHER = "GenAI / LLM", "other"


def group_attributes(attributes: dict[str, str] | None) -> dict[str, list[tuple[str, str]]]:
    """Span attributes split into GenAI/LLM and the rest, each sorted by key."""
    groups: dict[str, list[tuple[str, str]]] = {GENAI: [], OTHER: []}
    for key, value in sorted((attributes or {}).items()):
        group = GENAI if key.split(".")[0] in GENAI_NAMESPACES else OTHER
        groups[group].append((key, "" if value is None else str(value)))
    return groups


def key_values(pairs: list[tuple[str, str]], *, title: str | None = None) -> Table:
    """A two-column table of (key, value); long values wrap."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    if title:
        table.title = title
        table.title_justify = "left"
        table.title_style = "bold"
    for key, value in pairs:
        table.add_row(key, Text(value))
    if not pairs:
        table.add_row(Text("none", style="dim"), "")
    return table


def pretty(text: str | None) -> RenderableType:
    """``text`` as indented, highlighted JSON when it parses as an object or array."""
    if text is None or text == "":
        return Text("none", style="dim")
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return JSON.from_data(json.loads(stripped), indent=2)
        except ValueError:
            pass
    return Text(text)


def describe(value: Any) -> str:
    """A cell value for humans (times in UTC with microseconds)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
