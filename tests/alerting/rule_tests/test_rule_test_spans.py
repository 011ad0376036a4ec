"""The input spans of rule tests: series, single spans, cycling lists, fixture files, errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pyflare_cli.alerting.rule_tests.spans import SPAN_SCHEMA, spans_from_spec
from pyflare_cli.alerting.rules.yaml_lines import load_yaml
from pyflare_cli.errors import UsageError

ROOT = Path(__file__).resolve().parents[3]
FIXTURE_TRACE = ROOT / "fixtures" / "otlp" / "trace.json"
START = datetime(2026, 1, 1, tzinfo=UTC)


def spec(text: str) -> list[object]:
    """YAML span items, read as a test file reads them (with their lines)."""
    items = load_yaml_text(text)
    assert isinstance(items, list)
    return items


def load_yaml_text(text: str) -> object:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(text)
    try:
        return load_yaml(Path(handle.name))
    finally:
        Path(handle.name).unlink()


def test_a_series_and_a_single_span() -> None:
    items = spec(
        """
- {from: 0m, to: 1m, every: 20s, count: 2, model: gpt-4o-mini, provider: openai, type: llm,
   service: rag-api, version: 1.2.0, name: chat, duration: 300ms, input_tokens: 100,
   output_tokens: [10, 20], cost: 0.002, user: u1, session: s1, environment: prod,
   attributes: {tenant: acme}, resource: {host: a}}
- {at: 90s, type: tool, tool: search, agent: bot, status: error, trace: abc,
   error: "TimeoutError: read timed out: after 30s"}
"""
    )
    spans = spans_from_spec(items, START, "t.yaml", Path("."))
    assert spans.schema == pl.Schema(SPAN_SCHEMA)
    assert spans.height == 7
    series, single = spans.head(6), spans.row(6, named=True)
    assert series.get_column("start_time").to_list() == [
        START + timedelta(seconds=s) for s in (0, 0, 20, 20, 40, 40)
    ]
    first = series.row(0, named=True)
    assert first["end_time"] - first["start_time"] == timedelta(milliseconds=300)
    assert first["duration_ns"] == 300_000_000
    assert (first["model"], first["request_model"], first["provider"]) == (
        "gpt-4o-mini",
        "gpt-4o-mini",
        "openai",
    )
    assert (first["service_name"], first["service_version"], first["name"]) == (
        "rag-api",
        "1.2.0",
        "chat",
    )
    assert (first["ai_kind"], first["status_code"], first["user_id"]) == ("llm", "unset", "u1")
    assert (first["session_id"], first["environment"]) == ("s1", "prod")
    assert series.get_column("output_tokens").to_list() == [10, 20] * 3
    assert series.get_column("total_tokens").to_list() == [110, 120] * 3
    assert series.get_column("cost_usd").to_list() == [0.002] * 6
    assert first["attributes"] == {"tenant": "acme"}
    assert first["resource_attributes"] == {"host": "a"}
    assert (first["kind"], first["events"], first["links"]) == ("internal", [], [])
    assert single["start_time"] == START + timedelta(seconds=90)
    assert single["duration_ns"] == 1_000_000_000  # the default
    assert (single["error_type"], single["error_message"]) == (
        "TimeoutError",
        "read timed out: after 30s",
    )
    assert (single["tool_name"], single["agent_name"], single["trace_id"]) == (
        "search",
        "bot",
        "abc",
    )
    ids = spans.get_column("span_id")
    assert ids.n_unique() == 7 and ids.str.len_chars().unique().to_list() == [16]
    assert series.get_column("trace_id").n_unique() == 6  # a trace per span by default
    assert series.get_column("trace_id").str.len_chars().unique().to_list() == [32]


def test_errors_imply_the_error_status_and_lists_cycle() -> None:
    items = spec(
        """
