"""``pyflare demo``: store filling, replacement on re-run, files, the tour."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from cli_support import FIXTURES, invoke


def test_demo_fills_store_and_prints_tour(tmp_path: Path) -> None:
    store = tmp_path / "s"
    result = invoke("demo", "--spans", "1500", "--store", str(store))
    assert result.exit_code == 0, result.output
    assert "Try next:" in result.stdout and "pyflare trace show" in result.stdout
    first = json.loads(invoke("store", "info", "--store", str(store), "--format", "json").stdout)
    again = invoke("demo", "--spans", "1500", "--store", str(store))
    assert again.exit_code == 0
    second = json.loads(invoke("store", "info", "--store", str(store), "--format", "json").stdout)
    assert first["rows"] == second["rows"] >= 1500
    assert second["sources"] == 1


def test_demo_keeps_other_sources(tmp_path: Path) -> None:
    store = tmp_path / "s"
    invoke("ingest", str(FIXTURES / "otlp" / "trace.json"), "--store", str(store))
    invoke("demo", "--spans", "500", "--store", str(store))
    invoke("demo", "--spans", "500", "--store", str(store))
    info = json.loads(invoke("store", "info", "--store", str(store), "--format", "json").stdout)
    assert info["sources"] == 2


def test_demo_writes_files_in_every_format(tmp_path: Path) -> None:
    for fmt in ("pb", "json", "jsonl"):
        out = tmp_path / f"demo.{fmt}"
        result = invoke("demo", "--spans", "300", "--out", str(out), "--format", fmt)
        assert result.exit_code == 0, result.output
        store = tmp_path / f"store-{fmt}"
        ingested = invoke("ingest", str(out), "--store", str(store), "--format", "json")
        assert json.loads(ingested.stdout)["spans"] >= 300
    frames = [
        pl.read_parquet(sorted((tmp_path / f"store-{fmt}").rglob("part-*.parquet")))
        .sort("span_id")
        .select("span_id", "model", "input_tokens")
        for fmt in ("pb", "json", "jsonl")
    ]
    assert frames[0].equals(frames[1]) and frames[1].equals(frames[2])


def test_demo_out_to_folder_is_refused(tmp_path: Path) -> None:
    result = invoke("demo", "--spans", "10", "--out", str(tmp_path))
    assert result.exit_code == 2 and "is a folder" in result.stderr
