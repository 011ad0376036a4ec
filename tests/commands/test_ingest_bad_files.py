"""One bad file never sinks ``pyflare ingest``: it is named, the others go in, exit 2."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import zstandard
from cli_support import FIXTURES, invoke


def _bad_files(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    nested = folder / "nested.json"
    nested.write_text("[" * 200_000 + "]" * 200_000)
    nested_line = folder / "nested.jsonl"
    nested_line.write_text('{"resourceSpans": ' + "[" * 200_000 + "]" * 200_000 + "}\n")
    truncated = folder / "cut.json.gz"
    truncated.write_bytes(gzip.compress((FIXTURES / "otlp" / "trace.json").read_bytes())[:-30])
    garbage = folder / "garbage.zst"
    garbage.write_bytes(zstandard.ZstdCompressor().compress(b"x" * 1000)[:12] + b"\xff" * 64)
    unknown = folder / "unknown.jsonl"
    unknown.write_text('{"event": "login", "user": 1}\n{"event": "logout", "user": 1}\n')
    return {
        "nested": nested,
        "nested_line": nested_line,
        "truncated": truncated,
        "garbage": garbage,
        "unknown": unknown,
    }


def test_each_bad_file_is_named_once_and_the_good_ones_go_in(tmp_path: Path) -> None:
    bad = _bad_files(tmp_path / "in")
    good = FIXTURES / "otlp" / "trace.json"
    store = tmp_path / "s"
    result = invoke("ingest", str(tmp_path / "in"), str(good), "--store", str(store), "-f", "json")
    assert result.exit_code == 2, result.output
    summary = json.loads(result.stdout)
    assert summary["spans"] == 4
    failed = {Path(d["path"]).name for d in summary["details"] if d["status"] == "failed"}
    assert failed == {p.name for p in bad.values()}
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(bad)
    for path in bad.values():
        assert sum(line.startswith(f"error: {path}: ") for line in lines) == 1
    assert "Traceback" not in result.stderr


def test_unknown_json_lines_are_refused_and_not_recorded(tmp_path: Path) -> None:
    unknown = tmp_path / "events.jsonl"
    unknown.write_text('{"event": "login", "user": 1}\n{"event": "logout", "user": 1}\n')
    store = tmp_path / "s"
    for _ in range(2):
        result = invoke("ingest", str(unknown), "--store", str(store))
        assert result.exit_code == 2
        assert "already in the store" not in result.stdout
        assert f"{unknown}: JSON that is neither OTLP" in result.stderr
    info = json.loads(invoke("store", "info", "--store", str(store), "--format", "json").stdout)
    assert info["rows"] == 0


def test_a_file_whose_every_record_is_dead_is_refused(tmp_path: Path) -> None:
    dead = tmp_path / "dead.jsonl"
    span = {"traceId": "zz", "spanId": "01", "name": "x", "startTimeUnixNano": "1"}
    line = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    dead.write_text(json.dumps(line) + "\n" + json.dumps(line) + "\n")
    store = tmp_path / "s"
    for _ in range(2):
        result = invoke("ingest", str(dead), "--store", str(store))
        assert result.exit_code == 2
        assert "no span could be read (2 record(s) dead-lettered" in result.stderr
