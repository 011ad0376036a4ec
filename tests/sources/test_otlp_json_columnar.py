"""OTLP/JSON read by Arrow's JSON reader: exactly the reference decoder's rows and dead letters.

The reference is :func:`pyflare_cli.sources.otlp_json.decode_document` (``json.loads``,
one Python value per attribute). Compared, task by task, on every JSON fixture, the
demo's spans, the real OpenTelemetry SDK's spans in three JSON encodings (the spec's,
protobuf's JSON mapping with base64 ids and enum names, snake_case keys), the
opentelemetry-proto repository's own example, and generated documents with every odd
value the OTLP JSON mapping allows or real exporters write. Lines the fast path cannot
read as the reference does go to the reference alone; the tests also check that the
lines the spec describes do take the fast path (an equivalence that always fell back
would prove nothing).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict, MessageToJson
from hostile_traces import record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from polars.testing import assert_frame_equal

from pyflare_cli.demo.generator import generate_requests
from pyflare_cli.sources import otlp_json, otlp_json_columnar
from pyflare_cli.sources.decoding import Decoded, decode
from pyflare_cli.sources.opening import Format, sniff
from pyflare_cli.sources.otlp_wire import request_to_otlp_json
from pyflare_cli.sources.tasks import Task, split

TRACE = "5b8efff798038103d269b633813fc60c"
START = 1_700_000_000_000_000_000


def both_ways(task: Task, monkeypatch: pytest.MonkeyPatch) -> tuple[Decoded, Decoded]:
    monkeypatch.setenv("PYFLARE_OTLP_DECODER", "reference")
    slow = decode(task)
    monkeypatch.setenv("PYFLARE_OTLP_DECODER", "columnar")
    fast = decode(task)
    return slow, fast


def assert_same(task: Task, monkeypatch: pytest.MonkeyPatch) -> Decoded:
    slow, fast = both_ways(task, monkeypatch)
    assert_frame_equal(fast.spans, slow.spans)
    assert [d.to_json() for d in fast.dead] == [d.to_json() for d in slow.dead]
    assert fast.skipped == slow.skipped
    return fast


def lines_task(lines: list[bytes]) -> Task:
    items = [(f"line {number}", line) for number, line in enumerate(lines, start=1)]
    return Task("src", Format.OTLP_JSONL, items)


def taken(lines: list[bytes]) -> list[bool]:
    """Per line, whether the fast path read it (else it goes to the reference)."""
    flags = [False] * len(lines)
    for run, frame in otlp_json_columnar._fast(lines):
        for index in run:
            flags[index] = frame is not None
    return flags


def dumps(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "name",
    [
        "trace.json",
        "trace.json.gz",
        "trace_base64_enum_names.json",
        "collector.jsonl",
        "collector.jsonl.zst",
        "half_bad.jsonl",
    ],
)
def test_every_json_fixture(fixtures_dir: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = fixtures_dir / "otlp" / name
    fmt = sniff(path)
    assert fmt in (Format.OTLP_JSON, Format.OTLP_JSONL)
    for task in split(path, fmt, name):
        assert assert_same(task, monkeypatch).spans.height > 0


@pytest.mark.parametrize("name", ["trace.json", "collector.jsonl"])
def test_the_spec_form_fixtures_take_the_fast_path(fixtures_dir: Path, name: str) -> None:
    path = fixtures_dir / "otlp" / name
    lines = [p for t in split(path, sniff(path), name) for _, p in t.payloads()]
    assert taken(lines) == [b'"resourceSpans"' in line for line in lines]  # metrics, logs: not


def test_the_demo_spans_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    requests = generate_requests(3_000, seed=3, end=datetime(2026, 11, 1, tzinfo=UTC))
    lines = [dumps(request_to_otlp_json(r)) for r in requests]
    assert all(taken(lines))
    assert assert_same(lines_task(lines), monkeypatch).spans.height >= 2_900


def test_the_opentelemetry_sdk_spans_in_every_json_encoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK's spans (links, events, odd text) as the spec, protobuf and snake_case write them."""
    request = ExportTraceServiceRequest.FromString(record(5))
    spec = dumps(request_to_otlp_json(request))
    proto_json = MessageToJson(request).encode()  # base64 ids, enum names, int64 as strings
    snake = dumps(MessageToDict(request, preserving_proto_field_name=True))
    assert taken([spec]) == [True]
    assert taken([proto_json, snake]) == [False, False]
    fast = assert_same(lines_task([spec, proto_json, snake]), monkeypatch)
    assert fast.spans.height == 3 * 15


