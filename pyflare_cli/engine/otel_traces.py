"""The canonical spans as a ClickHouse view over the Collector exporter's ``otel_traces``.

Teams that run the OpenTelemetry Collector's ClickHouse exporter already have their spans
in a table (``otel_traces``: ``Timestamp``, ``TraceId``, ``SpanAttributes`` map, ...).
:func:`canonical_select` turns it into pyflare's canonical columns, generated from the
convention table of :mod:`semconv`: each promoted column is the first present of its
rules' attributes (``SpanAttributes``, or ``ResourceAttributes`` for ``resource:`` keys),
transformed as the rule says, exactly as ingest normalises. Adding a convention to
``semconv.RULES`` adds it here too.

Event attributes (``event:exception:exception.type``) are read from the first event of
that name holding the key (``Events.Name``/``Events.Attributes``), as ingest does: the
error type and message that rca's failure templates are mined from.

What the view cannot express: rules with list indices (``{n}``) and the
``text``/``jsonpath`` transforms (message text): they are left out, so
``input_text``/``output_text`` are not in the view. None of them feeds a column that
cost, tokens, grouping or rca read.
"""

from __future__ import annotations

from pyflare_cli import semconv
from pyflare_cli.semconv import Rule

EXPORTER_DDL = """CREATE TABLE IF NOT EXISTS {table} (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1"""
"""The table the Collector's ClickHouse exporter creates (its ``traces_table.sql``
template, without TTL and cluster clauses): what the tests fill and the view reads."""

_RESOURCE = "resource:"
_UNKNOWN_SERVICE = "unknown_service"


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def expressible(rule: Rule) -> bool:
    """Whether the view can compute ``rule`` (see the module docstring)."""
    if "{n}" in rule.key:
        return False
    return rule.transform not in ("text",) and not (rule.transform or "").startswith("jsonpath:")


def _value(rule: Rule) -> str:
    if rule.key.startswith("event:"):
        _, name, key = rule.key.split(":", 2)
        has = f"(m, n) -> n = {_quote(name)} AND mapContains(m, {_quote(key)})"
        events = "Events.Attributes, Events.Name"
        return f"if(arrayExists({has}, {events}), arrayFirst({has}, {events})[{_quote(key)}], NULL)"
    if rule.key.startswith(_RESOURCE):
        column, key = "ResourceAttributes", rule.key[len(_RESOURCE) :]
    else:
        column, key = "SpanAttributes", rule.key
    k = _quote(key)
    return f"if(mapContains({column}, {k}), {column}[{k}], NULL)"


def _json(value: str, path: str) -> str:
    return f"nullIf(JSON_VALUE({value}, {_quote('$.' + path)}), '')"


def rule_expr(rule: Rule) -> str:
    """The string value ``rule`` gives a span (NULL when its attribute is absent)."""
    value = _value(rule)
    transform = rule.transform
    if transform is None:
        return value
    if transform == "lower":
        return f"lower({value})"
    if transform == "first":
        return f"nullIf(JSON_VALUE({value}, '$[0]'), '')"
    if transform.startswith("json:"):
        return _json(value, transform[5:])
    if transform.startswith("sum:"):
        fields = [f"toFloat64OrNull({_json(value, f)})" for f in transform[4:].split(",")]
        present = " OR ".join(f"{f} IS NOT NULL" for f in fields)
        total = " + ".join(f"coalesce({f}, 0)" for f in fields)
        return f"if({present}, toString({total}), NULL)"
    if transform == "unquote":
        return f"if(startsWith({value}, '\"'), JSON_VALUE({value}, '$'), {value})"
    if transform.startswith("map:"):
        cases = " ".join(
            f"WHEN {_quote(k)} THEN {_quote(v)}"
            for k, v in semconv.VALUE_MAPS[transform[4:]].items()
        )
        return f"CASE lower({value}) {cases} ELSE NULL END"
    raise ValueError(f"the view cannot express transform {transform!r}")


