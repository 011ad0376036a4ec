"""``pyflare tools sequences`` on the demo store: every tool call is counted once at length 1
(checked against DuckDB), longer sequences are fewer, and errors are exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from cli_support import invoke


def test_single_calls_match_duckdb(demo_store: Path) -> None:
    result = invoke("tools", "sequences", "--store", str(demo_store), "-k", "1", "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    files = str(demo_store / "spans" / "*" / "*.parquet")
    expected = duckdb.execute(
        f"""SELECT tool_name, count(*) FROM read_parquet('{files}')
            WHERE ai_kind = 'tool' AND start_time >= TIMESTAMPTZ '2026-11-13 12:00:00+00'
              AND start_time < TIMESTAMPTZ '2026-11-20 12:00:00+00' GROUP BY tool_name"""
    ).fetchall()
    assert {r["sequence"]: r["count"] for r in rows} == dict(expected)
    pairs = json.loads(
        invoke("tools", "sequences", "--store", str(demo_store), "-f", "json").stdout
    )
    assert pairs and all(" → " in r["sequence"] for r in pairs)
    assert sum(r["count"] for r in pairs) < sum(r["count"] for r in rows)


def test_unknown_agent_is_exit_2(demo_store: Path) -> None:
    result = invoke("tools", "sequences", "--store", str(demo_store), "--agent", "nobody")
    assert result.exit_code == 2 and "nobody" in result.stderr
