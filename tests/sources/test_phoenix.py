"""Arize/Phoenix exports: JSONL, JSON, CSV and Parquet with ISO or epoch timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.sources.decoding import decode
from pyflare_cli.sources.normalize import normalize
from pyflare_cli.sources.opening import Format, UnreadableInput
from pyflare_cli.sources.otlp_json import BadRecord
from pyflare_cli.sources.phoenix import decode_records, parse_time, read_file
from pyflare_cli.sources.tasks import split

TRACE = "5b8efff798038103d269b633813fc60c"
NOON = datetime(2025, 11, 20, 12, tzinfo=UTC)
NOON_NS = 1_763_640_000_000_000_000


def from_file(path: Path, fmt: Format) -> pl.DataFrame:
    decoded = [decode(task) for task in split(path, fmt, path.name)]
    assert all(d.dead == [] for d in decoded)
    return pl.concat([d.spans for d in decoded])


def records(*rows: dict[str, Any]) -> tuple[pl.DataFrame, list[Any]]:
    raw, dead = decode_records([(f"line {i + 1}", r) for i, r in enumerate(rows)], "src")
    return normalize(raw), dead


def record(span_id: str = "eee19b7ec3c1b175", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "op",
        "context.trace_id": TRACE,
        "context.span_id": span_id,
        "start_time": "2025-11-20T12:00:00+00:00",
        "end_time": "2025-11-20T12:00:01+00:00",
    }
    out.update(fields)
    return out


@pytest.fixture(scope="module")
def jsonl_spans(fixtures_dir: Path) -> pl.DataFrame:
    return from_file(fixtures_dir / "phoenix/spans.jsonl", Format.PHOENIX_JSONL)


def test_jsonl_export(jsonl_spans: pl.DataFrame) -> None:
    llm, retriever = jsonl_spans.to_dicts()
    assert (llm["trace_id"], llm["span_id"], llm["parent_span_id"]) == (
        TRACE,
        "eee19b7ec3c1b175",
        None,
    )
    assert retriever["parent_span_id"] == "eee19b7ec3c1b175"
    assert llm["start_time"] == NOON + timedelta(milliseconds=100)
    assert llm["duration_ns"] == 1_100_000_000
    assert (llm["ai_kind"], llm["provider"], llm["model"]) == ("llm", "openai", "gpt-4o")
    assert (llm["input_tokens"], llm["output_tokens"], llm["total_tokens"]) == (1200, 300, 1500)
    assert (llm["input_text"], llm["output_text"]) == ("Where is my order?", "It ships tomorrow.")
    assert llm["session_id"] == "session-1"
    assert llm["status_code"] == "ok" and llm["status_message"] is None
    # The OpenInference kind becomes an attribute; the OTel kind is unknown.
    assert llm["kind"] == "unspecified"
    assert llm["attributes"]["openinference.span.kind"] == "LLM"
    assert llm["attributes"]["llm.token_count.prompt"] == "1200"
    assert retriever["ai_kind"] == "retriever"
    assert retriever["status_code"] == "error"
    assert retriever["error_message"] == "index unavailable"
    assert llm["service_name"] == "unknown_service"


def test_epoch_milliseconds_are_exact(jsonl_spans: pl.DataFrame) -> None:
    """The retriever's times are epoch milliseconds: no float rounding in nanoseconds."""
    retriever = jsonl_spans.row(1, named=True)
    assert retriever["start_time"] == NOON + timedelta(milliseconds=150)
    assert retriever["duration_ns"] == 250_000_000
    nanos = jsonl_spans["start_time"].dt.epoch("ns").to_list()
    assert nanos == [NOON_NS + 100_000_000, NOON_NS + 150_000_000]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("spans.csv", Format.PHOENIX_CSV), ("spans.parquet", Format.PHOENIX_PARQUET)],
)
def test_csv_and_parquet_give_the_same_spans_as_jsonl(
    fixtures_dir: Path, jsonl_spans: pl.DataFrame, name: str, fmt: Format
) -> None:
    spans = from_file(fixtures_dir / "phoenix" / name, fmt)
    assert_frame_equal(spans, jsonl_spans)