- {from: 0s, to: 40s, every: 10s, error: [null, "RateLimitError: slow down", "plain text"]}
- {from: 0s, to: 20s, every: 10s, status: [ok, error]}
"""
    )
    spans = spans_from_spec(items, START, "t.yaml", Path("."))
    first = spans.filter(pl.col("span_id") <= "0000000000000004").sort("span_id")
    assert first.get_column("status_code").to_list() == ["unset", "error", "error", "unset"]
    assert first.get_column("error_type").to_list() == [None, "RateLimitError", None, None]
    assert first.get_column("error_message").to_list() == [None, "slow down", "plain text", None]
    second = spans.filter(pl.col("span_id") > "0000000000000004").sort("span_id")
    assert second.get_column("status_code").to_list() == ["ok", "error"]


def test_offsets_may_be_negative_seconds_or_absolute() -> None:
    items = spec(
        """
- {at: -1h}
- {at: 90}
- {at: "2026-01-01T00:05:00Z"}
- {at: 2026-01-01T00:06:00+01:00}
"""
    )
    spans = spans_from_spec(items, START, "t.yaml", Path("."))
    assert spans.get_column("start_time").to_list() == [
        START - timedelta(hours=1),
        START - timedelta(minutes=54),
        START + timedelta(seconds=90),
        START + timedelta(minutes=5),
    ]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("{from: 5m, to: 1m, every: 1s}", "to \\(1m\\) must come after from \\(5m\\)"),
        ("{from: 0m, to: 1m}", "missing every"),
        ("{at: 1m, from: 0m}", "use either at, or from, to and every"),
        ("{at: 1m, count: 0}", "count must be a whole number >= 1"),
        ("{at: 1m, status: failed}", "status 'failed' is not one of unset, ok, error"),
        ("{at: 1m, input_tokens: -3}", "input_tokens must be a whole number >= 0"),
        ("{at: 1m, duration: []}", "duration is an empty list"),
        ("{at: 1m, attributes: [1]}", "attributes must be a mapping"),
        ("{at: soon}", "at 'soon' is not a duration"),
        ("{from: 0s, to: 1d, every: 1ms}", "more than 5000000"),
        ("{file: missing.json}", "span file .*missing.json does not exist"),
        ("{file: x.json, shift: 1m}", "unknown key 'shift'"),
        ("just text", "a span item must be a mapping"),
    ],
)
def test_bad_span_items(item: str, reason: str) -> None:
    items = spec(f"\n\n- {item}\n")
    with pytest.raises(UsageError, match=f"^t.yaml:3: spans\\[0\\]: .*{reason}"):
        spans_from_spec(items, START, "t.yaml", Path("."), line=3)


def test_ten_thousand_spans_build_fast() -> None:
    items = spec(
        "- {from: 0s, to: 10000s, every: 1s, model: m, duration: [100ms, 2s],"
        " status: [ok, ok, error]}"
    )
    started = time.perf_counter()
    spans = spans_from_spec(items, START, "t.yaml", Path("."))
    assert time.perf_counter() - started < 0.5
    assert spans.height == 10_000
    assert spans.get_column("status_code").value_counts().sort("status_code").rows() == [
        ("error", 3333),
        ("ok", 6667),
    ]


def test_spans_of_a_fixture_file_are_shifted_and_priced(tmp_path: Path) -> None:
    items = spec(f"- {{file: {FIXTURE_TRACE}, shift_to: 5m}}\n- {{file: {FIXTURE_TRACE}}}\n")
    spans = spans_from_spec(items, START, "t.yaml", tmp_path)
    assert spans.schema == pl.Schema(SPAN_SCHEMA)
    assert spans.height == 8
    times = spans.get_column("start_time")
    assert times.min() == START and times.filter(times >= START + timedelta(minutes=5)).min() == (
        START + timedelta(minutes=5)
    )
    llm = spans.filter(pl.col("ai_kind") == "llm")
    assert llm.height == 2 and (llm.get_column("cost_usd") > 0).all()
    assert (spans.get_column("end_time") >= spans.get_column("start_time")).all()


def test_the_same_items_give_the_same_spans_every_time() -> None:
    items = spec("- {from: 0m, to: 5m, every: 7s, model: [a, b, c]}\n- {at: 1m}\n")
    first = spans_from_spec(items, START, "t.yaml", Path("."))
    assert first.equals(spans_from_spec(items, START, "t.yaml", Path(".")))
