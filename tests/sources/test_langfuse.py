"""Langfuse's own exports: the public API's pages, one trace, JSON Lines, the SQLite copy.

The fixtures in ``fixtures/langfuse/`` are written in the shapes of Langfuse's public API
(``fern/apis/server/definition`` of langfuse/langfuse; the ``langfuse`` SDK's models):
``observations_page.json``, ``traces_page.json`` and ``scores_page.json`` are pages of
``GET /api/public/{observations,traces,scores}``; ``trace_full.json`` is
``GET /api/public/traces/{id}`` (observations and scores inlined); ``observations.jsonl``
an observation export; ``langfuse_export.sql`` builds the SQLite database of the design.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pyflare_cli.analysis.eval.scores import scores_in_spans
from pyflare_cli.sources.decoding import decode
from pyflare_cli.sources.langfuse_shapes import hex_id
from pyflare_cli.sources.opening import Format, sniff
from pyflare_cli.sources.tasks import split

TRACE = "6f1c0a52-8a3e-4b7e-9d1b-2f3c4d5e6a7b"
TRACE_HEX = TRACE.replace("-", "")


def _read(path: Path, fmt: Format) -> tuple[pl.DataFrame, list[Any]]:
    assert sniff(path) is fmt
    decoded = [decode(task) for task in split(path, fmt, path.name)]
    dead = [letter for d in decoded for letter in d.dead]
    return pl.concat([d.spans for d in decoded]), dead


def _by_name(spans: pl.DataFrame) -> dict[str, dict[str, Any]]:
    rows = spans.to_dicts()
    assert len({r["name"] for r in rows}) == len(rows)
    return {r["name"]: r for r in rows}


def _sqlite(fixtures_dir: Path, tmp_path: Path) -> Path:
    database = tmp_path / "langfuse.db"
    connection = sqlite3.connect(database)
    connection.executescript((fixtures_dir / "langfuse" / "langfuse_export.sql").read_text())
    connection.commit()
    connection.close()
    return database


def test_ids_map_to_stable_hex() -> None:
    assert hex_id(TRACE, 32) == TRACE_HEX
    assert hex_id("0af7651916cd43dd8448eb211c80319c", 32) == "0af7651916cd43dd8448eb211c80319c"
    assert hex_id("B7AD6B7169203331", 16) == "b7ad6b7169203331"
    mapped = hex_id("obs-gen-1", 16)
    assert mapped == hex_id("obs-gen-1", 16) and len(mapped) == 16
    assert int(mapped, 16) >= 0 and mapped != hex_id("obs-gen-2", 16)


def test_observations_page(fixtures_dir: Path) -> None:
    spans, dead = _read(fixtures_dir / "langfuse" / "observations_page.json", Format.LANGFUSE_JSON)
    assert dead == []
    by = _by_name(spans)
    agent, chat, event, failed = (
        by[n] for n in ("support-agent", "OpenAI-generation", "cache-hit", "Anthropic-generation")
    )
    assert set(spans["trace_id"]) == {TRACE_HEX}
    # parentObservationId -> parent; non-hex ids map to hex, the originals are kept.
    assert agent["parent_span_id"] is None
    assert {chat["parent_span_id"], event["parent_span_id"], failed["parent_span_id"]} == {
        agent["span_id"]
    }
    assert chat["span_id"] == hex_id("obs-gen-1", 16)
    assert chat["attributes"]["langfuse.observation.id"] == "obs-gen-1"
    assert chat["attributes"]["langfuse.trace.id"] == TRACE
    # GENERATION -> llm, SPAN -> chain, EVENT -> zero-length with no kind.
    assert (chat["ai_kind"], agent["ai_kind"], event["ai_kind"]) == ("llm", "chain", None)
    assert event["duration_ns"] == 0 and agent["duration_ns"] == 2_500_000_000
    # Langfuse's input leaves the cached tokens out; the canonical input counts them.
    assert (chat["input_tokens"], chat["cache_read_tokens"], chat["output_tokens"]) == (
        1200,
        1000,
        40,
    )
    assert chat["reported_cost_usd"] == pytest.approx(0.000109)
    assert chat["model"] == "gpt-4o-mini" and chat["finish_reason"] == "stop"
    assert chat["input_text"] == "You are a support agent.\nWhere is my order ORD-42?"
    assert chat["output_text"] == "Let me look that order up."
    # A SPAN's all-zero usage is no usage.
    assert agent["input_tokens"] is None and agent["reported_cost_usd"] is None
    assert agent["agent_name"] == "support"
    # Level ERROR is an error with its status message.
    assert failed["status_code"] == "error"
    assert failed["error_message"] == "Error code: 529 - overloaded_error"
    assert chat["status_code"] == "unset"


def test_traces_fill_user_session_and_agent_of_their_observations(fixtures_dir: Path) -> None:
    spans, dead = _read(fixtures_dir / "langfuse" / "trace_full.json", Format.LANGFUSE_JSON)
    assert dead == []
    llm = spans.filter(pl.col("ai_kind") == "llm")
    assert llm.height == 2
    assert set(llm["user_id"]) == {"user-7"} and set(llm["session_id"]) == {"session-9"}
    assert set(llm["agent_name"]) == {"support"}
    assert set(llm["service_version"]) == {"v1.4.2"}
    assert set(llm["environment"]) == {"production"}
    assert json.loads(llm["attributes"][0]["langfuse.trace.tags"]) == ["prod", "support"]
    # The trace itself is not a span when its observations are there.
    assert spans.filter(pl.col("ai_kind").ne_missing("evaluator")).height == 4


def test_scores_grade_the_observation_or_trace_they_score(fixtures_dir: Path) -> None:
    spans, _ = _read(fixtures_dir / "langfuse" / "trace_full.json", Format.LANGFUSE_JSON)
    scores = scores_in_spans(spans.lazy()).collect().sort("evaluator")
    assert scores["evaluator"].to_list() == ["helpfulness", "user-feedback"]
    helpful, feedback = scores.to_dicts()
    assert helpful["span_id"] == hex_id("obs-gen-1", 16) and helpful["trace_id"] == TRACE_HEX
    assert helpful["score"] == pytest.approx(0.8)
    assert helpful["explanation"] == "Answers the question directly."
    assert feedback["label"] == "thumbs-up" and feedback["score"] is None
    assert feedback["trace_id"] == TRACE_HEX
    # The same scores from the scores page alone land on the same ids.
    alone, dead = _read(fixtures_dir / "langfuse" / "scores_page.json", Format.LANGFUSE_JSON)
    assert dead == []
    again = scores_in_spans(alone.lazy()).collect().sort("evaluator")
    assert again.select("trace_id", "span_id", "score", "label").equals(
        scores.select("trace_id", "span_id", "score", "label")
    )


def test_a_trace_without_observations_is_one_span(fixtures_dir: Path) -> None:
    spans, dead = _read(fixtures_dir / "langfuse" / "traces_page.json", Format.LANGFUSE_JSON)
    assert dead == []
    by = _by_name(spans)
    assert set(by) == {"support-request", "healthcheck"}
    health = by["healthcheck"]
    assert health["user_id"] == "user-8" and health["duration_ns"] == 50_000_000
    assert health["trace_id"] == hex_id("trace-no-observations", 32)
    assert by["support-request"]["trace_id"] == TRACE_HEX


def test_json_lines_export_matches_the_page(fixtures_dir: Path) -> None:
    lines, dead = _read(fixtures_dir / "langfuse" / "observations.jsonl", Format.LANGFUSE_JSONL)
    assert dead == []
    page, _ = _read(fixtures_dir / "langfuse" / "observations_page.json", Format.LANGFUSE_JSON)
    columns = ["span_id", "parent_span_id", "ai_kind", "model", "input_tokens", "status_code"]
    assert lines.select(columns).sort("span_id").equals(page.select(columns).sort("span_id"))
    # The export carries the trace's user and session on each observation.
    assert set(lines["user_id"]) == {"user-7"} and set(lines["session_id"]) == {"session-9"}


def test_sqlite_database(fixtures_dir: Path, tmp_path: Path) -> None:
    spans, dead = _read(_sqlite(fixtures_dir, tmp_path), Format.LANGFUSE_SQLITE)
    assert dead == []
    rows = {r["attributes"]["langfuse.observation.id"]: r for r in spans.to_dicts()}
    assert set(rows) == {"gen-1", "gen-2", "sp-1", "sp-2"}
    gen, failed, retrieve = rows["gen-1"], rows["gen-2"], rows["sp-1"]
    assert (gen["ai_kind"], gen["model"], gen["input_tokens"], gen["output_tokens"]) == (
        "llm",
        "gpt-4o",
        1000,
        200,
    )
    assert gen["reported_cost_usd"] == pytest.approx(0.0045)
    assert gen["parent_span_id"] == retrieve["span_id"]
    assert gen["trace_id"] == hex_id("tr-1", 32)
    assert (gen["user_id"], gen["session_id"], gen["agent_name"]) == (
        "user-1",
        "sess-1",
        "researcher",
    )
    assert gen["service_version"] == "2026.12.1"
    assert gen["input_text"] == "What is the capital of France?" and gen["output_text"] == "Paris."
    # No end time: start + latency_ms.
    assert failed["duration_ns"] == 120_000_000
    assert failed["status_code"] == "error"
    assert failed["error_message"] == "context length exceeded"
    assert rows["sp-2"]["status_code"] == "unset"  # WARNING is not an error


def test_a_bad_record_is_one_dead_letter(tmp_path: Path, fixtures_dir: Path) -> None:
    page = json.loads((fixtures_dir / "langfuse" / "observations_page.json").read_text())
    page["data"][1]["startTime"] = "yesterday"
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=1))
    spans, dead = _read(path, Format.LANGFUSE_JSON)
    assert spans.height == 3
    assert len(dead) == 1 and "startTime" in dead[0].reason and "[1]" in dead[0].position


@pytest.mark.parametrize("compact", [True, False])
def test_other_json_keeps_its_format(tmp_path: Path, fixtures_dir: Path, compact: bool) -> None:
    otlp = json.loads((fixtures_dir / "otlp" / "trace.json").read_text())
    path = tmp_path / "otlp.json"
    path.write_text(json.dumps(otlp, indent=None if compact else 2))
    assert sniff(path) in (Format.OTLP_JSON, Format.OTLP_JSONL)


def test_pyflare_ingest_reads_every_langfuse_export(fixtures_dir: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "commands"))
    from cli_support import invoke

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("observations_page.json", "traces_page.json", "scores_page.json"):
        (inputs / name).write_bytes((fixtures_dir / "langfuse" / name).read_bytes())
    (inputs / "langfuse.db").write_bytes(_sqlite(fixtures_dir, tmp_path).read_bytes())
    store = tmp_path / "store"
    result = invoke("ingest", str(inputs), "--store", str(store), "-f", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["spans"] == 4 + 2 + 2 + 4
    formats = {Path(d["path"]).name: d.get("format") for d in summary["details"]}
    assert formats["langfuse.db"] == "langfuse-sqlite", formats


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("trace_full.json", Format.LANGFUSE_JSON), ("observations.jsonl", Format.LANGFUSE_JSONL)],
)
def test_chunks_give_the_same_spans(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str, fmt: Format
) -> None:
    from pyflare_cli.sources import langfuse

    whole, _ = _read(fixtures_dir / "langfuse" / name, fmt)
    monkeypatch.setattr(langfuse, "CHUNK", 1)
    chunked, dead = _read(fixtures_dir / "langfuse" / name, fmt)
    assert dead == []
    assert chunked.sort("span_id").equals(whole.sort("span_id"))


def test_traces_after_their_observations_in_json_lines_still_fill_them(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    traces = json.loads((fixtures_dir / "langfuse" / "traces_page.json").read_text())["data"]
    observations = json.loads((fixtures_dir / "langfuse" / "observations_page.json").read_text())
    path = tmp_path / "export.jsonl"
    lines = [json.dumps(o) for o in observations["data"]] + [json.dumps(t) for t in traces]
    path.write_text("\n".join(lines) + "\n")
    spans, dead = _read(path, Format.LANGFUSE_JSONL)
    assert dead == []
    llm = spans.filter(pl.col("ai_kind") == "llm")
    assert set(llm["agent_name"]) == {"support"} and set(llm["user_id"]) == {"user-7"}
    # Only the trace without observations is a span of its own.
    assert set(spans["name"]) - set(llm["name"]) == {"support-agent", "cache-hit", "healthcheck"}


def test_one_foreign_item_in_a_page_is_one_dead_letter(fixtures_dir: Path, tmp_path: Path) -> None:
    page = json.loads((fixtures_dir / "langfuse" / "observations_page.json").read_text())
    page["data"].insert(2, {"hello": "world"})
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=1))
    spans, dead = _read(path, Format.LANGFUSE_JSON)
    assert spans.height == 4
    assert [d.position for d in dead] == ["document data [2]"]


def test_a_foreign_line_is_a_dead_letter(fixtures_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    text = (fixtures_dir / "langfuse" / "observations.jsonl").read_text()
    path.write_text(text + '{"hello": "world"}\n')
    spans, dead = _read(path, Format.LANGFUSE_JSONL)
    assert spans.height == 4
    assert [d.position for d in dead] == ["line 5"]


def test_v3_scores_name_their_subject(fixtures_dir: Path, tmp_path: Path) -> None:
    # GET /api/public/v3/scores: the scored entity is a "subject" (langfuse SDK's ScoreV3).
    common = {"source": "API", "environment": "production", "projectId": "p1"}
    when = {"timestamp": "2026-12-01T10:05:00Z", "createdAt": "2026-12-01T10:05:00Z"}
    page = {
        "data": [
            {
                **common,
                **when,
                "id": "s1",
                "name": "helpfulness",
                "dataType": "NUMERIC",
                "value": 0.8,
                "subject": {"kind": "observation", "id": "obs-gen-1", "traceId": TRACE},
            },
            {
                **common,
                **when,
                "id": "s2",
                "name": "resolved",
                "dataType": "BOOLEAN",
                "value": True,
                "subject": {"kind": "trace", "id": TRACE},
            },
            {
                **common,
                **when,
                "id": "s3",
                "name": "mood",
                "dataType": "CATEGORICAL",
                "value": "calm",
                "subject": {"kind": "session", "id": "session-9"},
            },
        ],
        "meta": {"cursor": None},
    }
    path = tmp_path / "scores_v3.json"
    path.write_text(json.dumps(page))
    spans, dead = _read(path, Format.LANGFUSE_JSON)
    assert [d.position for d in dead] == ["document data [2]"]
    assert "session" in dead[0].reason
    scores = scores_in_spans(spans.lazy()).collect().sort("evaluator")
    helpful, resolved = scores.to_dicts()
    assert (helpful["trace_id"], helpful["span_id"]) == (TRACE_HEX, hex_id("obs-gen-1", 16))
    assert helpful["score"] == pytest.approx(0.8)
    assert resolved["trace_id"] == TRACE_HEX and resolved["score"] == 1.0