def promoted(column: str) -> str:
    """The first present value of ``column``'s expressible rules, as a string."""
    values = [rule_expr(r) for r in semconv.rules_for(column) if expressible(r)]
    if not values:
        return "CAST(NULL AS Nullable(String))"
    return values[0] if len(values) == 1 else f"coalesce({', '.join(values)})"


def _integer(column: str) -> str:
    # As ingest: through a float, then truncated to an integer (a "12.0" is 12).
    return f"toInt64(toFloat64OrNull({promoted(column)}))"


def canonical_select(table: str) -> str:
    """A ``SELECT`` of the canonical columns (all but text, embedding, events and links)
    from an ``otel_traces`` table; ``table`` may be ``db.table``."""
    ints = {c: _integer(c) for c in semconv.INT_COLUMNS}
    end_ns = "toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)"
    total = (
        "coalesce(i_total, if(i_input IS NOT NULL OR i_output IS NOT NULL, "
        "coalesce(i_input, 0) + coalesce(i_output, 0), NULL))"
    )
    status = "if(s_level = 'error', 'error', lower(StatusCode))"
    inner = ",\n  ".join(
        [
            "Timestamp",
            "Duration",
            "TraceId",
            "SpanId",
            "ParentSpanId",
            "SpanName",
            "SpanKind",
            "StatusCode",
            "StatusMessage",
            "ScopeName",
            "ServiceName",
            "SpanAttributes",
            "ResourceAttributes",
            *(
                f"{promoted(c)} AS s_{c}"
                for c in semconv.PROMOTED_COLUMNS
                if c not in semconv.INT_COLUMNS and c not in ("input_text", "output_text")
            ),
            f"{ints['input_tokens']} AS i_input",
            f"{ints['output_tokens']} AS i_output",
            f"{ints['total_tokens']} AS i_total",
            *(f"{ints[c]} AS i_{c}" for c in semconv.INT_COLUMNS[3:]),
        ]
    )
    outer = ",\n  ".join(
        [
            "nullIf(TraceId, '') AS trace_id",
            "nullIf(SpanId, '') AS span_id",
            "nullIf(ParentSpanId, '') AS parent_span_id",
            "SpanName AS name",
            "nullIf(lower(SpanKind), '') AS kind",
            "Timestamp AS start_time",
            f"fromUnixTimestamp64Nano({end_ns}, 'UTC') AS end_time",
            "toInt64(Duration) AS duration_ns",
            f"{status} AS status_code",
            "nullIf(StatusMessage, '') AS status_message",
            f"coalesce(nullIf(ServiceName, ''), s_service_name, {_quote(_UNKNOWN_SERVICE)})"
            " AS service_name",
            "s_service_version AS service_version",
            "s_environment AS environment",
            "nullIf(ScopeName, '') AS scope_name",
            "s_ai_kind AS ai_kind",
            "s_provider AS provider",
            "coalesce(s_response_model, s_request_model) AS model",
            "s_request_model AS request_model",
            "i_input AS input_tokens",
            "i_output AS output_tokens",
            f"{total} AS total_tokens",
            *(f"i_{c} AS {c}" for c in semconv.INT_COLUMNS[3:]),
            "toFloat64OrNull(s_reported_cost_usd) AS reported_cost_usd",
            "s_finish_reason AS finish_reason",
            "s_tool_name AS tool_name",
            "s_agent_name AS agent_name",
            "s_user_id AS user_id",
            "s_session_id AS session_id",
            "s_error_type AS error_type",
            "coalesce(s_error_message, if(lower(StatusCode) = 'error', "
            "nullIf(StatusMessage, ''), NULL)) AS error_message",
            "SpanAttributes AS attributes",
            "ResourceAttributes AS resource_attributes",
        ]
    )
    return f"SELECT\n  {outer}\nFROM (SELECT\n  {inner}\nFROM {table}) AS otel"


def create_view(view: str, table: str) -> str:
    """``CREATE VIEW`` of :func:`canonical_select`, for teams that want it in the server."""
    return f"CREATE OR REPLACE VIEW {view} AS\n{canonical_select(table)}"