# The example of github.com/open-telemetry/opentelemetry-proto, examples/trace.json (Apache-2.0):
# times as JSON numbers, ids in upper-case hex, scope attributes.
SPEC_EXAMPLE = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]
            },
            "scopeSpans": [
                {
                    "scope": {
                        "name": "my.library",
                        "version": "1.0.0",
                        "attributes": [
                            {
                                "key": "my.scope.attribute",
                                "value": {"stringValue": "some scope attribute"},
                            }
                        ],
                    },
                    "spans": [
                        {
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "EEE19B7EC3C1B174",
                            "parentSpanId": "EEE19B7EC3C1B173",
                            "name": "I'm a server span",
                            "startTimeUnixNano": 1544712660000000000,
                            "endTimeUnixNano": 1544712661000000000,
                            "kind": 2,
                            "attributes": [
                                {"key": "my.span.attr", "value": {"stringValue": "some value"}}
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}


def test_the_opentelemetry_proto_example(monkeypatch: pytest.MonkeyPatch) -> None:
    pretty = json.dumps(SPEC_EXAMPLE, indent=2).encode()
    for line in (dumps(SPEC_EXAMPLE), pretty):
        assert taken([line]) == [True]
        fast = assert_same(lines_task([line]), monkeypatch)
        assert fast.spans["span_id"].to_list() == ["eee19b7ec3c1b174"]
    document = Task("src", Format.OTLP_JSON, [("document", pretty)])
    assert assert_same(document, monkeypatch).spans.height == 1


def span(span_id: str = "eee19b7ec3c1b174", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "op",
        "startTimeUnixNano": str(START),
        "endTimeUnixNano": str(START + 5),
    }
    out.update(fields)
    return out


def document(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "s"}, "spans": list(spans)}]}]}


def test_an_odd_line_goes_to_the_reference_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    good = [dumps(document(span(f"{i + 1:016x}"))) for i in range(9)]
    odd = [
        dumps(document(span(traceId=base64.b64encode(bytes(range(1, 17))).decode()))),
        dumps(document(span(kind="SPAN_KIND_SERVER"))),
        dumps(document(span(attributes=[{"key": "k", "value": {"stringValue": None}}]))),
        dumps(document(span(startTimeUnixNano="0"))),  # a dead letter
        b"null",  # pyarrow 26's reader crashes on it: never handed to the reader
        b"[1]",
        b'{"resourceMetrics": []}',
        b"{not json",
        b'{"resourceSpans": []} {"resourceSpans": []}',
    ]
    lines = [line for pair in zip(good, odd, strict=True) for line in pair]
    assert taken(lines) == [line in good for line in lines]
    fast = assert_same(lines_task(lines), monkeypatch)
    assert fast.spans.height == 9 + 3
    assert fast.skipped == 1
    lines_dead = [d.position.split(",")[0] for d in fast.dead]
    assert lines_dead == ["line 8", "line 10", "line 12", "line 16", "line 18"]


def test_huge_strings_and_many_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    attributes = [{"key": f"k{i}", "value": {"stringValue": "x" * (i * 50)}} for i in range(400)]
    attributes.append({"key": "big", "value": {"stringValue": "é" * 3_000_000}})
    spans = [span(f"{i + 1:016x}", attributes=attributes if i == 3 else []) for i in range(300)]
    line = json.dumps(document(*spans), ensure_ascii=False).encode()
    assert taken([line]) == [True]
    assert_same(lines_task([line]), monkeypatch)


def test_the_reference_decoder_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(lines: list[bytes]) -> None:
        raise AssertionError("the fast path ran")

    monkeypatch.setattr(otlp_json_columnar, "_fast", refuse)
    monkeypatch.setenv("PYFLARE_OTLP_DECODER", "reference")
    assert decode(lines_task([dumps(document(span()))])).spans.height == 1


