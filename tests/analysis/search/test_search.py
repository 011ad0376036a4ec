"""Tests of the search query language: parsing, errors, and what each query selects."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.search.compile import (
    FIELDS,
    And,
    Glob,
    Not,
    Or,
    Term,
    compile_query,
    filter_spans,
    filter_traces,
    matching_trace_ids,
    parse,
    time_bound,
)
from pyflare_cli.errors import QuerySyntaxError, UsageError
from pyflare_cli.schema import AI_KINDS, POLARS_SCHEMA, SPAN_KINDS

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
MS = 1_000_000
_COLUMNS = [
    c for c in POLARS_SCHEMA if c not in ("embedding", "events", "links", "reported_cost_usd")
]
SCHEMA = {c: POLARS_SCHEMA[c] for c in _COLUMNS} | {"cost_usd": pl.Float64()}


def _span(
    trace: str, span: str, parent: str | None, start: datetime, ms: int, **cols: Any
) -> dict[str, Any]:
    return {
        "trace_id": trace,
        "span_id": span,
        "parent_span_id": parent,
        "start_time": start,
        "end_time": start + timedelta(milliseconds=ms),
        "duration_ns": ms * MS,
        **cols,
    }


T1, T2, T3 = NOW - timedelta(minutes=30), NOW - timedelta(hours=3), NOW - timedelta(days=2)

ROWS = [
    # t1: a chat request on "api": server span, an LLM call, a failing tool call.
    _span(
        "aa11", "s1", None, T1, 1_200,
        name="POST /chat", kind="server", status_code="ok", service_name="api",
        service_version="1.4.0", environment="prod", scope_name="fastapi",
        attributes={"http.route": "/chat", "http.status_code": "200"},
        resource_attributes={"host.name": "web-1"},
    ),
    _span(
        "aa11", "s2", "s1", T1 + timedelta(milliseconds=100), 900,
        name="chat gpt-4o", kind="client", status_code="ok", service_name="api",
        ai_kind="llm", provider="openai", model="gpt-4o-2024-08-06", request_model="gpt-4o",
        input_tokens=1_200, output_tokens=300, total_tokens=1_500, cache_read_tokens=1_000,
        cache_write_tokens=0, reasoning_tokens=0, cost_usd=0.02, finish_reason="stop",
        user_id="u-1", session_id="sess-1", scope_name="openai.instrumentation",
        input_text="What is the weather in Paris?", output_text="Sunny, 24°C.",
        attributes={"gen_ai.request.temperature": "0.7"},
    ),
    _span(
        "aa11", "s3", "s2", T1 + timedelta(milliseconds=1_000), 50,
        name="tool search", kind="internal", status_code="error", service_name="api",
        ai_kind="tool", tool_name="search", agent_name="planner", error_type="TimeoutError",
        error_message="search timed out", status_message="deadline exceeded",
        input_text='say "hi"',
    ),
    # t2: a batch job on "worker" with a database call and a span from an unnamed service.
    _span(
        "bb22", "s4", None, T2, 3_000,
        name="batch embed", kind="internal", status_code="unset", service_name="worker",
        environment="staging", ai_kind="embedding", provider="openai",
        request_model="text-embedding-3-small", input_tokens=20_000, total_tokens=20_000,
        cost_usd=0.002, attributes={"batch.size": "32", "http.route": "/embed"},
        resource_attributes={"host.name": "batch-7"},
    ),
    _span(
        "bb22", "s5", "s4", T2 + timedelta(milliseconds=10), 5,
        name="SELECT", kind="client", status_code="unset", service_name="db",
        attributes={"db.system": "postgres"},
    ),
    _span("bb22", "s7", "s4", T2 + timedelta(milliseconds=20), 1, name="anonymous"),
    # t3: an old health check on "api" that failed while calling an Anthropic model.
    _span(
        "aa33", "s6", None, T3, 10,
        name="anthropic.chat", kind="client", status_code="error", service_name="api",
        status_message="Internal Server Error", ai_kind="llm", provider="anthropic",
        model="claude-3-5-sonnet", total_tokens=800, output_tokens=800, reasoning_tokens=200,
        cost_usd=0.5, finish_reason="length", output_text="Line one\nline TWO",
        attributes={"http.route": "/health", "http.status_code": "500"},
    ),
]  # fmt: skip

SPANS = pl.DataFrame(ROWS, schema=SCHEMA).lazy()
ALL = {"s1", "s2", "s3", "s4", "s5", "s6", "s7"}


def ids(query: str, now: datetime = NOW) -> set[str]:
    return set(filter_spans(SPANS, query, now).collect()["span_id"])


def parse_error(query: str) -> QuerySyntaxError:
    with pytest.raises(QuerySyntaxError) as info:
        parse(query)
    return info.value


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("service:api", {"s1", "s2", "s3", "s6"}),
        ("service:API", {"s1", "s2", "s3", "s6"}),
        ("version:1.4.0", {"s1"}),
        ("env:prod", {"s1"}),
        ("environment:staging", {"s4"}),
        ("name:SELECT", {"s5"}),
        ("operation:select", {"s5"}),
        ("kind:client", {"s2", "s5", "s6"}),
        ("status:error", {"s3", "s6"}),
        ("status:OK", {"s1", "s2"}),
        ("status:unset", {"s4", "s5", "s7"}),  # a missing status counts as unset
        ("duration:>1s", {"s1", "s4"}),
        ("model:gpt-4o", {"s2"}),  # the request model
        ("model:gpt-4o-2024-08-06", {"s2"}),  # the response model
        ("model:text-embedding-3-small", {"s4"}),
        ("provider:anthropic", {"s6"}),
        ("type:llm", {"s2", "s6"}),
        ("ai_kind:tool", {"s3"}),
        ("tool:search", {"s3"}),
        ("agent:planner", {"s3"}),
        ("user:u-1", {"s2"}),
        ("session:sess-1", {"s2"}),
        ("trace:aa", {"s1", "s2", "s3", "s6"}),  # a prefix
        ("trace:AA11", {"s1", "s2", "s3"}),
        ("trace_id:bb22", {"s4", "s5", "s7"}),
        ("span:s5", {"s5"}),
        ("span_id:s5", {"s5"}),
        ("parent:s4", {"s5", "s7"}),
        ("parent:none", {"s1", "s4", "s6"}),
        ("tokens:>1000", {"s2", "s4"}),
        ("input_tokens:1200", {"s2"}),
        ("output_tokens:>=300", {"s2", "s6"}),
        ("cache_read_tokens:>0", {"s2"}),
        ("cache_write_tokens:0", {"s2"}),
        ("reasoning_tokens:>0", {"s6"}),
        ("cost:>0.01", {"s2", "s6"}),
        ("cost:<$0.01", {"s4"}),
        ("finish_reason:length", {"s6"}),
        ("scope:fastapi", {"s1"}),
        ("error:timeout", {"s3"}),  # error_type
        ("error:TIMED", {"s3"}),  # error_message
        ("error:deadline", {"s3"}),  # status_message
        ("error:server", {"s6"}),
        ("error:true", {"s3", "s6"}),  # status error
        ("error:false", ALL - {"s3", "s6"}),
        ('error:"true"', set()),  # quoted: the text "true"
        ("text:paris", {"s2"}),  # input_text
        ("text:sunny", {"s2"}),  # output_text
        ("has:tool", {"s3"}),
        ("has:model", {"s2", "s4", "s6"}),  # request_model alone counts
        ("has:parent", {"s2", "s3", "s5", "s7"}),
        ("has:cost", {"s2", "s4", "s6"}),
        ("has:attr.db.system", {"s5"}),
        ("has:resource.host.name", {"s1", "s4"}),
        ("has:error", {"s3", "s6"}),
    ],
)
def test_every_field_selects_its_spans(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("weather", {"s2"}),  # input_text
        ("SUNNY", {"s2"}),  # output_text
        ("select", {"s5"}),  # name
        ("timed", {"s3"}),  # error_message
        ("internal", {"s6"}),  # status_message, not the kind column
        ('"timed out"', {"s3"}),
        ("tim*out", {"s3"}),
        ("nothing-like-this", set()),
    ],
)
def test_bare_words_search_name_errors_and_text(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("model:gpt-4o*", {"s2"}),
        ("model:GPT-4O*", {"s2"}),
        ("model:*sonnet", {"s6"}),
        ("model:gpt", set()),  # equality, not substring
        ("model:gpt*", {"s2"}),
        ("name:*chat*", {"s1", "s2", "s6"}),
        ("name:*chat", {"s1", "s6"}),  # anchored at both ends
        ("span:s?", ALL),
        ("span:s??", set()),
        ('name:"*chat*"', set()),  # quoted wildcards are literal
        (r"name:\*chat*", set()),  # so are escaped ones
        ("text:one*two", {"s6"}),  # across a newline, case-insensitive
        ("trace:a*3", {"s6"}),
        ("trace.service:w*r", {"s4", "s5", "s7"}),
        ("attr.http.route:/CH*", {"s1"}),
        ("name:(*)", None),
    ],
)
def test_wildcards(query: str, expected: set[str] | None) -> None:
    if expected is None:
        with pytest.raises(QuerySyntaxError):
            parse(query)
    else:
        assert ids(query) == expected


def test_glob_escapes_regex_metacharacters() -> None:
    node = parse("name:a.b*[x]")
    assert node == Term("name", Glob("a.b*[x]", r"a\.b.*\[x\]"))
    assert ids("name:POST.*") == set()  # '.' is literal, not "any character"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('name:"POST /chat"', {"s1"}),
        (r"name:POST\ /chat", {"s1"}),
        ('"POST /chat"', {"s1"}),
        ('text:"say \\"hi\\""', {"s3"}),
        ('attr."http.route":/chat', {"s1"}),
        ('service:"api"', {"s1", "s2", "s3", "s6"}),
        ('"service:api"', set()),  # a quoted colon is text, not a field
        ('"OR"', {"s6"}),  # a quoted keyword is a word: "Internal Server Error"
    ],
)
def test_quoting(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


def test_quoted_values_keep_operators_and_ranges_literal() -> None:
    assert parse('attr.x:">5"') == Term("attr.x", ">5")
    assert parse('attr.x:"1..2"') == Term("attr.x", "1..2")
    assert parse('attr.x:"500"') == Term("attr.x", "500")
    assert parse("attr.x:500") == Term("attr.x", 500)


def test_precedence_not_binds_tighter_than_and_tighter_than_or() -> None:
    a, b, c = (Term(None, w, column=col) for w, col in (("a", 1), ("b", 6), ("c", 8)))
    assert parse("a OR b c") == Or((a, And((b, c))))
    assert parse("a OR b AND c") == Or((a, And((b, Term(None, "c", column=12)))))
    assert parse("NOT a b") == And((Not(Term(None, "a", column=5)), Term(None, "b", column=7)))
    assert parse("-a b") == And((Not(Term(None, "a", column=2)), Term(None, "b", column=4)))
    assert parse("-(a OR b)") == Not(Or((Term(None, "a", column=3), Term(None, "b", column=8))))
    assert parse("NOT(a)") == Not(Term(None, "a", column=5))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("service:api status:error", {"s3", "s6"}),
        ("service:api AND status:error", {"s3", "s6"}),
        ("service:db OR status:error", {"s3", "s5", "s6"}),
        ("service:db OR service:api status:error", {"s3", "s5", "s6"}),
        ("(service:db OR service:api) status:error", {"s3", "s6"}),
        ("(service:db OR service:worker) -kind:client", {"s4"}),
        ("-service:api", {"s4", "s5", "s7"}),  # includes the span with no service
        ("NOT service:api", {"s4", "s5", "s7"}),
        ("-(service:api OR service:db)", {"s4", "s7"}),
        ("NOT NOT service:db", {"s5"}),
        ("-tool:search service:api", {"s1", "s2", "s6"}),
        ("-tokens:>1000", ALL - {"s2", "s4"}),  # includes spans without tokens
        ("((service:db))", {"s5"}),
    ],
)
def test_boolean_logic(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("duration:50ms..1s", {"s2", "s3"}),  # inclusive at both ends
        ("duration:1s..", {"s1", "s4"}),
        ("duration:..10ms", {"s5", "s6", "s7"}),
        ("tokens:1k..2k", {"s2"}),
        ("tokens:800..1.5k", {"s2", "s6"}),
        ("cost:0.01..1", {"s2", "s6"}),
        ("attr.http.status_code:200..499", {"s1"}),
        ("attr.http.route:/a../d", {"s1"}),  # a text range
        ("trace.duration:1s..2s", {"s1", "s2", "s3"}),
    ],
)
def test_ranges(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        ("250ns", 250),
        ("3us", 3_000),
        ("3µs", 3_000),
        ("250ms", 250 * MS),
        ("1.5s", 1_500 * MS),
        (".5s", 500 * MS),
        ("2m", 120_000 * MS),
        ("1h", 3_600_000 * MS),
        ("1m30s", 90_000 * MS),
        ("0", 0),  # zero needs no unit
    ],
)
def test_duration_units(value: str, ns: int) -> None:
    assert parse(f"duration:>{value}") == Term("duration", ns, ">")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("duration:=900ms", {"s2"}),
        ("duration:900ms", {"s2"}),
        ("duration:>=900ms", {"s1", "s2", "s4"}),
        ("duration:<10ms", {"s5", "s7"}),
        ("duration:<=10ms", {"s5", "s6", "s7"}),
        ("duration:>0.0005h", {"s4"}),  # 1.8s
    ],
)
def test_comparison_operators(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


@pytest.mark.parametrize(
    ("query", "value"),
    [("tokens:10k", 10_000), ("tokens:1.5M", 1_500_000), ("tokens:2K", 2_000), ("tokens:7", 7)],
)
def test_token_counts_take_k_and_m_suffixes(query: str, value: int) -> None:
    assert parse(query) == Term("tokens", value)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("attr.http.route:/chat", {"s1"}),
        ("attr.http.route:/CHAT", {"s1"}),
        ("attr.http.status_code:500", {"s6"}),
        ("attr.http.status_code:>=500", {"s6"}),
        ("attr.http.status_code:<500", {"s1"}),
        ("attr.batch.size:32.0", {"s4"}),  # numeric equality
        ("attr.batch.size:>4", {"s4"}),  # numeric, where text would say "32" < "4"
        ('attr.batch.size:"32.0"', set()),  # quoted: text equality
        ("attr.gen_ai.request.temperature:<1", {"s2"}),
        ("attr.http.route:>/d", {"s4", "s6"}),  # text comparison
        ("attr.missing:x", set()),
        ("-attr.http.route:/chat", ALL - {"s1"}),
        ("resource.host.name:web-1", {"s1"}),
        ("resource.host.name:batch*", {"s4"}),
        ("attr.host.name:web-1", set()),  # resource attributes are not span attributes
    ],
)
def test_attributes(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("since:1h", {"s1", "s2", "s3"}),
        ("since:1d", {"s1", "s2", "s3", "s4", "s5", "s7"}),
        ("until:1d", {"s6"}),
        ("since:4h until:1h", {"s4", "s5", "s7"}),
        ("since:1w", ALL),
        ("since:2024-05-10", {"s1", "s2", "s3", "s4", "s5", "s7"}),  # naive: UTC midnight
        ("until:2024-05-10T09:00:00", {"s6"}),  # until is exclusive
        ("since:2024-05-10T09:00:00Z", {"s1", "s2", "s3", "s4", "s5", "s7"}),
        ("since:2024-05-10T13:00:00+02:00", {"s1", "s2", "s3"}),  # 11:00 UTC
        ("until:now", ALL),
    ],
)
def test_since_and_until_are_relative_to_the_given_now(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


def test_since_uses_now_not_the_clock() -> None:
    assert ids("since:1h", now=NOW + timedelta(days=30)) == set()
    assert ids("since:1h", now=NOW.replace(tzinfo=None)) == {"s1", "s2", "s3"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("trace.duration:>2s", {"s4", "s5", "s7"}),
        ("trace.duration:<100ms", {"s6"}),
        ("trace.spans:3", {"s1", "s2", "s3", "s4", "s5", "s7"}),
        ("trace.spans:<2", {"s6"}),
        ("trace.errors:>0", {"s1", "s2", "s3", "s6"}),
        ("trace.errors:0", {"s4", "s5", "s7"}),
        ("trace.cost:>0.1", {"s6"}),
        ("trace.cost:0.01..0.1", {"s1", "s2", "s3"}),
        ("trace.service:db", {"s4", "s5", "s7"}),
        ("-trace.service:db", {"s1", "s2", "s3", "s6"}),
        ("trace.service:db kind:internal", {"s4"}),  # mixed trace and span conditions
        ("trace.errors:>0 OR service:db", {"s1", "s2", "s3", "s5", "s6"}),
    ],
)
def test_trace_fields_filter_on_the_whole_trace(query: str, expected: set[str]) -> None:
    assert ids(query) == expected


def test_filter_traces_keeps_every_span_of_a_matching_trace() -> None:
    result = filter_traces(SPANS, "tool:search", NOW).collect()
    assert_frame_equal(result, SPANS.filter(pl.col("trace_id") == "aa11").collect())
    assert set(filter_traces(SPANS, "status:error", NOW).collect()["span_id"]) == {
        "s1", "s2", "s3", "s6"
    }  # fmt: skip
    assert filter_traces(SPANS, "nothing-like-this", NOW).collect().height == 0
    assert filter_traces(SPANS, "", NOW).collect().height == len(ROWS)


def test_filter_traces_with_trace_fields() -> None:
    result = filter_traces(SPANS, "trace.spans:>1 model:gpt*", NOW).collect()
    assert set(result["trace_id"]) == {"aa11"}


def test_matching_trace_ids_is_one_unique_column() -> None:
    result = matching_trace_ids(SPANS, "service:api", NOW).collect()
    assert_frame_equal(result, pl.DataFrame({"trace_id": ["aa11", "aa33"]}))
    assert matching_trace_ids(SPANS, "service:none", NOW).collect().columns == ["trace_id"]


def test_empty_query_matches_everything() -> None:
    assert parse("") == And(())
    assert parse("  \n ") == And(())
    assert ids("") == ALL
    assert ids("   ") == ALL


def test_compile_query_accepts_a_parsed_node() -> None:
    query = "service:api status:error"
    frame = SPANS.collect()
    from_node = frame.filter(compile_query(parse(query), NOW))
    assert_frame_equal(from_node, frame.filter(compile_query(query, NOW)))
    assert set(from_node["span_id"]) == {"s3", "s6"}
    assert frame.select(compile_query("", NOW)).to_series().all()


def test_field_names_are_case_insensitive_but_attribute_keys_are_not() -> None:
    assert ids("SERVICE:db") == {"s5"}
    assert ids("Attr.db.system:postgres") == {"s5"}
    assert ids("attr.DB.SYSTEM:postgres") == set()


def test_terms_record_their_position() -> None:
    node = parse("service:api\n  -status:ok")
    assert node == And((Term("service", "api"), Not(Term("status", "ok", line=2, column=4))))


def test_value_may_contain_colons() -> None:
    assert parse("attr.url:http://x:8080/a") == Term("attr.url", "http://x:8080/a")


TEXT_HINT = "; text fields take a value or a pattern, e.g. service:api or model:gpt-4o*"
TIME_HINT = "; use e.g. 30m, 24h, 7d, 2w or an ISO date like 2024-05-01 or 2024-05-01T12:00:00Z"
DURATION_HINT = "; use e.g. 250ms, 1.5s, 2m"
HAS_HINT = "; e.g. has:tool or has:attr.user.tier"
CLOSE_HINT = "; add a matching ')'"
OPEN_HINT = "; remove it or add a matching '('"
KINDS = ", ".join(SPAN_KINDS)
AI_TYPES = ", ".join(AI_KINDS)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("modle:gpt-4o", "unknown field 'modle' at 1:1; did you mean 'model'?"),
        ("service:api sevrice:x", "unknown field 'sevrice' at 1:13; did you mean 'service'?"),
        (
            "atr.http.route:/x",
            "unknown field 'atr.http.route' at 1:1; did you mean 'attr.http.route'?",
        ),
        (
            "trace.duraton:>1s",
            "unknown field 'trace.duraton' at 1:1; did you mean 'trace.duration'?",
        ),
        ("http://example.com", """unknown field 'http' at 1:1; quote text that contains ":\""""),
        ("service:api\n  durashun:1s", "unknown field 'durashun' at 2:3; did you mean 'duration'?"),
        ("(service:api", "unclosed '(' at 1:1" + CLOSE_HINT),
        ("a (b (c)", "unclosed '(' at 1:3" + CLOSE_HINT),
        ("service:api)", "unbalanced ')' at 1:12" + OPEN_HINT),
        (")", "unbalanced ')' at 1:1" + OPEN_HINT),
        ("()", "empty parentheses at 1:1"),
        ("service:", "empty value for 'service' at 1:1"),
        ('model:""', "empty value for 'model' at 1:1"),
        ("duration:>", "empty value for 'duration' at 1:10"),
        ('""', "empty search text at 1:1"),
        ("duration:1.5x", "bad duration '1.5x' for 'duration' at 1:10" + DURATION_HINT),
        (
            "service:api duration:>1.5x",
            "bad duration '1.5x' for 'duration' at 1:23" + DURATION_HINT,
        ),
        ("duration:>2", "missing unit in duration '2' for 'duration' at 1:11" + DURATION_HINT),
        ("duration:2s..100ms", "empty range for 'duration' at 1:12; put the lower bound first"),
        ("duration:..", "empty range for 'duration' at 1:10; write e.g. 100ms..2s"),
        ("service:>api", "comparison '>' on text field 'service' at 1:9" + TEXT_HINT),
        ("text:<=x", "comparison '<=' on text field 'text' at 1:6" + TEXT_HINT),
        ("since:>1h", "comparison '>' for 'since' at 1:7; write since:1h or since:2024-05-01"),
        ("has:>tool", "comparison '>' for 'has' at 1:5; write has:<field>, e.g. has:tool"),
        (
            "status:eror",
            "unknown status 'eror' at 1:8; did you mean 'error'? (one of: unset, ok, error)",
        ),
        ("status:failed", "unknown status 'failed' at 1:8; use one of: unset, ok, error"),
        (
            "kind:sever",
            "unknown kind 'sever' at 1:6; did you mean 'server'? (one of: " + KINDS + ")",
        ),
        ("type:lmm", "unknown type 'lmm' at 1:6; did you mean 'llm'? (one of: " + AI_TYPES + ")"),
        ("tokens:>1x", "bad number '1x' for 'tokens' at 1:9; use e.g. 1500, 10k, 1.5M"),
        ("cost:cheap", "bad number 'cheap' for 'cost' at 1:6; use e.g. 0.01, $0.5, 2"),
        ("tokens:1*", "wildcards are not supported for 'tokens' at 1:8"),
        ("attr.x:>a*", "wildcards cannot be combined with '>' at 1:9"),
        ("since:5", "bad time '5' for 'since' at 1:7" + TIME_HINT),
        ("until:yesterday", "bad time 'yesterday' for 'until' at 1:7" + TIME_HINT),
        ("has:modle", "unknown field 'modle' at 1:5; did you mean 'model'?"),
        ("has:since", "has: takes a span field, not 'since' at 1:5" + HAS_HINT),
        ("has:trace.cost", "has: takes a span field, not 'trace.cost' at 1:5" + HAS_HINT),
        ("attr.:x", "missing key after 'attr.' at 1:1; write attr.<key>:value"),
        ("resource:x", "missing key after 'resource' at 1:1; write resource.<key>:value"),
        (":x", """missing field name before ':' at 1:1; quote text that contains ":\""""),
        ("a OR", "expected a term after 'OR' at 1:3"),
        ("(a OR)", "expected a term after 'OR' at 1:4"),
        ("OR a", "expected a term before 'OR' at 1:1"),
        ("a AND OR b", "expected a term after 'AND' at 1:3"),
        ("a NOT", "expected a term after 'NOT' at 1:3"),
        ("- a", "expected a term right after '-' at 1:1"),
        ("a -", "expected a term right after '-' at 1:3"),
        ('name:"abc', 'unterminated quote at 1:6; close it with "'),
        ("abc\\", "nothing to escape after '\\' at 1:4"),
        (
            "name:f(x)",
            "'(' inside a term at 1:7; quote the value, e.g. name:\"f(x)\"; "
            "to group values write (model:a OR model:b)",
        ),
    ],
)
def test_syntax_errors_point_at_the_offending_token(query: str, message: str) -> None:
    error = parse_error(query)
    assert str(error) == message
    assert error.exit_code == 2
    line, column = map(int, re.search(r" at (\d+):(\d+)", message).groups())  # type: ignore[union-attr]
    assert (error.line, error.column) == (line, column)


