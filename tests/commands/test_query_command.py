"""``pyflare query``: read-only SQL over the store."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from cli_support import invoke


def test_query_aggregates(demo_store: Path) -> None:
    sql = "SELECT service_name, count(*) AS n FROM spans GROUP BY service_name ORDER BY n DESC"
    result = invoke("query", sql, "--store", str(demo_store), "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["service_name"] for r in rows} >= {"agent-runtime", "rag-api", "chat-gateway"}
    assert [r["n"] for r in rows] == sorted((r["n"] for r in rows), reverse=True)


def test_query_cost_column_and_limit(demo_store: Path) -> None:
    sql = "SELECT model, cost_usd FROM spans WHERE cost_usd IS NOT NULL"
    rows = json.loads(
        invoke("query", sql, "--store", str(demo_store), "--format", "json", "--limit", "3").stdout
    )
    assert len(rows) == 3 and all(r["cost_usd"] > 0 for r in rows)


def test_query_writes_parquet_and_csv(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "llm.parquet"
    sql = "SELECT trace_id, model FROM spans WHERE ai_kind = 'llm'"
    result = invoke("query", sql, "--store", str(demo_store), "--output", str(out))
    assert result.exit_code == 0
    assert pl.read_parquet(out).columns == ["trace_id", "model"]
    csv = invoke("query", "SELECT 1 AS one", "--store", str(demo_store), "--format", "csv")
    assert csv.stdout == "one\n1\n"


def test_query_refuses_writes_and_bad_sql(demo_store: Path) -> None:
    for sql in ("DROP TABLE spans", "SELECT 1; SELECT 2", "CREATE TABLE x AS SELECT 1"):
        result = invoke("query", sql, "--store", str(demo_store))
        assert result.exit_code == 2, sql
        assert "read-only" in result.stderr
    bad = invoke("query", "SELECT nope FROM spans", "--store", str(demo_store))
    assert bad.exit_code == 2 and bad.stderr.startswith("error: SQL error:")
    assert bad.stderr.count("\n") == 1


def test_a_semicolon_inside_a_literal_name_or_comment_is_text(demo_store: Path) -> None:
    """Only a ``;`` between statements is refused; one trailing ``;`` is fine."""
    cases = {
        "SELECT 'a;b' AS s FROM spans LIMIT 1": {"s": "a;b"},
        "SELECT name AS \"x;y\" FROM spans WHERE name = 'chat;completion' LIMIT 1": None,
        "SELECT 'it''s; fine' AS s -- a comment; with a semicolon\n;": {"s": "it's; fine"},
        "SELECT 1 AS one /* ; */ ;  -- done;": {"one": 1},
    }
    for sql, row in cases.items():
        result = invoke("query", sql, "--store", str(demo_store), "--format", "json")
        assert result.exit_code == 0, (sql, result.output)
        rows = json.loads(result.stdout)
        assert rows == ([] if row is None else [row]), sql
    for sql in (
        "SELECT 'a;b' AS s; DROP TABLE spans",
        "SELECT 1 AS one;; SELECT 2",
        "SELECT 1 AS one; /* ; */ SELECT 2",
        "/* only a comment */ ;",
        ";",
    ):
        refused = invoke("query", sql, "--store", str(demo_store))
        assert refused.exit_code == 2, sql
        assert "one read-only SELECT" in refused.stderr, sql


def test_query_parquet_needs_output(demo_store: Path) -> None:
    result = invoke("query", "SELECT 1", "--store", str(demo_store), "--format", "parquet")
    assert result.exit_code == 2 and "--output" in result.stderr
