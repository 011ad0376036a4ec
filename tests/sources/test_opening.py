"""Opening inputs transparently (gzip, zstd) and telling their format from their content."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest
import zstandard

from pyflare_cli.sources.opening import (
    SNIFF_BYTES,
    Format,
    UnreadableInput,
    is_compressed,
    open_binary,
    sniff,
)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("otlp/trace.pb", Format.OTLP_PROTO),
        ("otlp/stream.pb", Format.OTLP_PROTO_STREAM),
        ("otlp/trace.json", Format.OTLP_JSON),
        ("otlp/trace_base64_enum_names.json", Format.OTLP_JSON),
        # One compact document on one line reads as JSON Lines with one line: same spans.
        ("otlp/trace.json.gz", Format.OTLP_JSONL),
        ("otlp/collector.jsonl", Format.OTLP_JSONL),
        ("otlp/collector.jsonl.zst", Format.OTLP_JSONL),
        ("otlp/half_bad.jsonl", Format.OTLP_JSONL),
        ("phoenix/spans.jsonl", Format.PHOENIX_JSONL),
        ("phoenix/spans.csv", Format.PHOENIX_CSV),
        ("phoenix/spans.parquet", Format.PHOENIX_PARQUET),
    ],
)
def test_every_fixture_is_recognised(fixtures_dir: Path, name: str, expected: Format) -> None:
    assert sniff(fixtures_dir / name) is expected


@pytest.mark.parametrize(
    ("source", "disguise", "expected"),
    [
        ("otlp/collector.jsonl", "export.json", Format.OTLP_JSONL),
        ("otlp/trace.pb", "dump.bin", Format.OTLP_PROTO),
        ("otlp/stream.pb", "spans.bin", Format.OTLP_PROTO_STREAM),
        ("otlp/trace.json", "trace.txt", Format.OTLP_JSON),
        ("phoenix/spans.csv", "spans.dat", Format.PHOENIX_CSV),
        ("phoenix/spans.parquet", "spans", Format.PHOENIX_PARQUET),
        ("phoenix/spans.jsonl", "spans.json", Format.PHOENIX_JSONL),
    ],
)
def test_extension_is_ignored(
    fixtures_dir: Path, tmp_path: Path, source: str, disguise: str, expected: Format
) -> None:
    path = tmp_path / disguise
    shutil.copy(fixtures_dir / source, path)
    assert sniff(path) is expected


def test_gzip_without_extension_is_opened_transparently(fixtures_dir: Path, tmp_path: Path) -> None:
    original = (fixtures_dir / "otlp/trace.pb").read_bytes()
    path = _write(tmp_path, "payload", gzip.compress(original))
    assert is_compressed(path)
    assert sniff(path) is Format.OTLP_PROTO
    with open_binary(path) as stream:
        assert stream.read() == original


def test_zstd_without_extension_is_opened_transparently(fixtures_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "collector"
    shutil.copy(fixtures_dir / "otlp/collector.jsonl.zst", path)
    assert is_compressed(path)
    assert sniff(path) is Format.OTLP_JSONL
    with open_binary(path) as stream:
        assert stream.read() == (fixtures_dir / "otlp/collector.jsonl").read_bytes()


def test_zstd_reads_across_frames(tmp_path: Path) -> None:
    compressor = zstandard.ZstdCompressor()
    path = _write(
        tmp_path, "x.zst", compressor.compress(b"first\n") + compressor.compress(b"two\n")
    )
    with open_binary(path) as stream:
        assert stream.read() == b"first\ntwo\n"


def test_plain_files_are_not_compressed(fixtures_dir: Path) -> None:
    assert not is_compressed(fixtures_dir / "otlp/trace.json")
    assert is_compressed(fixtures_dir / "otlp/trace.json.gz")
    with open_binary(fixtures_dir / "otlp/trace.json") as stream:
        assert stream.read() == (fixtures_dir / "otlp/trace.json").read_bytes()


def test_gzip_fixture_holds_the_same_document(fixtures_dir: Path) -> None:
    with open_binary(fixtures_dir / "otlp/trace.json.gz") as stream:
        packed = json.loads(stream.read())
    assert packed == json.loads((fixtures_dir / "otlp/trace.json").read_text())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (bytes(range(256)) * 4, "binary data that is neither an OTLP protobuf"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "binary data that is neither an OTLP protobuf"),
        (b"hello world\nthis is prose\n", "text that is neither OTLP/JSON, JSON Lines nor"),
        (b"a,b,c\n1,2,3\n", "text that is neither OTLP/JSON, JSON Lines nor"),
        (b'{"hello": "world"}', "JSON that is neither OTLP (resourceSpans), a Phoenix"),
    ],
)
def test_garbage_is_unreadable_with_a_clear_message(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = _write(tmp_path, "input.json", data)
    with pytest.raises(
        UnreadableInput, match="^" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        sniff(path)


def test_random_bytes_are_unreadable(tmp_path: Path) -> None:
    for seed in range(5):
        data = bytes((i * 7919 + seed * 104729) % 251 for i in range(2000))
        path = _write(tmp_path, f"r{seed}", b"\x81" + data)
        with pytest.raises(UnreadableInput, match="binary data"):
            sniff(path)


def test_compressed_garbage_is_unreadable_too(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.gz", gzip.compress(os.urandom(64) + b"\x00"))
    with pytest.raises(UnreadableInput):
        sniff(path)


def test_pretty_printed_document_is_one_request(tmp_path: Path) -> None:
    doc = {"resourceSpans": [{"resource": {}, "scopeSpans": []}]}
    assert sniff(_write(tmp_path, "a.json", json.dumps(doc, indent=2).encode())) is (
        Format.OTLP_JSON
    )
    # Pretty-printed with the first key on the first line, and with no indentation.
    text = '{"resourceSpans": [\n  {"resource": {}, "scopeSpans": []}\n]}\n'
    assert sniff(_write(tmp_path, "b.json", text.encode())) is Format.OTLP_JSON
    assert sniff(_write(tmp_path, "c.json", json.dumps(doc, indent=0).encode())) is (
        Format.OTLP_JSON
    )


def test_byte_order_mark_and_leading_blank_lines_are_skipped(tmp_path: Path) -> None:
    line = json.dumps({"resourceSpans": []}).encode()
    path = _write(tmp_path, "bom.jsonl", b"\xef\xbb\xbf\n\n  " + line + b"\n" + line + b"\n")
    assert sniff(path) is Format.OTLP_JSONL


def test_jsonl_whose_first_line_is_broken_is_still_jsonl(tmp_path: Path) -> None:
    good = json.dumps({"resourceSpans": []})
    path = _write(tmp_path, "x.jsonl", f'{{"resourceSpans": [ oops\n{good}\n'.encode())
    assert sniff(path) is Format.OTLP_JSONL
    phoenix = json.dumps({"context.span_id": "eee19b7ec3c1b175", "name": "x"})
    path = _write(tmp_path, "p.jsonl", f"{{broken\n{phoenix}\n".encode())
    assert sniff(path) is Format.PHOENIX_JSONL


def test_jsonl_with_lines_longer_than_the_sniffed_head(tmp_path: Path) -> None:
    big = {"resourceSpans": [{"resource": {"attributes": []}, "pad": "x" * SNIFF_BYTES}]}
    line = json.dumps(big)
    path = _write(tmp_path, "big.jsonl", f"{line}\n{line}\n".encode())
    assert sniff(path) is Format.OTLP_JSONL
    record = {"context.span_id": "eee19b7ec3c1b175", "pad": "x" * SNIFF_BYTES}
    path = _write(tmp_path, "big_phoenix.jsonl", (json.dumps(record) + "\n").encode())
    assert sniff(path) is Format.PHOENIX_JSONL


def test_metrics_and_logs_lines_are_otlp_jsonl(tmp_path: Path) -> None:
    line = json.dumps({"resourceMetrics": []})
    assert sniff(_write(tmp_path, "m.jsonl", (line + "\n").encode())) is Format.OTLP_JSONL
    line = json.dumps({"resourceLogs": []})
    assert sniff(_write(tmp_path, "l.json", line.encode())) is Format.OTLP_JSONL


def test_phoenix_shapes(tmp_path: Path) -> None:
    nested = json.dumps({"context": {"trace_id": "a", "span_id": "b"}, "name": "x"})
    assert sniff(_write(tmp_path, "n.jsonl", nested.encode())) is Format.PHOENIX_JSONL
    array = json.dumps([{"context.span_id": "b"}])
    assert sniff(_write(tmp_path, "a.json", array.encode())) is Format.PHOENIX_JSON
    csv = b"name,span_kind,context.span_id\nx,LLM,eee19b7ec3c1b175\n"
    assert sniff(_write(tmp_path, "c", csv)) is Format.PHOENIX_CSV
