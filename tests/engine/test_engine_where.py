"""``--where`` on the SQL engines: the search language compiled to SQL selects the same
spans as the Polars compiler, quotes every string safely, and refuses what it cannot run.

The span-level cases run the compiled predicate straight on each engine over the 20k-span
demo store (every field kind, globs, ranges, negation, trace-level fields); the command
cases run ``cost --where`` end to end; the injection cases use a small store whose names,
attribute keys and values hold quotes, backslashes and ``; DROP``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from cli_support import invoke
from test_engine_cost_equivalence import run, same

from pyflare_cli.analysis.search.compile import filter_spans
from pyflare_cli.engine.base import SqlEngine
from pyflare_cli.engine.clickhouse_engine import ChdbRunner, ClickHouseEngine, ClickHouseSource
from pyflare_cli.engine.duckdb_engine import DuckDBEngine
from pyflare_cli.engine.search_sql import columns_of, matching, prepare
from pyflare_cli.store.scan import scan_spans
from tests.conftest import canonical_spans, commit_spans

QUERIES = (
    "model:gpt-4o*",
    "service:rag-api",
    "-service:RAG-API",
    "service:chat-*",
    "status:error",
    "status:unset",
    "-status:ok",
    "kind:server",
    "duration:>1.5s",
    "duration:100ms..2s",
    "tokens:>1k",
    "input_tokens:<=100",
    "output_tokens:..200",
    "error:true",
    "error:false",
    "error:timeout",
    "timeout",
    "type:llm AND provider:openai",
    "type:llm OR type:tool",
    "NOT (service:rag-api OR service:agent-runtime)",
    "trace.spans:>20",
    "trace.errors:>=1",
    "trace.duration:>5s",
    "trace.service:chat*",
    "has:tool",
    "-has:model",
    "has:attr.gen_ai.request.model",
    "has:resource.service.name",
    "parent:none",
    "trace:a*",
    "trace:0",
    "attr.gen_ai.request.model:gpt*",
    "attr.gen_ai.request.model:a..m",
    "attr.server.port:>=443",
    "attr.server.port:443",
    "since:2d",
    "until:5d since:8d",
    "user:u*",
    "env:prod version:3*",
    "name:execute_tool?search_docs",
    'name:"chat gpt-4o"',
    "span:*0",
    "finish_reason:stop",
    "scope:*openai*",
)
"""Every field kind of docs/search.md, on values the demo store holds."""


def engines(root: Path) -> list[SqlEngine]:
    return [DuckDBEngine(root), ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=root))]


def ids_polars(root: Path, query: str, now: datetime) -> list[str]:
    spans = filter_spans(scan_spans(root, None, None), query, now)
    return sorted(spans.select("span_id").collect().get_column("span_id").to_list())


def ids_sql(engine: SqlEngine, query: str, now: datetime) -> list[str]:
    where = prepare(engine, query, now)
    relation = engine.spans(None, None, sorted({*where.columns, "span_id", "trace_id"}))
    sql = f"SELECT span_id FROM ({matching(relation, where.predicate)}) AS m"
    (found,) = engine.collect_all([sql])
    return sorted(found.get_column("span_id").to_list())


def test_every_field_kind_selects_the_same_spans(store20k: Path) -> None:
    now = datetime.now(UTC)
    found = [e for e in engines(store20k)]
    matched = 0
    try:
        for query in QUERIES:
            want = ids_polars(store20k, query, now)
            matched += bool(want)
            for engine in found:
                assert ids_sql(engine, query, now) == want, f"{engine.name}: {query}"
    finally:
        for engine in found:
            engine.close()
    assert matched >= len(QUERIES) - 2, "most queries must select something to compare"


def test_a_different_predicate_is_caught(store20k: Path) -> None:
    """The comparison can fail: a query that differs in one term selects other spans."""
    now = datetime.now(UTC)
    engine = DuckDBEngine(store20k)
    try:
        assert ids_sql(engine, "duration:>1.5s", now) != ids_polars(store20k, "duration:>1s", now)
    finally:
        engine.close()


HOSTILE = (
    "it's",
    "a\\b",
    "x'; DROP TABLE spans; --",
    "back\\'slash",
    'say "hi"',
    "50%_off",
    "tab\there",
    "line\nbreak",
    "ünïcödé ÄÖ",
)
"""Span names and attribute values that break a naively quoted SQL string."""


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "store"
    start = datetime(2026, 11, 20, 12, tzinfo=UTC)
    rows = [
        {
            "span_id": f"s{i}",
            "start_time": start + timedelta(seconds=i),
            "name": name,
            "attributes": {"k'ey": name, "plain": name},
        }
        for i, name in enumerate(HOSTILE)
    ]
    commit_spans(root, canonical_spans(rows), "hostile")
    return root


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("name", HOSTILE)
def test_strings_are_quoted_safely(hostile_store: Path, name: str) -> None:
    """Each hostile name, as a value, a glob and an attribute (with a quote in the key),
    finds exactly its own span on every engine, as on Polars."""
    now = datetime(2026, 11, 21, tzinfo=UTC)
    queries = [
        f"name:{_quoted(name)}",
        f"name:{_quoted(name)}*",
        f"attr.plain:{_quoted(name)}",
        f"attr.k'ey:{_quoted(name)}",
        f"error:{_quoted(name)} OR name:{_quoted(name)}",
        _quoted(name),
    ]
    for engine in engines(hostile_store):
        try:
            for query in queries:
                want = ids_polars(hostile_store, query, now)
                assert want, query
                assert ids_sql(engine, query, now) == want, f"{engine.name}: {query!r}"
            # The store is still whole: every span is still there.
            assert len(ids_sql(engine, "", now)) == len(HOSTILE)
        finally:
            engine.close()


WHERE_CASES = {
    "by model, a model glob": [
        *("cost", "--by", "model", "--since", "10d", "--where", "model:gpt-4o*"),
    ],
    "by service, errors in the trace": [
        *("cost", "--by", "service", "--since", "10d"),
        *("--where", "trace.errors:>=1 -provider:openai"),
    ],
    "by model per day, priced fields": [
        *("cost", "--by", "model", "--every", "day", "--since", "10d"),
        *("--where", "cost:>0.001 OR tokens:>2k"),
    ],
    "top traces, trace cost": [
        *("cost", "top", "--since", "10d", "-n", "6", "--where", "trace.cost:>0.01"),
    ],
    "top calls, an attribute": [
        *("cost", "top", "--spans", "--since", "10d", "-n", "6"),
        *("--where", "attr.gen_ai.request.model:gpt*"),
    ],
    "forecast, a service": [
        *("cost", "forecast", "--since", "10d", "--days", "3", "--where", "service:rag-api"),
    ],
}


def _reference(store: Path, case: str) -> object:
    found = run(WHERE_CASES[case], "--store", str(store))
    rows = found if isinstance(found, list) else found.get("rows", found.get("daily"))
    assert rows, f"{case}: the reference found nothing; the comparison would be empty"
    return found


@pytest.mark.parametrize("case", WHERE_CASES)
def test_cost_where_matches_polars(store20k: Path, case: str) -> None:
    want = _reference(store20k, case)
    for engine in ("duckdb", "clickhouse"):
        got = run(WHERE_CASES[case], "--store", str(store20k), "--engine", engine)
        same(got, want, f"{engine}: {case}")


def test_cost_where_over_otel_traces(store20k: Path, otel_session: Path) -> None:
    case = "by service, errors in the trace"
    got = run(WHERE_CASES[case], "--store", f"chdb://{otel_session}?table=otel_traces")
    same(got, _reference(store20k, case), case)


@pytest.mark.spark
@pytest.mark.parametrize("case", ["by model per day, priced fields", "top traces, trace cost"])
def test_cost_where_on_spark_connect(store20k: Path, spark_connect: str, case: str) -> None:
    args = ("--store", str(store20k), "--engine", "spark", "--spark-master", spark_connect)
    same(run(WHERE_CASES[case], *args), _reference(store20k, case), case)


@pytest.mark.spark
def test_every_field_kind_on_spark_connect(store20k: Path, spark_connect: str) -> None:
    from pyflare_cli.engine.spark_engine import SparkEngine

    now = datetime.now(UTC)
    engine = SparkEngine(store20k, spark_connect)
    try:
        for query in QUERIES:
            assert ids_sql(engine, query, now) == ids_polars(store20k, query, now), query
    finally:
        engine.close()


def _refusal(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_what_sql_cannot_run_is_exit_2_naming_the_term(store20k: Path, otel_session: Path) -> None:
    line = _refusal(
        *("cost", "--since", "10d", "--store", str(store20k), "--engine", "duckdb"),
        *("--where", "model:gpt-4o eval.faithfulness:<0.5"),
    )
    assert "--where term 'eval.faithfulness'" in line and "--engine duckdb" in line
    line = _refusal(
        *("cost", "--since", "10d", "--store", f"chdb://{otel_session}?table=otel_traces"),
        *("--where", "service:rag-api timeout"),
    )
    assert "--where term 'timeout'" in line and "otel_traces" in line


def test_a_bad_query_is_exit_2_before_any_engine_work(store20k: Path) -> None:
    line = _refusal(
        *("cost", "--since", "10d", "--store", str(store20k), "--engine", "duckdb"),
        *("--where", "modle:gpt-4o"),
    )
    assert "unknown field 'modle'" in line


def test_columns_of_names_what_a_query_reads() -> None:
    assert columns_of("model:a trace.errors:>1 attr.x:1") == {
        "model",
        "request_model",
        "status_code",
        "trace_id",
        "attributes",
    }
    assert "cost_usd" in columns_of("trace.cost:>1")


def test_polars_and_sql_agree_on_a_frame_of_nulls(tmp_path: Path) -> None:
    """A span with no service, status or model never matches a term, so it matches its
    negation, on every engine."""
    root = tmp_path / "store"
    start = datetime(2026, 11, 20, 12, tzinfo=UTC)
    frame = canonical_spans(
        [{"span_id": "a", "start_time": start, "service_name": None, "status_code": None}]
    ).with_columns(pl.lit(None, pl.String).alias("name"))
    commit_spans(root, frame, "nulls")
    now = start + timedelta(hours=1)
    for engine in engines(root):
        try:
            for query in ("-service:x", "-status:ok", "-model:*", "-name:op", "-trace.service:x"):
                assert ids_sql(engine, query, now) == ids_polars(root, query, now) == ["a"], query
        finally:
            engine.close()


def test_unpriced_traces_and_huge_numbers_as_on_polars(tmp_path: Path) -> None:
    """A trace without a priced span has trace.cost 0 on Polars (its sum of no values), so
    trace.cost:<1 finds it on every engine; a number past the float range is inf, which SQL
    must read as a value, not as a column named inf."""
    root = tmp_path / "store"
    start = datetime(2026, 11, 20, 12, tzinfo=UTC)
    spans = [
        {"trace_id": "t1", "span_id": "a", "start_time": start, "name": "http GET"},
        {"trace_id": "t1", "span_id": "b", "start_time": start, "attributes": {"port": "443"}},
    ]
    commit_spans(root, canonical_spans(spans), "unpriced")
    args = ("--store", str(root), "--since", "30d", "--until", "2026-11-21")
    queries = ("trace.cost:<1", "trace.cost:0", "name:http* trace.cost:..0.5", "attr.port:<1e999")
    for query in queries:
        want = run(["traces", "--where", query], *args)
        assert [t["trace_id"] for t in want] == ["t1"], query
        for engine in ("duckdb", "clickhouse"):
            got = run(["traces", "--where", query], *args, "--engine", engine)
            same(got, want, f"{engine}: {query}")
