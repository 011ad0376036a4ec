"""Annotation templates: ``{{ $labels.model }}`` and ``{{ $value }}``, with a few filters.

A small, safe subset of Prometheus's templates: a placeholder is ``$value`` or
``$labels.<name>``, optionally piped through ``percent``, ``humanize``, ``duration`` (ms)
or ``round``. Anything else is refused when the rule file is loaded.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
EXPRESSION = re.compile(r"^\$(value|labels\.([A-Za-z_][A-Za-z0-9_.]*))(?:\s*\|\s*([a-z]+))?$")
FILTERS = ("percent", "humanize", "duration", "round")


def check_template(text: str) -> str | None:
    """Why ``text`` is not a valid template, or None."""
    if text.count("{{") != text.count("}}"):
        return f"unbalanced braces in {text!r}"
    for found in PLACEHOLDER.finditer(text):
        match = EXPRESSION.match(found.group(1))
        if not match:
            return f"{{{{ {found.group(1)} }}}}: use $value or $labels.<name>"
        if match.group(3) and match.group(3) not in FILTERS:
            return f"unknown filter {match.group(3)!r} (known: {', '.join(FILTERS)})"
    return None


def _humanize(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.4g}"


def _duration(ms: float) -> str:
    if abs(ms) >= 60_000:
        return f"{ms / 60_000:.1f}m"
    if abs(ms) >= 1000:
        return f"{ms / 1000:.2f}s"
    return f"{ms:.0f}ms"


def _apply(value: float | None, name: str | None) -> str:
    if value is None:
        return "n/a"
    if name == "percent":
        return f"{value:.1%}"
    if name == "humanize":
        return _humanize(value)
    if name == "duration":
        return _duration(value)
    if name == "round":
        return f"{round(value)}"
    return f"{value:.6g}"


def render(text: str, labels: dict[str, str], value: float | None) -> str:
    """``text`` with its placeholders filled (a missing label renders as empty)."""

    def fill(found: re.Match[str]) -> str:
        match = EXPRESSION.match(found.group(1))
        if not match:
            return found.group(0)
        if match.group(2) is not None:
            return labels.get(match.group(2), "")
        return _apply(value, match.group(3))

    return PLACEHOLDER.sub(fill, text)