def test_syntax_error_keeps_reason_and_hint_apart() -> None:
    error = parse_error("modle:x")
    assert (error.reason, error.hint) == ("unknown field 'modle'", "did you mean 'model'?")


def test_compile_query_reports_syntax_errors_too() -> None:
    with pytest.raises(QuerySyntaxError):
        compile_query("modle:x", NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("1h30m", NOW - timedelta(minutes=90)),
        (" 15m ", NOW - timedelta(minutes=15)),
        ("now", NOW),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T10:30:00", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        ("2024-05-01 10:30", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        ("2024-05-01T10:30:00Z", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00+02:00", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
    ],
)
def test_time_bound(text: str, expected: datetime) -> None:
    result = time_bound(text, NOW)
    assert result == expected
    assert result.tzinfo == UTC


def test_time_bound_takes_a_naive_or_foreign_now_as_utc() -> None:
    assert time_bound("1h", datetime(2024, 5, 10, 12)) == datetime(2024, 5, 10, 11, tzinfo=UTC)
    paris = timezone(timedelta(hours=2))
    assert time_bound("1h", datetime(2024, 5, 10, 14, tzinfo=paris)).tzinfo == UTC


@pytest.mark.parametrize("text", ["", "5", "1.5x", "yesterday", "2024-13-01", "-1h"])
def test_time_bound_errors_name_the_value(text: str) -> None:
    with pytest.raises(UsageError) as info:
        time_bound(text, NOW)
    assert str(info.value) == (
        f"bad time '{text}'; use e.g. 30m, 24h, 7d, 2w or an ISO date like 2024-05-01"
        " or 2024-05-01T12:00:00Z"
    )
    assert not isinstance(info.value, QuerySyntaxError)


