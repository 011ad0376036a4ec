"""``pyflare store info|compact|prune``."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import FIXTURES, invoke


def _info(store: Path) -> dict[str, object]:
    result = invoke("store", "info", "--store", str(store), "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_info_on_demo_store(demo_store: Path) -> None:
    info = _info(demo_store)
    assert info["rows"] > 2500 and info["services"] == 5 and info["sources"] == 2
    assert 0 < float(str(info["bytes_per_span"])) < 2000
    table = invoke("store", "info", "--store", str(demo_store))
    assert "bytes/span" in table.stdout and "time range" in table.stdout


def test_compact_removes_duplicates_from_overlapping_sources(tmp_path: Path) -> None:
    store = tmp_path / "s"
    invoke("ingest", str(FIXTURES / "otlp" / "trace.json"), "--store", str(store))
    invoke("ingest", str(FIXTURES / "otlp" / "trace.pb"), "--store", str(store))
    assert _info(store)["rows"] == 8
    result = invoke("store", "compact", "--store", str(store))
    assert result.exit_code == 0
    assert "4 duplicate span(s) removed" in result.stdout
    info = _info(store)
    assert (info["rows"], info["files"]) == (4, 1)


def test_prune_dry_run_then_prune(tmp_path: Path) -> None:
    store = tmp_path / "s"
    invoke("ingest", str(FIXTURES / "otlp" / "trace.json"), "--store", str(store))
    dry = invoke("store", "prune", "--older-than", "30d", "--dry-run", "--store", str(store))
    assert dry.exit_code == 0 and "would remove 1 day(s) (2025-11-20)" in dry.stdout
    assert _info(store)["rows"] == 4
    done = invoke("store", "prune", "--older-than", "30d", "--store", str(store))
    assert "removed 1 day(s)" in done.stdout
    assert _info(store)["rows"] == 0


def test_prune_needs_a_valid_age(tmp_path: Path) -> None:
    result = invoke("store", "prune", "--older-than", "soon", "--store", str(tmp_path))
    assert result.exit_code == 2 and "soon" in result.stderr


def test_info_as_csv_and_markdown(demo_store: Path) -> None:
    csv = invoke("store", "info", "--store", str(demo_store), "--format", "csv")
    header, row = csv.stdout.strip().splitlines()
    assert header.split(",")[:3] == ["root", "rows", "traces"]
    assert int(row.split(",")[1]) > 2500
    markdown = invoke("store", "info", "--store", str(demo_store), "--format", "markdown")
    assert markdown.stdout.startswith("| root | rows | traces |")