def test_json_array_export(tmp_path: Path, fixtures_dir: Path, jsonl_spans: pl.DataFrame) -> None:
    lines = (fixtures_dir / "phoenix/spans.jsonl").read_text().splitlines()
    path = tmp_path / "spans.json"
    path.write_text(json.dumps([json.loads(line) for line in lines]))
    assert_frame_equal(from_file(path, Format.PHOENIX_JSON), jsonl_spans)


def test_a_json_object_is_not_an_array_export(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(UnreadableInput, match="a JSON array of spans was expected"):
        read_file(path, Format.PHOENIX_JSON, "x")


def test_unreadable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UnreadableInput, match=r"^cannot read the phoenix-parquet export"):
        read_file(path, Format.PHOENIX_PARQUET, "x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-11-20T12:00:00Z", NOON_NS),
        ("2025-11-20T12:00:00+00:00", NOON_NS),
        ("2025-11-20T14:00:00+02:00", NOON_NS),
        ("2025-11-20T12:00:00", NOON_NS),  # naive: UTC
        ("2025-11-20 12:00:00.250", NOON_NS + 250_000_000),
        ("2025-11-20T12:00:00.123456789Z", NOON_NS + 123_456_000),  # microseconds kept
        (datetime(2025, 11, 20, 12, 0, 0, 1), NOON_NS + 1_000),
        (datetime(2025, 11, 20, 13, tzinfo=timezone(timedelta(hours=1))), NOON_NS),
        (1_763_640_000, NOON_NS),  # seconds
        (1_763_640_000.25, NOON_NS + 250_000_000),
        (1_763_640_000_123, NOON_NS + 123_000_000),  # milliseconds
        ("1763640000123", NOON_NS + 123_000_000),
        (1_763_640_000_123_457, NOON_NS + 123_457_000),  # microseconds
        (NOON_NS + 7, NOON_NS + 7),  # nanoseconds
        (str(NOON_NS + 7), NOON_NS + 7),
        (" 1763640000 ", NOON_NS),
    ],
)
def test_parse_time(value: Any, expected: int) -> None:
    assert parse_time(value, "start_time") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "missing start_time"),
        ("", "missing start_time"),
        ("yesterday", "invalid start_time 'yesterday'"),
        (True, "invalid start_time True"),
        (float("nan"), "invalid start_time nan"),
        ([1], r"invalid start_time \[1\]"),
    ],
)
def test_parse_time_errors(value: Any, message: str) -> None:
    with pytest.raises(BadRecord, match=message):
        parse_time(value, "start_time")


def test_resource_keys_move_to_the_resource() -> None:
    spans, dead = records(
        record(
            **{
                "attributes.service.name": "rag",
                "attributes.service.version": "2.0",
                "attributes.deployment.environment.name": "staging",
                "attributes.user.id": "u1",
            }
        )
    )
    assert dead == []
    row = spans.row(0, named=True)
    assert (row["service_name"], row["service_version"], row["environment"]) == (
        "rag",
        "2.0",
        "staging",
    )
    assert row["resource_attributes"] == {
        "service.name": "rag",
        "service.version": "2.0",
        "deployment.environment.name": "staging",
    }
    assert row["attributes"] == {"user.id": "u1"}
    assert row["user_id"] == "u1"


def test_nested_attributes_are_flattened_the_openinference_way() -> None:
    nested = {
        "llm": {
            "input_messages": [
                {"message": {"role": "system", "content": "Be brief."}},
                {"message": {"role": "user", "content": "Hi?"}},
            ],
            "invocation_parameters": '{"model": "gpt-4o-mini", "temperature": 0}',
            "token_count": {"prompt": 12.0, "completion": 3},
        },
        "tags": ["a", "b"],
        "flag": True,
        "missing": None,
    }
    as_dict, dead = records(record(attributes=nested, span_kind="LLM"))
    as_text, more = records(record(attributes=json.dumps(nested), span_kind="LLM"))
    assert dead == more == []
    assert_frame_equal(as_dict, as_text)
    row = as_dict.row(0, named=True)
    assert row["attributes"]["llm.input_messages.1.message.content"] == "Hi?"
    assert row["attributes"]["tags"] == '["a","b"]'
    assert row["attributes"]["flag"] == "true"
    assert "missing" not in row["attributes"]
    assert row["input_text"] == "Be brief.\nHi?"
    assert row["request_model"] == "gpt-4o-mini"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (12, 3, 15)


