"""A span's overview and attributes as Rich renderables: the detail screen's first two tabs
and the split pane beside the waterfall draw the same thing."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from pyflare_cli.render.units import format_duration, money
from pyflare_cli.render.waterfall import ERROR
from pyflare_cli.tui.model.span_info import describe, group_attributes
from pyflare_cli.tui.model.waterfall import WaterfallModel
from pyflare_cli.tui.widgets.span_view import key_values

_OVERVIEW = (
    ("trace", "trace_id"),
    ("span", "span_id"),
    ("parent", "parent_span_id"),
    ("kind", "kind"),
    ("service", "service_name"),
    ("version", "service_version"),
    ("environment", "environment"),
    ("scope", "scope_name"),
    ("start", "start_time"),
    ("end", "end_time"),
)
_AI = (
    ("type", "ai_kind"),
    ("provider", "provider"),
    ("model", "model"),
    ("request model", "request_model"),
    ("input tokens", "input_tokens"),
    ("output tokens", "output_tokens"),
    ("total tokens", "total_tokens"),
    ("cache read", "cache_read_tokens"),
    ("cache write", "cache_write_tokens"),
    ("reasoning", "reasoning_tokens"),
    ("finish reason", "finish_reason"),
    ("tool", "tool_name"),
    ("agent", "agent_name"),
    ("user", "user_id"),
    ("session", "session_id"),
)


def _pairs(row: dict[str, Any], fields: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return [(label, describe(row.get(c))) for label, c in fields if row.get(c) is not None]


def span_overview(model: WaterfallModel, node: int, row: dict[str, Any]) -> RenderableType:
    """Status (the error first), the span's fields and timing, and its GenAI fields."""
    m = model
    r = m.rows[node]
    status = str(row.get("status_code") or "unset")
    timing = [
        ("duration", format_duration(int(m.end[r] - m.start[r]))),
        ("self time", format_duration(int(m.self_time()[r]))),
        ("critical path", "yes" if r in m.on_path else "no"),
    ]
    parts: list[RenderableType] = []
    if status == "error":
        error = Text("✖ error", style=ERROR)
        for column in ("error_type", "error_message", "status_message"):
            if row.get(column):
                error.append(f"\n  {column.replace('_', ' ')}: {row[column]}", style="red")
        parts.append(error)
    else:
        parts.append(Text(f"status {status}", style="green" if status == "ok" else "dim"))
    parts.append(key_values(_pairs(row, _OVERVIEW) + timing, title="span"))
    ai = _pairs(row, _AI)
    cost = row.get("cost_usd")
    if cost is not None:
        ai.append(("cost", f"{money(cost)} ({row.get('cost_source') or 'price'})"))
    elif row.get("input_tokens") is not None:
        ai.append(("cost", "unpriced (no price known for this model)"))
    if ai:
        parts.append(key_values(ai, title="GenAI / LLM"))
    return Group(*parts)


def span_attributes(row: dict[str, Any]) -> RenderableType:
    """Attributes grouped (GenAI/LLM first), then the resource's."""
    groups = group_attributes(row.get("attributes"))
    resource = sorted((row.get("resource_attributes") or {}).items())
    return Group(
        *(key_values(pairs, title=name) for name, pairs in groups.items()),
        key_values([(k, str(v)) for k, v in resource], title="resource"),
    )
