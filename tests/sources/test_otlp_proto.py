"""OTLP protobuf: single requests, length-delimited streams, and what every value becomes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from polars.testing import assert_frame_equal

from pyflare_cli.sources.decoding import decode
from pyflare_cli.sources.normalize import normalize
from pyflare_cli.sources.opening import Format
from pyflare_cli.sources.otlp_json import decode_document
from pyflare_cli.sources.otlp_proto import decode_request, native_value, string_value
from pyflare_cli.sources.otlp_wire import varint
from pyflare_cli.sources.raw import RawBatch
from pyflare_cli.sources.tasks import split


def from_json(path: Path) -> pl.DataFrame:
    batch = RawBatch()
    dead, _ = decode_document(json.loads(path.read_text()), batch, "x", "document")
    assert dead == []
    return normalize(batch.to_frame())


def from_file(path: Path, fmt: Format) -> pl.DataFrame:
    decoded = [decode(task) for task in split(path, fmt, str(path))]
    assert all(d.dead == [] for d in decoded)
    return pl.concat([d.spans for d in decoded])


def test_single_request_gives_the_same_spans_as_otlp_json(fixtures_dir: Path) -> None:
    proto = from_file(fixtures_dir / "otlp/trace.pb", Format.OTLP_PROTO)
    assert proto.height == 4
    assert_frame_equal(proto, from_json(fixtures_dir / "otlp/trace.json"))


def test_length_delimited_stream(fixtures_dir: Path) -> None:
    tasks = list(split(fixtures_dir / "otlp/stream.pb", Format.OTLP_PROTO_STREAM, "s"))
    assert [position for task in tasks for position, _ in task.payloads()] == [
        "request 0 (byte 0)",
        "request 1 (byte 298)",  # after a 2-byte length prefix and 296 bytes
    ]
    stream = from_file(fixtures_dir / "otlp/stream.pb", Format.OTLP_PROTO_STREAM)
    # The stream holds the first two spans of the trace, one per request.
    assert_frame_equal(stream, from_json(fixtures_dir / "otlp/trace.json").head(2))


def test_builder_stream_round_trip(otlp: Any) -> None:
    requests = [
        otlp.request(otlp.span(f"{i:016x}", name=f"s{i}"), resource={"service.name": f"svc{i}"})
        for i in range(1, 4)
    ]
    batch = RawBatch()
    for request in requests:
        assert decode_request(request, batch, "x", "r") == []
    spans = normalize(batch.to_frame())
    assert spans["name"].to_list() == ["s1", "s2", "s3"]
    assert spans["service_name"].to_list() == ["svc1", "svc2", "svc3"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        ("", ""),
        (42, "42"),
        (-(2**63), str(-(2**63))),
        (True, "true"),
        (False, "false"),
        (0.2, "0.2"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.0, "1.0"),
        (1e300, "1e+300"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (math.nan, "NaN"),
        (b"\x01\x02\x03", "AQID"),
        (b"", ""),
        (["a", 2, True, 1.5], '["a",2,true,1.5]'),
        ([b"\xff"], '["/w=="]'),
        ([], "[]"),
        ({"k": [1, {"n": None}]}, '{"k":[1,{"n":null}]}'),
    ],
)
def test_string_value(otlp: Any, value: Any, expected: str) -> None:
    assert string_value(otlp.value(value)) == expected


def test_unset_value_is_null(otlp: Any) -> None:
    assert string_value(otlp.value(None)) is None
    assert native_value(otlp.value(None)) is None


def test_attribute_types_land_in_the_attribute_map(otlp: Any) -> None:
    row = otlp.one(
        {
            "s": "x",
            "blank": "",
            "i": 7,
            "zero": 0,
            "false": False,
            "d": 2.5,
            "b": True,
            "raw": b"\x00\xff",
            "arr": ["x", 1],
            "kv": {"a": 1},
            "empty": None,
        }
    )
    assert row["attributes"] == {
        "s": "x",
        "blank": "",
        "i": "7",
        "zero": "0",
        "false": "false",
        "d": "2.5",
        "b": "true",
        "raw": "AP8=",
        "arr": '["x",1]',
        "kv": '{"a":1}',
        "empty": None,
    }


def test_events_links_and_resource(otlp: Any) -> None:
    span = otlp.span(
        "00000000000000aa",
        parent="00000000000000bb",
        kind=Span.SPAN_KIND_PRODUCER,
        status=Status.STATUS_CODE_OK,
        events=[("first", 1, {"n": 1}), ("second", 2.5, {})],
        links=[("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", {"why": "batch"})],
    )
    request = otlp.request(span, resource={"service.name": "api", "host": "h1"}, scope="lib")
    row = otlp.canonical(request).row(0, named=True)
    assert row["parent_span_id"] == "00000000000000bb"
    assert row["kind"] == "producer"
    assert row["status_code"] == "ok"
    assert row["scope_name"] == "lib"
    assert row["resource_attributes"] == {"service.name": "api", "host": "h1"}
    assert [(e["name"], e["attributes"]) for e in row["events"]] == [
        ("first", {"n": "1"}),
        ("second", {}),
    ]
    assert row["events"][1]["time"].timestamp() * 1e9 == pytest.approx(
        otlp.T0 + 2_500_000, abs=1_000
    )
    assert row["links"] == [
        {
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "span_id": "b7ad6b7169203331",
            "attributes": {"why": "batch"},
        }
    ]


def test_unknown_enum_numbers_fall_back(otlp: Any) -> None:
    span = otlp.span()
    span.kind = 42  # type: ignore[assignment]
    span.status.code = 7  # type: ignore[assignment]
    row = otlp.canonical(otlp.request(span)).row(0, named=True)
    assert (row["kind"], row["status_code"]) == ("unspecified", "unset")


def test_missing_resource_and_scope(otlp: Any) -> None:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.append(otlp.span())
    row = otlp.canonical(request).row(0, named=True)
    assert row["service_name"] == "unknown_service"
    assert row["scope_name"] is None
    assert row["resource_attributes"] == {}


def _broken(otlp: Any, **change: Any) -> Span:
    span = otlp.span("00000000000000cc")
    for key, value in change.items():
        setattr(span, key, value)
    return span


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"trace_id": b"\x01" * 8}, "invalid trace_id '0101010101010101': want 16 non-zero bytes"),
        ({"trace_id": b"\x00" * 16}, "want 16 non-zero bytes"),
        ({"span_id": b""}, "invalid span_id '': want 8 non-zero bytes"),
        ({"span_id": b"\x00" * 8}, "want 8 non-zero bytes"),
        ({"parent_span_id": b"\x01\x02"}, "invalid parent_span_id '0102': want 8 bytes"),
        ({"start_time_unix_nano": 0}, "missing start_time_unix_nano"),
        ({"end_time_unix_nano": 5}, "end_time_unix_nano 5 is before start_time_unix_nano"),
    ],
)
def test_invalid_spans_are_dead_lettered(otlp: Any, change: dict[str, Any], reason: str) -> None:
    good = otlp.span("00000000000000aa", attributes={"k": "v"})
    request = otlp.request(good, _broken(otlp, **change), otlp.span("00000000000000dd"))
    spans, dead = otlp.decode(request)
    assert spans["span_id"].to_list() == ["00000000000000aa", "00000000000000dd"]
    assert [dict(a) for a in spans["attributes"]] == [{"k": "v"}, {}]
    (letter,) = dead
    assert letter.position == "request 0, resource_spans[0].scope_spans[0].spans[1]"
    assert reason in letter.reason
    assert letter.record["name"] == "span"  # the span as a JSON dict


def test_undecodable_payload_in_a_task_is_dead_lettered(otlp: Any, tmp_path: Path) -> None:
    good = otlp.request(otlp.span()).SerializeToString()
    path = tmp_path / "s.bin"
    path.write_bytes(varint(len(good)) + good + varint(3) + b"\x0a\x05\x01")
    (task,) = split(path, Format.OTLP_PROTO_STREAM, "s.bin")
    decoded = decode(task)
    assert decoded.spans.height == 1
    (letter,) = decoded.dead
    assert letter.position.startswith("request 1 (byte ")
    assert letter.reason.startswith("protobuf does not decode")
    assert letter.record == "CgUB"  # the raw bytes, base64
