"""The Ingestor end to end: real files in, real Parquet and SQLite out."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.ingest import pipeline as ingest_module
from pyflare_cli.ingest import workers as workers_module
from pyflare_cli.ingest.inputs import expand_paths
from pyflare_cli.ingest.pipeline import Ingestor
from pyflare_cli.ingest.redaction import RedactionConfig
from pyflare_cli.ingest.report import IngestReport
from pyflare_cli.sources import tasks
from pyflare_cli.store.catalog import Catalog
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.scan import scan_spans

TODAY = datetime(2026, 1, 15, 9, tzinfo=UTC)
OTLP_FILES = [
    "trace.json",
    "trace_base64_enum_names.json",
    "trace.pb",
    "trace.json.gz",
    "collector.jsonl",
    "collector.jsonl.zst",
]


@pytest.fixture
def ingestor(tmp_store: Path) -> Iterator[Ingestor]:
    ingestor = Ingestor(tmp_store, workers=1, today=TODAY)
    yield ingestor
    ingestor.close()


def stored(root: Path) -> pl.DataFrame:
    return scan_spans(root).collect().sort("trace_id", "span_id")


def only(report: IngestReport) -> Any:
    (result,) = report.files
    return result


def sources(root: Path) -> list[Any]:
    catalog = Catalog(StoreLayout(root).catalog)
    try:
        return catalog.sources()
    finally:
        catalog.close()


@pytest.fixture(scope="module")
def reference(fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("reference")
    ingestor = Ingestor(root, workers=1, today=TODAY)
    ingestor.ingest([str(fixtures_dir / "otlp/trace.json")])
    ingestor.close()
    return stored(root)


@pytest.mark.parametrize("name", OTLP_FILES)
def test_every_otlp_format_stores_the_same_spans(
    fixtures_dir: Path, tmp_store: Path, ingestor: Ingestor, reference: pl.DataFrame, name: str
) -> None:
    result = only(ingestor.ingest([str(fixtures_dir / "otlp" / name)]))
    assert (result.status, result.spans, result.traces, result.dead_lettered) == (
        "ingested",
        4,
        1,
        0,
    )
    assert result.skipped == (2 if name.startswith("collector") else 0)
    assert_frame_equal(stored(tmp_store), reference)


def test_stream_and_phoenix_files(fixtures_dir: Path, tmp_store: Path, ingestor: Ingestor) -> None:
    names = ["otlp/stream.pb", "phoenix/spans.jsonl", "phoenix/spans.csv", "phoenix/spans.parquet"]
    report = ingestor.ingest([str(fixtures_dir / n) for n in names])
    assert [(f.format, f.status, f.spans) for f in report.files] == [
        ("otlp-proto-stream", "ingested", 2),
        ("phoenix-jsonl", "ingested", 2),
        ("phoenix-csv", "ingested", 2),
        ("phoenix-parquet", "ingested", 2),
    ]
    assert report.spans == 8 and report.dead_lettered == 0 and report.failed == []
    # The three Phoenix exports hold the same spans: the store has them three times.
    phoenix = stored(tmp_store).filter(pl.col("kind") == "unspecified")
    assert phoenix.height == 6
    assert phoenix.unique(["trace_id", "span_id"]).height == 2


def test_the_store_is_partitioned_by_utc_date(
    fixtures_dir: Path, tmp_store: Path, ingestor: Ingestor
) -> None:
    ingestor.ingest([str(fixtures_dir / "otlp/trace.json")])
    (part,) = StoreLayout(tmp_store).span_files()
    assert part.parent.name == "date=2025-11-20"
    rows = pl.read_parquet(part)
    assert rows["start_time"].is_sorted()


def test_ingesting_the_same_file_twice_adds_nothing(
    fixtures_dir: Path, tmp_path: Path, tmp_store: Path, ingestor: Ingestor
) -> None:
    path = str(fixtures_dir / "otlp/trace.pb")
    first = only(ingestor.ingest([path]))
    files = StoreLayout(tmp_store).span_files()
    second = only(ingestor.ingest([path]))
    assert (first.status, second.status) == ("ingested", "duplicate")
    assert (second.spans, second.format) == (0, "otlp-proto")
    # Same content under another name, and in a later run: still a duplicate.
    copy = tmp_path / "copy.bin"
    shutil.copy(path, copy)
    again = Ingestor(tmp_store, workers=1)
    assert only(again.ingest([str(copy)])).status == "duplicate"
    again.close()
    assert StoreLayout(tmp_store).span_files() == files
    assert not list(tmp_store.rglob(".tmp-*"))  # decoded, found known at commit, discarded
    assert stored(tmp_store).height == 4
    (record,) = sources(tmp_store)
    assert (record.path, record.rows, record.state, record.format) == (
        str(Path(path).resolve()),
        4,
        "done",
        "otlp-proto",
    )
    assert record.size == Path(path).stat().st_size
    assert record.ingested_at == TODAY.isoformat()


def test_standard_input(fixtures_dir: Path, tmp_store: Path, ingestor: Ingestor) -> None:
    data = (fixtures_dir / "otlp/collector.jsonl").read_bytes()
    result = only(ingestor.ingest(["-"], stdin=io.BytesIO(data)))
    assert (result.path, result.status, result.format, result.spans, result.skipped) == (
        "<stdin>",
        "ingested",
        "otlp-jsonl",
        4,
        2,
    )
    assert only(ingestor.ingest(["-"], stdin=io.BytesIO(data))).status == "duplicate"
    assert stored(tmp_store).height == 4
    assert [r.path for r in sources(tmp_store)] == ["<stdin>"]
    # The spooled copy is gone.
    assert list((tmp_store / "tmp").iterdir()) == []


def test_label_names_the_source(fixtures_dir: Path, tmp_store: Path, ingestor: Ingestor) -> None:
    result = only(ingestor.ingest([str(fixtures_dir / "otlp/trace.json")], label="upload-42"))
    assert result.path == "upload-42"
    assert [r.path for r in sources(tmp_store)] == ["upload-42"]


def test_half_bad_file_keeps_the_good_records_and_dead_letters_the_rest(
    fixtures_dir: Path, tmp_store: Path, ingestor: Ingestor
) -> None:
    path = str(fixtures_dir / "otlp/half_bad.jsonl")
    result = only(ingestor.ingest([path]))
    assert (result.status, result.spans, result.dead_lettered) == ("ingested", 5, 2)
    assert "good" in stored(tmp_store)["name"].to_list()
    dead_file = Path(result.dead_letter_file)
    assert dead_file.parent == tmp_store / "dead_letter" / "date=2026-01-15"
    assert dead_file.name.startswith("half_bad.jsonl-") and dead_file.suffix == ".jsonl"
    letters = [json.loads(line) for line in dead_file.read_text().splitlines()]
    assert [(d["source"], d["position"]) for d in letters] == [
        (path, "line 2"),
        (path, "line 3, resourceSpans[0].scopeSpans[0].spans[1]"),
    ]
    assert letters[0]["reason"].startswith("invalid JSON")
    assert letters[0]["record"] == '{"resourceSpans": [ this is not json'
    assert letters[1]["reason"] == "invalid spanId 'not-an-id': neither hex nor base64"
    assert letters[1]["record"]["spanId"] == "not-an-id"
    (record,) = sources(tmp_store)
    assert (record.rows, record.dead_lettered) == (5, 2)


def test_an_unreadable_file_fails_and_the_others_still_go_in(
    fixtures_dir: Path, tmp_path: Path, tmp_store: Path, ingestor: Ingestor
) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x00\x01\x02 not a trace")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    no_spans = tmp_path / "no_spans.json"
    no_spans.write_text(json.dumps({"resourceSpans": []}, indent=1))
    paths = [
        str(fixtures_dir / "otlp/trace.json"),
        str(garbage),
        str(tmp_path / "missing.pb"),
        str(empty),
        str(no_spans),
        str(fixtures_dir / "otlp/stream.pb"),
    ]
    report = ingestor.ingest(paths)
    assert [f.status for f in report.files] == [
        "ingested",
        "failed",
        "failed",
        "failed",
        "failed",
        "ingested",
    ]
    assert [f.error for f in report.failed] == [
        f"{garbage}: binary data that is neither an OTLP protobuf request nor a "
        "length-delimited stream",
        f"{tmp_path / 'missing.pb'}: no such file",
        f"{empty}: empty file",
        f"{no_spans}: no spans found",
    ]
    assert report.spans == 6
    assert stored(tmp_store).height == 6
    assert len(sources(tmp_store)) == 2
    assert not list(tmp_store.rglob(".tmp-*"))


def test_truncated_stream_keeps_the_complete_requests(
    otlp: Any, tmp_path: Path, tmp_store: Path, ingestor: Ingestor
) -> None:
    requests = [otlp.request(otlp.span(f"{i + 1:016x}")) for i in range(3)]
    path = tmp_path / "cut.pb"
    path.write_bytes(otlp.stream(*requests)[:-3])
    result = only(ingestor.ingest([str(path)]))
    assert (result.status, result.spans, result.dead_lettered) == ("ingested", 2, 1)
    assert stored(tmp_store)["span_id"].to_list() == ["0000000000000001", "0000000000000002"]
    (letter,) = [json.loads(x) for x in Path(result.dead_letter_file).read_text().splitlines()]
    assert letter["position"] == "rest of the file"
    assert letter["reason"].startswith("request 2 at byte ")
    assert "is truncated" in letter["reason"]


def test_folders_are_walked(fixtures_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "b").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    for name in ("z.json", "b/a.pb", ".dot.json", ".hidden/x.json", "a.jsonl"):
        (folder / name).write_text("x")
    assert expand_paths([str(folder), "-", "file.pb"]) == [
        str(folder / "a.jsonl"),
        str(folder / "z.json"),
        str(folder / "b" / "a.pb"),
        "-",
        "file.pb",
    ]


def test_redaction_at_ingest(tmp_path: Path, tmp_store: Path, otlp: Any) -> None:
    attributes = {"gen_ai.prompt": "I am eve@example.com", "user.email": "eve@example.com"}
    path = tmp_path / "r.pb"
    path.write_bytes(otlp.request(otlp.span(attributes=attributes)).SerializeToString())
    ingestor = Ingestor(tmp_store, redaction=RedactionConfig(modes={"email": "mask"}), workers=1)
    ingestor.ingest([str(path)])
    ingestor.close()
    row = stored(tmp_store).row(0, named=True)
    assert row["input_text"] == "I am [REDACTED:email]"
    assert row["attributes"] == {
        "gen_ai.prompt": "I am [REDACTED:email]",
        "user.email": "eve@example.com",
    }
    (part,) = StoreLayout(tmp_store).span_files()
    assert b"I am eve@example.com" not in part.read_bytes()


def test_progress_adds_up_to_the_file_sizes(
    fixtures_dir: Path, tmp_path: Path, ingestor: Ingestor
) -> None:
    steps: list[int] = []
    names = ["otlp/trace.json", "otlp/trace.json.gz", "otlp/stream.pb", "phoenix/spans.csv"]
    paths = [str(fixtures_dir / n) for n in names]
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00garbage")
    ingestor.ingest([*paths, str(bad), paths[0]], progress=steps.append)
    sizes = [Path(p).stat().st_size for p in [*paths, str(bad), paths[0]]]
    assert sum(steps) == sum(sizes)
    assert all(step > 0 for step in steps)


def test_recover_runs_when_the_ingestor_opens(tmp_store: Path) -> None:
    folder = tmp_store / "spans" / "date=2025-01-01"
    folder.mkdir(parents=True)
    (folder / ".tmp-crashed.parquet").write_bytes(b"half written")
    Ingestor(tmp_store, workers=1).close()
    assert list(folder.iterdir()) == []


def test_parallel_decoding_gives_the_same_rows_as_inline(
    fixtures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, otlp: Any
) -> None:
    text = (fixtures_dir / "otlp/half_bad.jsonl").read_text()
    lines = (fixtures_dir / "otlp/collector.jsonl").read_text()
    path = tmp_path / "mixed.jsonl.gz"
    path.write_bytes(gzip.compress((text + lines * 3).encode()))
    # A truncated stream of ~1.1 kB requests: two per task, more tasks than workers.
    requests = [
        otlp.request(otlp.span(f"{i + 1:016x}", attributes={"pad": "x" * 1000})) for i in range(8)
    ]
    cut = tmp_path / "cut.pb"
    cut.write_bytes(otlp.stream(*requests)[:-10])
    monkeypatch.setattr(tasks, "TASK_BYTES", 2_000)  # several tasks per file
    pools: list[int] = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, workers: int, **options: Any) -> None:
            pools.append(workers)
            super().__init__(workers, **options)

    monkeypatch.setattr(workers_module, "ProcessPoolExecutor", CountedPool)

    def run(root: Path, parallel: bool) -> tuple[IngestReport, pl.DataFrame]:
        monkeypatch.setattr(ingest_module, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 40)
        ingestor = Ingestor(root, workers=2 if parallel else 1, today=TODAY)
        try:
            report = ingestor.ingest([str(path), str(fixtures_dir / "otlp/stream.pb"), str(cut)])
        finally:
            ingestor.close()
        return report, stored(root)

    inline_report, inline = run(tmp_path / "inline", parallel=False)
    assert pools == []
    parallel_report, parallel = run(tmp_path / "parallel", parallel=True)
    assert pools == [2]  # the workers really decoded
    assert inline.height == 5 + 12 + 2 + 7
    assert_frame_equal(parallel, inline)
    summary = [(f.spans, f.dead_lettered, f.skipped, f.traces) for f in inline_report.files]
    assert summary == [(17, 2, 6, 1), (2, 0, 0, 1), (7, 1, 0, 1)]
    assert [
        (f.spans, f.dead_lettered, f.skipped, f.traces) for f in parallel_report.files
    ] == summary
