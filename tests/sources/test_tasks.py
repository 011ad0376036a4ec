"""Cutting inputs into decode tasks, and decoding a task."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.sources import tasks
from pyflare_cli.sources.decoding import decode
from pyflare_cli.sources.opening import Format, UnreadableInput
from pyflare_cli.sources.otlp_wire import varint
from pyflare_cli.sources.tasks import Task, split


def decode_all(path: Path, fmt: Format) -> pl.DataFrame:
    return pl.concat([decode(task).spans for task in split(path, fmt, path.name)])


def test_single_request_is_one_task(fixtures_dir: Path) -> None:
    path = fixtures_dir / "otlp/trace.pb"
    (task,) = split(path, Format.OTLP_PROTO, "trace.pb")
    assert task.source == "trace.pb" and task.format is Format.OTLP_PROTO
    assert task.items == [("request 0", path.read_bytes())]
    assert task.size == path.stat().st_size


def test_a_big_request_is_recut_by_resource(
    otlp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = otlp.request(otlp.span("0000000000000001"), resource={"service.name": "a"})
    for i in range(2, 7):
        more = otlp.request(otlp.span(f"{i:016x}"), resource={"service.name": f"s{i}"})
        request.resource_spans.extend(more.resource_spans)
    path = tmp_path / "big.pb"
    path.write_bytes(request.SerializeToString())
    whole = decode_all(path, Format.OTLP_PROTO)
    monkeypatch.setattr(tasks, "TASK_BYTES", 150)
    pieces = list(split(path, Format.OTLP_PROTO, "big.pb"))
    assert len(pieces) > 1
    assert all(len(piece.items) == 1 for piece in pieces)
    assert pieces[-1].items[0][0] == "request 0 (resource_spans up to 5)"
    assert_frame_equal(pl.concat([decode(t).spans for t in pieces]), whole)
    assert whole["service_name"].to_list() == ["a", "s2", "s3", "s4", "s5", "s6"]


def test_an_unparsable_single_request_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "x.pb"
    path.write_bytes(b"\x0a\xff\xff\xff\xff\x0f")
    with pytest.raises(UnreadableInput, match="not an OTLP protobuf ExportTraceServiceRequest"):
        list(split(path, Format.OTLP_PROTO, "x.pb"))


def test_stream_positions_and_task_size(
    otlp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = [otlp.request(otlp.span(f"{i + 1:016x}")) for i in range(5)]
    data = otlp.stream(*requests)
    path = tmp_path / "s.bin"
    path.write_bytes(data)
    one = requests[0].ByteSize()
    monkeypatch.setattr(tasks, "TASK_BYTES", 2 * one)
    cut = list(split(path, Format.OTLP_PROTO_STREAM, "s.bin"))
    assert [len(list(t.payloads())) for t in cut] == [2, 2, 1]
    assert [t.size for t in cut] == [2 * one, 2 * one, one]
    frame = one + len(varint(one))
    assert [p for t in cut for p, _ in t.payloads()] == [
        f"request {i} (byte {i * frame})" for i in range(5)
    ]
    spans = pl.concat([decode(t).spans for t in cut])
    assert spans["span_id"].to_list() == [f"{i + 1:016x}" for i in range(5)]


def test_truncated_stream_yields_the_complete_requests_first(otlp: Any, tmp_path: Path) -> None:
    requests = [otlp.request(otlp.span(f"{i + 1:016x}")) for i in range(3)]
    data = otlp.stream(*requests)
    path = tmp_path / "cut.bin"
    path.write_bytes(data[:-4])
    cut = split(path, Format.OTLP_PROTO_STREAM, "cut.bin")
    first = next(cut)
    assert len(list(first.payloads())) == 2
    with pytest.raises(UnreadableInput, match=r"^request 2 at byte \d+ is truncated: \d+ of \d+"):
        next(cut)
    assert decode(first).spans["span_id"].to_list() == ["0000000000000001", "0000000000000002"]


def test_bad_varint_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    path.write_bytes(b"\xff" * 12)
    with pytest.raises(UnreadableInput, match="length prefix is not a varint"):
        list(split(path, Format.OTLP_PROTO_STREAM, "v.bin"))
    path.write_bytes(b"\x80")
    with pytest.raises(UnreadableInput, match="truncated length prefix"):
        list(split(path, Format.OTLP_PROTO_STREAM, "v.bin"))


def test_lines_keep_their_numbers_and_skip_blank_lines(
    fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (fixtures_dir / "otlp/collector.jsonl").read_text().splitlines()
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join([lines[0], "", "   ", *lines]) + "\n").encode()))
    (task,) = split(path, Format.OTLP_JSONL, "c")
    assert [p for p, _ in task.items] == ["line 1", "line 4", "line 5", "line 6"]
    decoded = decode(task)
    assert decoded.spans.height == 8 and decoded.skipped == 2 and decoded.dead == []
    monkeypatch.setattr(tasks, "TASK_BYTES", 1)
    assert len(list(split(path, Format.OTLP_JSONL, "c"))) == 4


def test_uncompressed_lines_are_read_by_the_worker_in_blocks(
    fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (fixtures_dir / "otlp/collector.jsonl").read_text().splitlines()
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join([lines[0], "", "   ", *lines]) + "\n")
    (task,) = split(path, Format.OTLP_JSONL, "c")
    assert task.items == [] and task.file == str(path)
    assert [p for p, _ in task.payloads()] == ["line 1", "line 4", "line 5", "line 6"]
    monkeypatch.setattr(tasks, "TASK_BYTES", 1)
    blocks = list(split(path, Format.OTLP_JSONL, "c"))
    assert [p for t in blocks for p, _ in t.payloads()] == ["line 1", "line 4", "line 5", "line 6"]
    assert sum(decode(t).spans.height for t in blocks) == 8


def test_uncompressed_stream_is_read_by_the_worker_in_ranges(otlp: Any, tmp_path: Path) -> None:
    big = [otlp.span(f"{i + 1:016x}", attributes={"pad": "x" * 200}) for i in range(3)]
    requests = [otlp.request(span) for span in big]
    path = tmp_path / "s.bin"
    path.write_bytes(otlp.stream(*requests))
    (task,) = split(path, Format.OTLP_PROTO_STREAM, "s")
    assert task.items == [] and len(task.ranges) == 3
    assert [payload for _, payload in task.payloads()] == [r.SerializeToString() for r in requests]


def test_collector_jsonl_counts_metrics_and_logs_lines_as_skipped(fixtures_dir: Path) -> None:
    (task,) = split(fixtures_dir / "otlp/collector.jsonl", Format.OTLP_JSONL, "c")
    decoded = decode(task)
    assert (decoded.spans.height, decoded.skipped, decoded.dead) == (4, 2, [])


def test_document_task(fixtures_dir: Path) -> None:
    path = fixtures_dir / "otlp/trace.json"
    (task,) = split(path, Format.OTLP_JSON, "t")
    assert task.items == [("document", path.read_bytes())]
    assert decode(task).spans.height == 4


def test_invalid_json_document_is_one_dead_letter(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{\n  "resourceSpans": [\n')
    (task,) = split(path, Format.OTLP_JSON, "t.json")
    decoded = decode(task)
    (letter,) = decoded.dead
    assert (letter.source, letter.position) == ("t.json", "document")
    assert letter.reason.startswith("invalid JSON")
    assert letter.record == '{\n  "resourceSpans": [\n'


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("spans.csv", Format.PHOENIX_CSV), ("spans.parquet", Format.PHOENIX_PARQUET)],
)
def test_phoenix_files_are_one_task_naming_the_file(
    fixtures_dir: Path, name: str, fmt: Format
) -> None:
    path = fixtures_dir / "phoenix" / name
    (task,) = split(path, fmt, name)
    assert task.items == [("file", str(path).encode())]
    assert decode(task).spans.height == 2


def test_tasks_and_results_pickle(fixtures_dir: Path) -> None:
    (task,) = split(fixtures_dir / "otlp/half_bad.jsonl", Format.OTLP_JSONL, "h")
    copy = pickle.loads(pickle.dumps(task))
    assert isinstance(copy, Task) and copy == task
    decoded = pickle.loads(pickle.dumps(decode(task)))
    assert decoded.spans.height == 5 and len(decoded.dead) == 2


def test_half_bad_file(fixtures_dir: Path) -> None:
    (task,) = split(fixtures_dir / "otlp/half_bad.jsonl", Format.OTLP_JSONL, "half_bad.jsonl")
    decoded = decode(task)
    assert decoded.spans["name"].to_list()[-1] == "good"
    assert [(d.position, d.reason.split(":")[0]) for d in decoded.dead] == [
        ("line 2", "invalid JSON"),
        ("line 3, resourceSpans[0].scopeSpans[0].spans[1]", "invalid spanId 'not-an-id'"),
    ]
    assert json.loads(json.dumps(decoded.dead[1].record))["name"] == "bad id"
