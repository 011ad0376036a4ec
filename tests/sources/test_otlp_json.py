"""OTLP/JSON: the spec's hex ids and every variant real tools write give the same spans."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.schema import POLARS_SCHEMA
from pyflare_cli.sources.normalize import normalize
from pyflare_cli.sources.otlp_json import (
    BadRecord,
    decode_document,
    decode_id,
    native_value,
    string_value,
)
from pyflare_cli.sources.raw import DeadLetter, RawBatch

TRACE = "5b8efff798038103d269b633813fc60c"
T0 = 1_763_640_000_000_000_000


def decode(document: Any) -> tuple[pl.DataFrame, list[DeadLetter], bool]:
    batch = RawBatch()
    dead, had_traces = decode_document(document, batch, "src", "line 1")
    return normalize(batch.to_frame()), dead, had_traces


def load(path: Path) -> pl.DataFrame:
    spans, dead, had_traces = decode(json.loads(path.read_text()))
    assert dead == [] and had_traces
    return spans


def doc(*spans: dict[str, Any], resource: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": resource or []},
                "scopeSpans": [{"scope": {"name": "s"}, "spans": list(spans)}],
            }
        ]
    }


def span(span_id: str = "eee19b7ec3c1b174", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": "op",
        "startTimeUnixNano": str(T0),
        "endTimeUnixNano": str(T0 + 5),
    }
    out.update(fields)
    return out


def test_fixture_trace(fixtures_dir: Path) -> None:
    spans = load(fixtures_dir / "otlp/trace.json")
    assert spans.schema == pl.Schema(POLARS_SCHEMA)
    assert spans["span_id"].to_list() == [
        "eee19b7ec3c1b174",
        "eee19b7ec3c1b175",
        "eee19b7ec3c1b176",
        "eee19b7ec3c1b177",
    ]
    assert spans["trace_id"].unique().to_list() == [TRACE]
    assert spans["parent_span_id"].to_list() == [
        None,
        "eee19b7ec3c1b174",
        "eee19b7ec3c1b174",
        "aaaaaaaaaaaaaaaa",  # an orphan: its parent is not in the data, it is kept as is
    ]
    assert spans["kind"].to_list() == ["server", "client", "internal", "internal"]
    assert spans["status_code"].to_list() == ["unset", "unset", "error", "unset"]
    assert spans["status_message"].to_list() == [None, None, "order service timed out", None]
    assert spans["start_time"][0] == datetime(2025, 11, 20, 12, tzinfo=UTC)
    assert spans["duration_ns"].to_list() == [1_500_000_000, 1_100_000_000, 250_000_000, 30_000_000]
    assert spans["scope_name"].unique().to_list() == ["pyflare.fixtures"]
    assert spans["service_name"].unique().to_list() == ["chat-api"]
    assert spans["service_version"].unique().to_list() == ["1.2.0"]
    assert spans["environment"].unique().to_list() == ["prod"]


def test_attribute_values_are_strings_in_one_encoding(fixtures_dir: Path) -> None:
    spans = load(fixtures_dir / "otlp/trace.json")
    llm = dict(spans["attributes"][1])
    assert llm["gen_ai.usage.input_tokens"] == "1200"  # int
    assert llm["gen_ai.request.temperature"] == "0.2"  # double
    assert llm["gen_ai.request.stream"] == "true"  # bool
    assert llm["app.request_digest"] == "AQID"  # bytes: base64
    assert llm["gen_ai.response.finish_reasons"] == '["stop"]'  # array: JSON
    assert dict(spans["attributes"][3]) == {"tags": '["a",2]'}
    assert dict(spans["attributes"][0])["http.response.status_code"] == "200"


def test_events_and_links(fixtures_dir: Path) -> None:
    spans = load(fixtures_dir / "otlp/trace.json")
    events = spans["events"].to_list()
    assert events[0] == [] and events[3] == []
    (first_token,) = events[1]
    assert first_token["name"] == "gen_ai.first_token"
    assert first_token["time"] == datetime(2025, 11, 20, 12, 0, 0, 150000, tzinfo=UTC)
    assert dict(first_token["attributes"]) == {"ttft_ms": "50"}
    (exception,) = events[2]
    assert dict(exception["attributes"]) == {
        "exception.type": "TimeoutError",
        "exception.message": "GET /orders/42 timed out",
    }
    links = spans["links"].to_list()
    assert links[0] == links[1] == links[3] == []
    assert [(lk["trace_id"], lk["span_id"], dict(lk["attributes"])) for lk in links[2]] == [
        ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", {"link.reason": "retry-of"})
    ]
    assert spans["error_type"].to_list() == [None, None, "TimeoutError", None]
    assert spans["error_message"][2] == "GET /orders/42 timed out"


def test_base64_ids_enum_names_snake_case_and_numeric_int64_give_the_same_spans(
    fixtures_dir: Path,
) -> None:
    hex_spans = load(fixtures_dir / "otlp/trace.json")
    variant = json.loads((fixtures_dir / "otlp/trace_base64_enum_names.json").read_text())
    # The fixture really is the other dialect.
    rs = variant["resourceSpans"][0]
    assert "scope_spans" in rs and "scopeSpans" not in rs
    first = rs["scope_spans"][0]["spans"][0]
    assert first["kind"] == "SPAN_KIND_SERVER"
    assert isinstance(first["startTimeUnixNano"], int)
    assert first["traceId"] == base64.b64encode(bytes.fromhex(TRACE)).decode()
    spans, dead, _ = decode(variant)
    assert dead == []
    assert_frame_equal(spans, hex_spans)


def test_fully_snake_case_and_numeric_document(fixtures_dir: Path) -> None:
    """Keys in snake_case everywhere, int64 and enums as numbers: the same spans again."""
    camel = json.loads((fixtures_dir / "otlp/trace.json").read_text())

    def snake(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                new = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
                if key.endswith("UnixNano") and isinstance(item, str):
                    item = int(item)
                out[new] = snake(item)
            return out
        if isinstance(value, list):
            return [snake(v) for v in value]
        return value

    document = snake(camel)
    assert "resource_spans" in document
    spans, dead, _ = decode(document)
    assert dead == []
    assert_frame_equal(spans, load(fixtures_dir / "otlp/trace.json"))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (None, "unspecified"),
        (0, "unspecified"),
        (2, "server"),
        ("3", "client"),
        ("SPAN_KIND_PRODUCER", "producer"),
        ("span_kind_consumer", "consumer"),
        ("INTERNAL", "internal"),
        (99, "unspecified"),
    ],
)
def test_span_kind_spellings(kind: Any, expected: str) -> None:
    spans, dead, _ = decode(doc(span(kind=kind)))
    assert dead == []
    assert spans["kind"].to_list() == [expected]


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        ({}, "unset", None),
        ({"code": 1}, "ok", None),
        ({"code": "STATUS_CODE_ERROR", "message": "boom"}, "error", "boom"),
        ({"code": "2", "message": ""}, "error", None),
    ],
)
def test_status_spellings(status: dict[str, Any], code: str, message: str | None) -> None:
    spans, dead, _ = decode(doc(span(status=status)))
    assert dead == []
    assert spans["status_code"].to_list() == [code]
    assert spans["status_message"].to_list() == [message]
    assert spans["error_message"].to_list() == [message if code == "error" else None]


def test_times_as_numbers_or_strings() -> None:
    snake = span("0000000000000002", start_time_unix_nano=str(T0), end_time_unix_nano=T0 + 9)
    del snake["startTimeUnixNano"], snake["endTimeUnixNano"]
    spans, dead, _ = decode(
        doc(span("0000000000000001", startTimeUnixNano=T0, endTimeUnixNano=T0 + 7), snake)
    )
    assert dead == []
    assert spans["duration_ns"].to_list() == [7, 9]
    assert spans["start_time"].dt.epoch("ns").to_list() == [T0, T0]


@pytest.mark.parametrize(
    ("value", "size", "expected"),
    [
        ("5B8EFFF798038103D269B633813FC60C", 16, TRACE),
        (base64.b64encode(bytes.fromhex(TRACE)).decode(), 16, TRACE),
        ("eee19b7ec3c1b174", 8, "eee19b7ec3c1b174"),
        (base64.b64encode(bytes.fromhex("eee19b7ec3c1b174")).decode(), 8, "eee19b7ec3c1b174"),
    ],
)
def test_decode_id(value: str, size: int, expected: str) -> None:
    assert decode_id(value, size, "id") == expected


@pytest.mark.parametrize(
    ("value", "size", "message"),
    [
        (None, 8, "missing spanId"),
        ("", 8, "missing spanId"),
        (12, 8, "invalid spanId 12: want a hex or base64 string"),
        ("not-an-id", 8, "neither hex nor base64"),
        ("AQID", 8, "want 8 bytes, got 3"),
        ("0000000000000000", 8, "all zero"),
        ("eee19b7ec3c1b174", 16, "want 16 bytes"),
    ],
)
def test_decode_id_errors(value: Any, size: int, message: str) -> None:
    with pytest.raises(BadRecord, match=message):
        decode_id(value, size, "spanId")


def test_optional_ids() -> None:
    assert decode_id(None, 8, "parentSpanId", optional=True) is None
    assert decode_id("", 8, "parentSpanId", optional=True) is None


def test_value_encodings() -> None:
    assert string_value({"stringValue": "x"}) == "x"
    assert string_value({"intValue": "12"}) == "12"
    assert string_value({"int_value": 12}) == "12"
    assert string_value({"boolValue": True}) == "true"
    assert string_value({"bool_value": False}) == "false"
    assert string_value({"doubleValue": 0.5}) == "0.5"
    assert string_value({"doubleValue": 3}) == "3.0"
    assert string_value({"bytesValue": "AQID"}) == "AQID"
    assert string_value({"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "b"}]}}) == (
        '[1,"b"]'
    )
    assert string_value({"arrayValue": {}}) == "[]"
    assert (
        string_value({"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}})
        == '{"k":true}'
    )
    assert string_value({}) is None
    assert string_value(None) is None
    assert native_value({"array_value": {"values": [{"double_value": 1.5}]}}) == [1.5]


def test_bad_spans_are_dead_lettered_and_the_good_ones_kept() -> None:
    good = span(
        "0000000000000001",
        attributes=[{"key": "a", "value": {"stringValue": "1"}}],
        events=[{"timeUnixNano": str(T0), "name": "e1", "attributes": []}],
    )
    # Fails only at its link, after its attributes and events were looked at.
    bad_link = span(
        "0000000000000002",
        attributes=[{"key": "b", "value": {"stringValue": "2"}}],
        events=[{"timeUnixNano": str(T0), "name": "e2"}],
        links=[{"traceId": TRACE, "spanId": "zz"}],
    )
    bad_time = span("0000000000000003", endTimeUnixNano=str(T0 - 1))
    no_start = span("0000000000000004", startTimeUnixNano=None)
    bad_kind = span("0000000000000005", kind="SIDEWAYS")
    bad_attrs = span("0000000000000006", attributes={"not": "a list"})
    last = span(
        "0000000000000007",
        attributes=[{"key": "c", "value": {"stringValue": "3"}}],
        links=[{"traceId": TRACE, "spanId": "eee19b7ec3c1b174"}],
    )
    spans, dead, _ = decode(doc(good, bad_link, bad_time, no_start, bad_kind, bad_attrs, last))
    assert spans["span_id"].to_list() == ["0000000000000001", "0000000000000007"]
    # The refused spans left nothing behind: attributes, events and links stay aligned.
    assert [dict(a) for a in spans["attributes"]] == [{"a": "1"}, {"c": "3"}]
    assert [[e["name"] for e in es] for es in spans["events"].to_list()] == [["e1"], []]
    assert [[lk["span_id"] for lk in ls] for ls in spans["links"].to_list()] == [
        [],
        ["eee19b7ec3c1b174"],
    ]
    where = "line 1, resourceSpans[0].scopeSpans[0].spans"
    assert [(d.source, d.position) for d in dead] == [
        ("src", f"{where}[1]"),
        ("src", f"{where}[2]"),
        ("src", f"{where}[3]"),
        ("src", f"{where}[4]"),
        ("src", f"{where}[5]"),
    ]
    reasons = [d.reason for d in dead]
    assert "invalid link spanId 'zz'" in reasons[0]
    assert reasons[1] == f"endTimeUnixNano {T0 - 1} is before startTimeUnixNano {T0}"
    assert reasons[2] == "missing startTimeUnixNano"
    assert reasons[3] == "invalid kind 'SIDEWAYS'"
    assert reasons[4] == "attributes is not a list"
    assert dead[0].record == bad_link  # the original record, for a later replay


def test_a_malformed_resource_is_dead_lettered_and_the_others_kept() -> None:
    good = doc(span("0000000000000001"))["resourceSpans"][0]
    bad_resource = copy.deepcopy(good)
    bad_resource["resource"]["attributes"] = [{"key": "n", "value": {"intValue": "many"}}]
    bad_scopes = {"resource": {}, "scopeSpans": "nope"}
    document = {"resourceSpans": [bad_resource, good, bad_scopes, 7]}
    spans, dead, had_traces = decode(document)
    assert had_traces
    assert spans["span_id"].to_list() == ["0000000000000001"]
    assert [d.position for d in dead] == [
        "line 1, resourceSpans[0]",
        "line 1, resourceSpans[2]",
        "line 1, resourceSpans[3]",
    ]
    assert "many" in dead[0].reason
    assert dead[1].reason == "scopeSpans is not a list"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([1, 2], "not a JSON object"),
        ({"spans": []}, "no resourceSpans in the document"),
        ({"resourceSpans": "abc"}, "resourceSpans is not a list"),
    ],
)
def test_documents_that_are_not_traces(document: Any, reason: str) -> None:
    spans, dead, had_traces = decode(document)
    assert spans.height == 0 and had_traces
    assert [d.reason for d in dead] == [reason]


@pytest.mark.parametrize(
    "document",
    [
        {"resourceMetrics": []},
        {"resource_metrics": []},
        {"resourceLogs": []},
        {"resource_logs": []},
        {"resourceProfiles": []},
    ],
)
def test_metrics_logs_and_profiles_are_skipped_not_dead(document: dict[str, Any]) -> None:
    spans, dead, had_traces = decode(document)
    assert (spans.height, dead, had_traces) == (0, [], False)


def test_legacy_instrumentation_library_spans() -> None:
    document = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "o"}}]
                },
                "instrumentationLibrarySpans": [
                    {"instrumentationLibrary": {"name": "old-lib"}, "spans": [span()]}
                ],
            }
        ]
    }
    spans, dead, _ = decode(document)
    assert dead == []
    assert spans.select("service_name", "scope_name").row(0) == ("o", "old-lib")


def test_spans_of_several_resources_keep_their_resource() -> None:
    first = doc(
        span("0000000000000001"), resource=[{"key": "service.name", "value": {"stringValue": "a"}}]
    )
    second = doc(
        span("0000000000000002"),
        span("0000000000000003"),
        resource=[{"key": "service.name", "value": {"stringValue": "b"}}],
    )
    document = {"resourceSpans": first["resourceSpans"] + second["resourceSpans"]}
    spans, _, _ = decode(document)
    assert spans["service_name"].to_list() == ["a", "b", "b"]
    assert [dict(r) for r in spans["resource_attributes"]] == [
        {"service.name": "a"},
        {"service.name": "b"},
        {"service.name": "b"},
    ]