def test_a_defect_of_the_fast_path_falls_back_to_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exception inside the fast path costs speed, never spans (no dead letters)."""
    lines = [dumps(document(span(f"{i + 1:016x}"))) for i in range(3)]
    expected = decode(lines_task(lines))

    def broken(table: object) -> None:
        raise KeyError("a defect")

    monkeypatch.setattr(otlp_json_columnar, "raw_table", broken)
    got = decode(lines_task(lines))
    assert_frame_equal(got.spans, expected.spans)
    assert got.dead == []


def test_clean_spans_is_what_the_receiver_acknowledges_without_json_loads() -> None:
    """A count only when the reference would read every span and refuse nothing."""
    spec = dumps(document(span(), span("eee19b7ec3c1b175")))
    assert otlp_json_columnar.clean_spans(spec) == 2
    assert otlp_json_columnar.clean_spans(b'{"resourceSpans": []}') == 0
    nan = dumps(document(span(attributes=[{"key": "k", "value": {"doubleValue": 1.5}}])))
    odd = [
        dumps(document(span(startTimeUnixNano="0"))),  # a span the answer counts as rejected
        dumps(document(span(spanId=base64.b64encode(bytes(range(1, 9))).decode()))),
        nan.replace(b"1.5", b"NaN"),  # refused whole by otlp_json.load
        dumps(document(span(name="\ud800"))),  # a lone surrogate, which the reference replaces
        b'{"resourceMetrics": []}',
        b"{not json",
        dumps(document(span())).replace(b'"op"', b'"\xff"'),
    ]
    assert [otlp_json_columnar.clean_spans(line) for line in odd] == [None] * len(odd)


# Generated documents: every AnyValue kind and spelling the OTLP JSON mapping allows or
# real exporters write, and values the two paths could read differently.
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "é", "\u0000", '"q"\\', "null", "[null", "1e3", "\ud83d\ude00", "\x7f"]),
)
integers = st.integers(-(2**70), 2**70)
scalar_values = st.one_of(
    texts.map(lambda v: {"stringValue": v}),
    integers.map(lambda v: {"intValue": str(v)}),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: {"intValue": v}),
    st.sampled_from(["007", "-0", " 5", "+5", "1e3", "0x10", "5.0", ""]).map(
        lambda v: {"intValue": v}
    ),
    st.booleans().map(lambda v: {"boolValue": v}),
    st.sampled_from(["true", "false", 1]).map(lambda v: {"boolValue": v}),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: {"doubleValue": v}),
    st.sampled_from([0.0, -0.0, 1e-4, 9.99e-5, 1e9, 1e16, 5e-324, 7, 10**30, "1.5"]).map(
        lambda v: {"doubleValue": v}
    ),
    st.binary(max_size=12).map(lambda v: {"bytesValue": base64.b64encode(v).decode()}),
    st.just({}),
    st.sampled_from(
        [
            {"stringValue": None},
            {"intValue": None},
            {"stringValue": "a", "intValue": "1"},
            {"string_value": "snake"},
            {"int_value": "5"},
            {"stringValue": 5},
            {"unknownValue": "x"},
        ]
    ),
)
any_values = st.recursive(
    scalar_values,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda v: {"arrayValue": {"values": v}}),
        st.lists(st.tuples(texts, inner), max_size=3).map(
            lambda v: {"kvlistValue": {"values": [{"key": k, "value": x} for k, x in v]}}
        ),
        st.just({"arrayValue": {}}),
    ),
    max_leaves=8,
)
attributes = st.lists(
    st.tuples(texts, any_values).map(lambda kv: {"key": kv[0], "value": kv[1]}), max_size=5
)


def _hex_id(size: int) -> st.SearchStrategy[Any]:
    good = st.binary(min_size=size, max_size=size).filter(any)
    return st.one_of(
        good.map(lambda b: b.hex()),
        good.map(lambda b: b.hex().upper()),
        good.map(lambda b: base64.b64encode(b).decode()),
        st.sampled_from(["", "0" * (2 * size), "zz", "a" * (2 * size - 1) + "\n", 5]),
    )


times = st.one_of(
    st.integers(1, 2**63 - 1).map(str),
    st.integers(-5, 2**64).map(str),
    st.integers(1, 2**63 - 1),
    st.sampled_from(["", "abc", " 1700000000000000000", "1.7e18"]),
)
kinds = st.one_of(st.integers(-3, 8), st.sampled_from(["SPAN_KIND_CLIENT", "2", "weird", 2.0]))


@st.composite
def spans(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(st.integers(1, 2**62))
    out: dict[str, Any] = {
        "traceId": draw(st.one_of(st.just(TRACE), _hex_id(16))),
        "spanId": draw(_hex_id(8)),
        "name": draw(texts),
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + draw(st.integers(0, 10**12))),
        "attributes": draw(attributes),
    }
    if draw(st.booleans()):
        out["parentSpanId"] = draw(st.one_of(st.just(""), _hex_id(8)))
    if draw(st.booleans()):
        out["kind"] = draw(kinds)
    if draw(st.booleans()):
        out["status"] = {"code": draw(st.integers(-1, 3)), "message": draw(texts)}
    if draw(st.integers(0, 4)) == 0:
        out[draw(st.sampled_from(["startTimeUnixNano", "endTimeUnixNano"]))] = draw(times)
    events = draw(st.lists(st.tuples(times, texts, attributes), max_size=2))
    if events:
        out["events"] = [{"timeUnixNano": t, "name": n, "attributes": a} for t, n, a in events]
    links = draw(st.lists(st.tuples(_hex_id(16), _hex_id(8), attributes), max_size=2))
    if links:
        out["links"] = [{"traceId": t, "spanId": s, "attributes": a} for t, s, a in links]
    if draw(st.integers(0, 5)) == 0:
        key = draw(st.sampled_from(sorted(out)))
        snake = "".join("_" + c.lower() if c.isupper() else c for c in key)
        out[snake] = out.pop(key)
    return out


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    resource_spans = [
        {
            "resource": {"attributes": draw(attributes)},
            "scopeSpans": [
                {"scope": {"name": draw(texts)}, "spans": draw(st.lists(spans(), max_size=3))}
                for _ in range(draw(st.integers(0, 2)))
            ],
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    text = json.dumps({"resourceSpans": resource_spans}, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines(), min_size=1, max_size=4))
def test_generated_documents_give_the_reference_rows(batch: list[bytes]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert_same(lines_task(batch), monkeypatch)


plain_values = st.one_of(
    st.text(max_size=20).map(lambda v: {"stringValue": v}),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: {"intValue": str(v)}),
    st.booleans().map(lambda v: {"boolValue": v}),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: {"doubleValue": v}),
    st.binary(max_size=12).map(lambda v: {"bytesValue": base64.b64encode(v).decode()}),
)
plain_attributes = st.lists(
    st.recursive(
        plain_values,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda v: {"arrayValue": {"values": v}}),
            st.lists(st.tuples(st.text(max_size=5), inner), max_size=3).map(
                lambda v: {"kvlistValue": {"values": [{"key": k, "value": x} for k, x in v]}}
            ),
        ),
        max_leaves=6,
    ),
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_attributes)
def test_values_the_spec_writes_take_the_fast_path_and_print_as_the_reference(
    values: list[dict[str, Any]],
) -> None:
    """Arrays and key/value lists of scalars: read fast (nested deeper: the reference)."""
    pairs = [{"key": f"k{i}", "value": v} for i, v in enumerate(values)]
    line = dumps(document(span(attributes=pairs)))
    nested = any(
        "arrayValue" in item or "kvlistValue" in item
        for v in values
        for inner in (v.get("arrayValue") or v.get("kvlistValue") or {"values": []})["values"]
        for item in [inner.get("value", inner)]
    )
    assert taken([line]) == [not nested]
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast = assert_same(lines_task([line]), monkeypatch)
    expected = {p["key"]: otlp_json.string_value(p["value"]) for p in pairs}
    assert fast.spans["attributes"][0] == expected
