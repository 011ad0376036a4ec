"""A damaged store gets a clear answer (exit 2, the file named) and a way out (check, repair).

A truncated or garbled Parquet part made traces, cost, store info, query and store compact
exit 3 with "internal error: ComputeError..." naming no file; a catalog that is no
database did the same for every command that opens it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pyflare_cli.main import app

NOW = "2026-11-20T12:00:00+00:00"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"PYFLARE_NOW": NOW})


@pytest.fixture(scope="module")
def healthy_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("healthy") / "store"
    result = invoke("demo", "--spans", "1500", "--days", "3", "--store", str(root))
    assert result.exit_code == 0, result.output
    yield root


@pytest.fixture
def store(healthy_store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(healthy_store, copy)
    return copy


def _parts(store: Path) -> list[Path]:
    return sorted(store.glob("spans/date=*/part-*.parquet"))


def _truncate(part: Path) -> None:
    os.truncate(part, part.stat().st_size // 2)


def _garble(part: Path) -> None:
    # Bytes inside the column chunks, footer intact: only a full read finds it.
    size = part.stat().st_size
    with open(part, "r+b") as handle:
        handle.seek(size // 4)
        handle.write(bytes(range(256)) * 16)


READERS = [
    ("traces",),
    ("cost",),
    ("store", "info"),
    ("query", "SELECT count(*) AS n FROM spans"),
    ("store", "compact"),
]


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c[:2]))
def test_a_truncated_part_is_named_with_exit_2(store: Path, command: tuple[str, ...]) -> None:
    damaged = _parts(store)[0]
    _truncate(damaged)
    result = invoke(*command, "--store", str(store))
    assert result.exit_code == 2, result.output
    assert damaged.name in result.stderr
    assert "store repair" in result.stderr
    assert "internal error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "command", [("ingest",), ("store", "info"), ("store", "compact")], ids=" ".join
)
def test_a_damaged_catalog_is_named_with_exit_2(
    store: Path, command: tuple[str, ...], fixtures_dir: Path
) -> None:
    (store / "catalog.sqlite").write_bytes(b"not a database, garbled by a disk " * 200)
    args = (
        [*command, str(fixtures_dir / "otlp" / "trace.json")]
        if command == ("ingest",)
        else [*command]
    )
    result = invoke(*args, "--store", str(store))
    assert result.exit_code == 2, result.output
    assert "catalog.sqlite" in result.stderr and "damaged catalog" in result.stderr


def test_check_finds_a_garbled_part_and_repair_brings_every_command_back(store: Path) -> None:
    parts = _parts(store)
    truncated, garbled = parts[0], parts[-1]
    _truncate(truncated)
    _garble(garbled)
    rows_before = invoke("store", "check", "--store", str(store), "--format", "json")
    assert rows_before.exit_code == 1  # damage fails the check
    import json

    found = json.loads(rows_before.stdout)
    assert {Path(d["path"]).name for d in found["damage"]} == {truncated.name, garbled.name}
    assert found["ok"] is False

    repaired = invoke("store", "repair", "--store", str(store))
    assert repaired.exit_code == 0, repaired.output
    assert "quarantined" in repaired.stdout and "ingest it again" in repaired.stdout
    quarantined = sorted(p.name for p in (store / "quarantine").rglob("part-*.parquet"))
    assert quarantined == sorted([truncated.name, garbled.name])
    reasons = list((store / "quarantine").rglob("*.reason"))
    assert len(reasons) == 2 and all(r.read_text().strip() for r in reasons)

    assert invoke("store", "check", "--store", str(store)).exit_code == 0
    for command in READERS:
        result = invoke(*command, "--store", str(store))
        assert result.exit_code == 0, (command, result.output)


def test_repair_rebuilds_a_damaged_catalog_and_ingest_works_again(
    store: Path, fixtures_dir: Path
) -> None:
    (store / "catalog.sqlite").write_bytes(b"\0garbage" * 512)
    for suffix in ("-wal", "-shm"):
        (store / f"catalog.sqlite{suffix}").unlink(missing_ok=True)
    assert invoke("store", "check", "--store", str(store)).exit_code == 1
    repaired = invoke("store", "repair", "--store", str(store))
    assert repaired.exit_code == 0, repaired.output
    assert "catalog rebuilt" in repaired.stdout
    assert list((store / "quarantine").rglob("catalog.sqlite"))
    trace = str(fixtures_dir / "otlp" / "trace.json")
    assert invoke("ingest", trace, "--store", str(store)).exit_code == 0
    info = invoke("store", "info", "--store", str(store), "--format", "json")
    assert info.exit_code == 0 and '"sources": 1' in info.stdout


def test_repair_keeps_the_readable_rows_of_a_damaged_catalog(store: Path) -> None:
    # A catalog whose rows SQLite can read but whose index is broken: the rows come back.
    import sqlite3

    catalog = store / "catalog.sqlite"
    db = sqlite3.connect(catalog)
    db.execute("PRAGMA journal_mode=DELETE")
    sources = db.execute("SELECT count(*) FROM sources").fetchone()[0]
    db.execute("PRAGMA writable_schema=ON")
    db.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX sources_path ON sources (size)' "
        "WHERE name = 'sources_path'"
    )
    db.commit()
    db.close()
    check = invoke("store", "check", "--store", str(store))
    assert check.exit_code == 1 and "catalog" in check.stdout
    repaired = invoke("store", "repair", "--store", str(store))
    assert f"catalog rebuilt: {sources} source(s) kept" in repaired.stdout
    assert invoke("store", "check", "--store", str(store)).exit_code == 0


def test_check_on_a_healthy_store_and_a_missing_one(store: Path, tmp_path: Path) -> None:
    result = invoke("store", "check", "--store", str(store))
    assert result.exit_code == 0 and "damaged" not in result.stdout
    assert invoke("store", "repair", "--store", str(store)).stdout.startswith("nothing to repair")
    missing = invoke("store", "check", "--store", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "no store" in missing.stderr


def _garble_pages(part: Path, columns: tuple[str, ...]) -> None:
    """Overwrite the header of the first data page of ``columns``: the footer stays intact,
    so only reading those columns finds the damage."""
    import pyarrow.parquet as pq

    group = pq.read_metadata(part).row_group(0)
    offsets = {
        group.column(i).path_in_schema: group.column(i).data_page_offset
        for i in range(group.num_columns)
    }
    with open(part, "r+b") as handle:
        for column in columns:
            handle.seek(offsets[column])
            handle.write(b"\xff" * 16)  # compact thrift: field type 15 does not exist
    pq.read_metadata(part)  # the footer still reads: the scan's footer check passes it


PAGE_READERS = [
    ("traces",),
    ("cost",),
    ("query", "SELECT count(*) AS n, sum(input_tokens) AS t FROM spans"),
    ("query", "SELECT input_text FROM spans"),
    ("rca", "--since", "2d"),
    ("stats",),
    ("drift", "--all-models"),
]


@pytest.mark.parametrize("command", PAGE_READERS, ids=lambda c: " ".join(c[:2]))
def test_a_garbled_page_under_an_intact_footer_is_named_with_exit_2(
    store: Path, command: tuple[str, ...]
) -> None:
    damaged = _parts(store)[-1]
    _garble_pages(damaged, ("trace_id", "start_time", "model", "input_tokens", "input_text"))
    result = invoke(*command, "--store", str(store))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(damaged) in lines[0] and "damaged Parquet part" in lines[0]
    assert "pyflare store check" in lines[0] and "store repair" in lines[0]
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_debug_shows_the_traceback_of_a_garbled_page_and_still_names_the_part(
    store: Path,
) -> None:
    damaged = _parts(store)[-1]
    _garble_pages(damaged, ("trace_id", "start_time"))
    result = invoke("--debug", "traces", "--store", str(store))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {damaged}")


def test_a_sql_typo_on_a_damaged_store_is_still_a_sql_error(store: Path) -> None:
    _garble_pages(_parts(store)[-1], ("input_text",))
    result = invoke("query", "SELECT nosuch FROM spans", "--store", str(store))
    assert result.exit_code == 2 and result.stderr.startswith("error: SQL error:")
    healthy = invoke("query", "SELECT count(*) AS n FROM spans", "--store", str(store))
    assert healthy.exit_code == 0, healthy.output  # a column not read is not in the way


def test_repair_clears_a_garbled_page(store: Path) -> None:
    damaged = _parts(store)[-1]
    _garble_pages(damaged, ("model",))
    assert invoke("cost", "--store", str(store)).exit_code == 2
    assert invoke("store", "check", "--store", str(store)).exit_code == 1
    assert invoke("store", "repair", "--store", str(store)).exit_code == 0
    assert not damaged.exists()
    result = invoke("cost", "--store", str(store))
    assert result.exit_code == 0, result.output