def test_every_field_reads_canonical_columns() -> None:
    known = set(POLARS_SCHEMA) | {"cost_usd"}
    for field in FIELDS.values():
        assert set(field.columns) <= known, field.name
        assert field.help, field.name


def test_every_field_can_be_queried() -> None:
    samples = {
        "duration": "1s", "tokens": "1", "input_tokens": "1", "output_tokens": "1",
        "cache_read_tokens": "1", "cache_write_tokens": "1", "reasoning_tokens": "1",
        "cost": "1", "since": "1h", "until": "1h", "has": "model", "kind": "server",
        "status": "ok", "type": "llm", "trace.duration": "1s", "trace.spans": "1",
        "trace.errors": "1", "trace.cost": "1",
    }  # fmt: skip
    for name, field in FIELDS.items():
        query = f"{name.replace('*', 'key')}:{samples.get(name, 'x')}"
        for alias in field.aliases:
            parse(f"{alias}:{samples.get(name, 'x')}")
        no_scores = pl.DataFrame(
            schema={"trace_id": pl.String, "span_id": pl.String, "evaluator": pl.String,
                    "score": pl.Float64, "label": pl.String}
        )  # fmt: skip
        filter_spans(SPANS, query, NOW, no_scores).collect()


DOCS = Path(__file__).resolve().parents[3] / "docs" / "search.md"


def doc_queries() -> list[str]:
    blocks = re.findall(r"```query\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_docs_examples_parse_and_run() -> None:
    queries = doc_queries()
    assert len(queries) > 20
    for query in queries:
        filter_spans(SPANS, query, NOW).collect()


def test_docs_list_every_field() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, field in FIELDS.items():
        for written in (name, *field.aliases):
            assert f"`{written.replace('*', '<key>')}`" in text, written
