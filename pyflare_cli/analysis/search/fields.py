"""The fields of the search query language: names, aliases, kinds, help, allowed values.

One table serves the parser (validation, "did you mean"), the compiler (which columns),
the docs and, later, completion in the TUI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyflare_cli.schema import AI_KINDS, SPAN_KINDS, STATUS_CODES

FieldKind = Literal[
    "keyword",  # case-insensitive equality or anchored glob
    "enum",  # a keyword with a closed set of values
    "prefix",  # id prefix
    "substring",  # case-insensitive substring over one or more text columns
    "duration",  # nanoseconds, written with units
    "count",  # integer, optional k/M suffix
    "number",  # float, optional $ prefix and k/M suffix
    "time",  # since/until bound: relative duration or ISO date
    "has",  # the value is a field name
    "attribute",  # a key of a map column
]

Op = Literal["=", "<", "<=", ">", ">=", ".."]
_OPS: tuple[Op, ...] = (">=", "<=", ">", "<", "=")  # longest first


@dataclass(frozen=True)
class Field:
    """One searchable field: the columns it reads, how its values parse, its help line."""

    name: str
    columns: tuple[str, ...]
    kind: FieldKind
    help: str
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    trace_level: bool = False

    @property
    def comparable(self) -> bool:
        """Whether ``>``, ``<``, ranges etc. apply (numbers, durations, attributes)."""
        return self.kind in ("duration", "count", "number", "attribute")


def _f(
    name: str,
    columns: str | tuple[str, ...],
    kind: FieldKind,
    help: str,
    *aliases: str,
    values: tuple[str, ...] = (),
) -> Field:
    cols = (columns,) if isinstance(columns, str) else columns
    trace_level = name.startswith("trace.")
    return Field(name, cols, kind, help, aliases, values, trace_level)


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        _f("service", "service_name", "keyword", "service name"),
        _f("version", "service_version", "keyword", "service version"),
        _f("env", "environment", "keyword", "deployment environment", "environment"),
        _f("name", "name", "keyword", "span name", "operation"),
        _f("kind", "kind", "enum", "span kind", values=SPAN_KINDS),
        _f("status", "status_code", "enum", "span status", values=STATUS_CODES),
        _f("duration", "duration_ns", "duration", "span duration, e.g. duration:>1.5s"),
        _f("model", ("model", "request_model"), "keyword", "response or request model"),
        _f("provider", "provider", "keyword", "AI provider, e.g. openai"),
        _f("type", "ai_kind", "enum", "AI span type, e.g. llm, tool", "ai_kind", values=AI_KINDS),
        _f("tool", "tool_name", "keyword", "tool name"),
        _f("agent", "agent_name", "keyword", "agent name"),
        _f("user", "user_id", "keyword", "user id"),
        _f("session", "session_id", "keyword", "session id"),
        _f("trace", "trace_id", "prefix", "trace id or a prefix of it", "trace_id"),
        _f("span", "span_id", "keyword", "span id", "span_id"),
        _f("parent", "parent_span_id", "keyword", "parent span id; parent:none = root spans"),
        _f("tokens", "total_tokens", "count", "total tokens, e.g. tokens:>10k"),
        _f("input_tokens", "input_tokens", "count", "input tokens (including cached)"),
        _f("output_tokens", "output_tokens", "count", "output tokens (including reasoning)"),
        _f("cache_read_tokens", "cache_read_tokens", "count", "input tokens read from cache"),
        _f("cache_write_tokens", "cache_write_tokens", "count", "input tokens written to cache"),
        _f("reasoning_tokens", "reasoning_tokens", "count", "reasoning tokens"),
        _f("cost", "cost_usd", "number", "cost in USD (column cost_usd, added by the caller)"),
        _f("finish_reason", "finish_reason", "keyword", "finish reason, e.g. stop, length"),
        _f("scope", "scope_name", "keyword", "instrumentation scope name"),
        _f(
            "error",
            ("error_type", "error_message", "status_message"),
            "substring",
            "text in the error type or message; error:true = status error",
        ),
        _f("text", ("input_text", "output_text"), "substring", "text in the prompt or completion"),
        _f("since", "start_time", "time", "started at or after, e.g. since:1h, since:2024-05-01"),
        _f("until", "start_time", "time", "started before, e.g. until:30m, until:2024-05-02"),
        _f("has", (), "has", "the field or attribute is set, e.g. has:tool, has:attr.http.route"),
        _f("attr.*", "attributes", "attribute", "span attribute, e.g. attr.http.route:/chat"),
        _f("resource.*", "resource_attributes", "attribute", "resource attribute"),
        _f(
            "eval.*",
            (),
            "attribute",
            "evaluation score (a number) or label (text) of the span, e.g. eval.faithfulness:<0.5",
        ),
        _f(
            "trace.duration",
            ("start_time", "end_time"),
            "duration",
            "trace duration: last span end - first span start",
        ),
        _f("trace.spans", "trace_id", "count", "number of spans in the trace"),
        _f("trace.errors", "status_code", "count", "number of error spans in the trace"),
        _f("trace.cost", "cost_usd", "number", "total cost of the trace in USD"),
        _f("trace.service", "service_name", "keyword", "any span of the trace has this service"),
    )
}
"""Every field of the language by canonical name. ``attr.*``/``resource.*`` are prefixes."""

_LOOKUP: dict[str, Field] = {
    alias: f for f in FIELDS.values() if not f.name.endswith(".*") for alias in (f.name, *f.aliases)
}
_MAP_PREFIXES = {
    "attr.": FIELDS["attr.*"],
    "resource.": FIELDS["resource.*"],
    "eval.": FIELDS["eval.*"],
}
"""Fields named by a prefix and a key. ``eval.<name>`` reads the evaluation scores table
(one row per result), which the caller passes to the compiler, not a span column."""