def test_nested_context_and_alternative_names() -> None:
    spans, dead = records(
        {
            "name": "n",
            "context": {"trace_id": TRACE, "span_id": "eee19b7ec3c1b179"},
            "parent_span_id": "eee19b7ec3c1b175",
            "start_time": 1_763_640_000_000,
            "end_time": 1_763_640_000_500,
            "status_code": "STATUS_CODE_OK",
        }
    )
    assert dead == []
    row = spans.row(0, named=True)
    assert (row["span_id"], row["parent_span_id"], row["status_code"]) == (
        "eee19b7ec3c1b179",
        "eee19b7ec3c1b175",
        "ok",
    )
    assert row["duration_ns"] == 500_000_000


def test_events_as_json_text() -> None:
    events = [
        {
            "name": "exception",
            "timestamp": "2025-11-20T12:00:00.500000+00:00",
            "attributes": {"exception.type": "KeyError", "exception.message": "'k'"},
        }
    ]
    spans, dead = records(record(events=json.dumps(events), status_code="ERROR"))
    assert dead == []
    row = spans.row(0, named=True)
    assert row["events"] == [
        {
            "time": NOON + timedelta(milliseconds=500),
            "name": "exception",
            "attributes": {"exception.type": "KeyError", "exception.message": "'k'"},
        }
    ]
    assert (row["error_type"], row["error_message"]) == ("KeyError", "'k'")


def test_bad_records_are_dead_lettered_and_leave_no_partial_row() -> None:
    good = record("0000000000000001", events=[{"name": "ok", "time": 1_763_640_000_000}])
    rows = [
        good,
        record("0000000000000002", events=[{"name": "x", "timestamp": "nope"}]),
        record("0000000000000003", events=[3]),
        record("0000000000000004", end_time="2025-11-20T11:00:00Z"),
        record("0000000000000005", status_code="MAYBE"),
        record("zz"),
        ["not", "an", "object"],
        record("0000000000000006", start_time=None),
        record("0000000000000007", attributes="{not json"),
        record("0000000000000008", status_message=404),
    ]
    spans, dead = records(*rows)
    # Spans whose only fault is an unreadable event are kept, the events raw.
    kept = ["0000000000000001", "0000000000000002", "0000000000000003", "0000000000000008"]
    assert spans["span_id"].to_list() == kept
    assert [len(e) for e in spans["events"].to_list()] == [1, 0, 0, 0]
    unreadable = [a.get("pyflare.unreadable_events") for a in spans["attributes"].to_list()]
    assert unreadable[0] is None and unreadable[3] is None
    assert "nope" in unreadable[1] and unreadable[2] == "[3]"
    assert spans["status_message"].to_list() == [None, None, None, "404"]
    assert [d.position for d in dead] == [f"line {i}" for i in (4, 5, 6, 7, 8, 9)]
    reasons = [d.reason for d in dead]
    assert reasons[0] == "end_time is before start_time"
    assert reasons[1] == "invalid status_code 'MAYBE'"
    assert "invalid context.span_id 'zz'" in reasons[2]
    assert reasons[3] == "a span record must be a JSON object"
    assert reasons[4] == "missing start_time"
    assert dead[0].record["context.span_id"] == "0000000000000004"


def test_invalid_json_lines_are_dead_lettered(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(record()) + "\n{oops\n\n" + json.dumps(record("eee19b7ec3c1b176")))
    (task,) = split(path, Format.PHOENIX_JSONL, "p.jsonl")
    decoded = decode(task)
    assert decoded.spans["span_id"].to_list() == ["eee19b7ec3c1b175", "eee19b7ec3c1b176"]
    (letter,) = decoded.dead
    assert (letter.position, letter.record) == ("line 2", "{oops")
    assert letter.reason.startswith("invalid JSON")
