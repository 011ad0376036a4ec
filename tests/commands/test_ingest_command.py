"""``pyflare ingest`` through the CLI: summary, idempotency, dead letters, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import FIXTURES, invoke


def test_ingest_folder_prints_summary_and_is_idempotent(tmp_path: Path) -> None:
    store = tmp_path / "s"
    first = invoke("ingest", str(FIXTURES / "otlp"), "--store", str(store))
    assert first.exit_code == 0, first.output
    assert "ingested" in first.stdout
    assert "non-trace record(s) (metrics, logs) skipped" in first.stdout
    assert "dead-lettered" in first.stdout
    again = invoke("ingest", str(FIXTURES / "otlp"), "--store", str(store), "--format", "json")
    assert again.exit_code == 0
    summary = json.loads(again.stdout)
    assert summary["spans"] == 0
    assert summary["duplicates"] == summary["files"]


def test_ingest_json_summary_counts(tmp_path: Path) -> None:
    result = invoke(
        "ingest",
        str(FIXTURES / "otlp" / "collector.jsonl"),
        "--store",
        str(tmp_path),
        "--format",
        "json",
    )
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["spans"], summary["traces"], summary["skipped_non_trace"]) == (4, 1, 2)
    assert summary["details"][0]["format"] == "otlp-jsonl"


def test_ingest_reads_stdin(tmp_path: Path) -> None:
    data = (FIXTURES / "otlp" / "trace.pb").read_bytes()
    result = invoke("ingest", "-", "--store", str(tmp_path), "--format", "json", input=data)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["spans"] == 4


def test_unreadable_file_is_named_and_others_still_go_in(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not a trace at all \xff" * 10)
    good = FIXTURES / "otlp" / "trace.json"
    result = invoke(
        "ingest", str(junk), str(good), "--store", str(tmp_path / "s"), "--format", "json"
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["spans"] == 4
    assert "junk.bin" in result.stderr
    assert result.stderr.count("\n") == 1


def test_exit_2_when_nothing_can_be_read(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello, world\n")
    result = invoke("ingest", str(junk), str(tmp_path / "missing.pb"), "--store", str(tmp_path))
    assert result.exit_code == 2
    assert "junk.txt: text that is neither" in result.stderr
    assert "missing.pb: no such file" in result.stderr


def test_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke("ingest", str(tmp_path / "empty"), "--store", str(tmp_path / "s"))
    assert result.exit_code == 2
    assert "no files found" in result.stderr


def test_half_bad_file_keeps_good_records(tmp_path: Path) -> None:
    store = tmp_path / "s"
    result = invoke("ingest", str(FIXTURES / "otlp" / "half_bad.jsonl"), "--store", str(store))
    assert result.exit_code == 0
    letters = [
        json.loads(line)
        for path in (store / "dead_letter").rglob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert sorted(letter["position"].split(",")[0] for letter in letters) == ["line 2", "line 3"]
    assert all(letter["reason"] for letter in letters)
    info = json.loads(invoke("store", "info", "--store", str(store), "--format", "json").stdout)
    assert info["rows"] == 5
