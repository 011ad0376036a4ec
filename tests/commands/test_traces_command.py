"""``pyflare traces`` and ``pyflare trace show`` on a real demo store."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import FIXTURE_TRACE, invoke


def test_traces_lists_one_row_per_trace(demo_store: Path) -> None:
    result = invoke("traces", "--store", str(demo_store), "--format", "json", "--limit", "500")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    ids = [row["trace_id"] for row in rows]
    assert len(ids) == len(set(ids)) > 100
    starts = [row["start_time"] for row in rows]
    assert starts == sorted(starts, reverse=True)
    assert set(rows[0]) >= {"root_service", "root_name", "duration_ns", "errors", "cost_usd"}


def test_traces_sort_and_where(demo_store: Path) -> None:
    result = invoke(
        "traces",
        "--store",
        str(demo_store),
        "--where",
        "status:error",
        "--sort",
        "duration",
        "--format",
        "json",
        "--limit",
        "50",
    )
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows and all(row["errors"] >= 1 for row in rows)
    durations = [row["duration_ns"] for row in rows]
    assert durations == sorted(durations, reverse=True)


def test_traces_cost_is_known_for_priced_models(demo_store: Path) -> None:
    result = invoke(
        "traces",
        "--store",
        str(demo_store),
        "--where",
        "model:gpt-4o*",
        "--sort",
        "cost",
        "--format",
        "json",
        "--limit",
        "5",
    )
    rows = json.loads(result.stdout)
    assert rows[0]["cost_usd"] > 0


def test_traces_since_uses_now(demo_store: Path) -> None:
    everything = json.loads(
        invoke("traces", "--store", str(demo_store), "--format", "json", "--limit", "100000").stdout
    )
    recent = json.loads(
        invoke(
            "traces",
            "--store",
            str(demo_store),
            "--since",
            "6h",
            "--format",
            "json",
            "--limit",
            "100000",
        ).stdout
    )
    assert 0 < len(recent) < len(everything)
    assert all(row["start_time"] >= "2026-11-20T06:00:00" for row in recent)


def test_traces_table_and_markdown(demo_store: Path) -> None:
    table = invoke("traces", "--store", str(demo_store), "--limit", "3")
    assert table.exit_code == 0 and "root" in table.stdout and "duration" in table.stdout
    markdown = invoke("traces", "--store", str(demo_store), "--limit", "3", "--format", "markdown")
    assert markdown.stdout.startswith("| trace_id |") or markdown.stdout.startswith("| ")
    assert markdown.stdout.count("\n") == 5


def test_traces_errors(demo_store: Path) -> None:
    bad_sort = invoke("traces", "--store", str(demo_store), "--sort", "size")
    assert bad_sort.exit_code == 2 and "--sort 'size'" in bad_sort.stderr
    bad_query = invoke("traces", "--store", str(demo_store), "--where", "modle:x")
    assert bad_query.exit_code == 2
    assert "unknown field 'modle' at 1:1; did you mean 'model'?" in bad_query.stderr
    bad_since = invoke("traces", "--store", str(demo_store), "--since", "yesterday-ish")
    assert bad_since.exit_code == 2 and "yesterday-ish" in bad_since.stderr


def test_traces_on_an_empty_store(tmp_path: Path) -> None:
    result = invoke("traces", "--store", str(tmp_path))
    assert result.exit_code == 0 and "no traces match" in result.stdout


def test_trace_show_by_prefix_draws_waterfall_and_breakdown(demo_store: Path) -> None:
    result = invoke("trace", "show", FIXTURE_TRACE[:8], "--store", str(demo_store))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"trace {FIXTURE_TRACE}" in out
    assert "POST /chat" in out and "execute_tool get_order" in out
    assert "◆" in out and "✖" in out and "[orphan]" in out
    assert "per service" in out and "per operation" in out


def test_trace_show_json_gives_the_spans(demo_store: Path) -> None:
    result = invoke("trace", "show", FIXTURE_TRACE, "--store", str(demo_store), "--format", "json")
    spans = json.loads(result.stdout)
    assert len(spans) == 4
    assert {s["span_id"] for s in spans} >= {"eee19b7ec3c1b174", "eee19b7ec3c1b177"}


def test_trace_show_unknown_and_ambiguous(demo_store: Path) -> None:
    missing = invoke("trace", "show", "ffffffffffffffff", "--store", str(demo_store))
    assert missing.exit_code == 2 and "no trace id starts with" in missing.stderr
    ambiguous = invoke("trace", "show", "", "--store", str(demo_store))
    assert ambiguous.exit_code == 2 and "type more" in ambiguous.stderr
