"""What the span detail shows, computed without Textual: attribute groups and pretty text.

Attributes are grouped GenAI/LLM first: a key belongs there when its namespace is one that
:mod:`pyflare_cli.semconv` reads for an AI convention (``gen_ai.``, ``llm.``,
``openinference.``, ``traceloop.``, ``langfuse.`` ...), so adding a convention there also
groups its attributes here. Prompt and completion text is re-indented when it is JSON.
Drawing all this is :mod:`pyflare_cli.tui.widgets.span_view`'s job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True)
class PrettyText:
    """Prompt or completion text as the detail shows it (drawn by the widgets)."""

    text: str | None
    """The text, re-indented when it is JSON; None when the span recorded none."""
    json: bool = False
    """Whether ``text`` is indented JSON (the widgets highlight it as such)."""


def pretty_text(text: str | None) -> PrettyText:
    """``text``, as indented JSON (2 spaces, non-ASCII kept) when it parses as an object or
    array, else as it is."""
    if text is None or text == "":
        return PrettyText(None)
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            data = json.loads(stripped)
        except ValueError:
            pass
        else:
            return PrettyText(json.dumps(data, indent=2, ensure_ascii=False), json=True)
    return PrettyText(text)


def describe(value: Any) -> str:
    """A cell value for humans (times in UTC with microseconds)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
