"""``pyflare query`` with attributes, time literals and now(), checked against DuckDB on the
same Parquet; output paths that cannot be written are exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from cli_support import invoke


def _rows(store: Path, sql: str) -> list[dict[str, object]]:
    result = invoke("query", sql, "--store", str(store), "--format", "json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def _duck(store: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    files = str(store / "spans" / "*" / "*.parquet")
    con.execute(f"CREATE VIEW spans AS SELECT * FROM read_parquet('{files}')")
    return con.execute(sql).fetchall()


@pytest.mark.parametrize(
    "accessor",
    [
        "attributes['http.route']",
        "attr('http.route')",
        "map_get(attributes, 'http.route')",
        "element_at(attributes, 'http.route')",
    ],
)
def test_attributes_read_like_duckdb(demo_store: Path, accessor: str) -> None:
    rows = _rows(
        demo_store,
        f"SELECT {accessor} AS route, count(*) AS n FROM spans "
        f"WHERE {accessor} IS NOT NULL GROUP BY route ORDER BY n DESC, route",
    )
    expected = _duck(
        demo_store,
        "SELECT attributes['http.route'] AS route, count(*) AS n FROM spans "
        "WHERE attributes['http.route'] IS NOT NULL GROUP BY route ORDER BY n DESC, route",
    )
    assert len(expected) >= 2
    assert [(r["route"], r["n"]) for r in rows] == expected


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("TIMESTAMP '2026-11-19 00:00:00'", "TIMESTAMPTZ '2026-11-19 00:00:00+00'"),
        ("TIMESTAMP '2026-11-19 02:00:00+02:00'", "TIMESTAMPTZ '2026-11-19 00:00:00+00'"),
        ("'2026-11-18T06:30:00Z'", "TIMESTAMPTZ '2026-11-18 06:30:00+00'"),
        ("now() - INTERVAL '1 day'", "TIMESTAMPTZ '2026-11-19 12:00:00+00'"),
        ("current_timestamp - INTERVAL '36 hours'", "TIMESTAMPTZ '2026-11-19 00:00:00+00'"),
    ],
)
def test_time_literals_and_now_are_utc(demo_store: Path, ours: str, theirs: str) -> None:
    rows = _rows(demo_store, f"SELECT count(*) AS n FROM spans WHERE start_time > {ours}")
    (expected,) = _duck(demo_store, f"SELECT count(*) FROM spans WHERE start_time > {theirs}")
    assert rows[0]["n"] == expected[0] > 0


def test_result_times_stay_utc(demo_store: Path) -> None:
    rows = _rows(demo_store, "SELECT min(start_time) AS first, now() AS at FROM spans")
    assert str(rows[0]["at"]) == "2026-11-20T12:00:00Z"
    assert str(rows[0]["first"]).endswith("Z")


def test_a_map_compared_as_a_value_names_the_accessor(demo_store: Path) -> None:
    result = invoke("query", "SELECT * FROM spans WHERE attributes = 1", "--store", str(demo_store))
    assert result.exit_code == 2
    assert "attr('key')" in result.stderr


@pytest.mark.parametrize("name", ["missing/out.csv", "missing/out.parquet", "."])
def test_output_paths_that_cannot_be_written_are_exit_2(
    demo_store: Path, tmp_path: Path, name: str
) -> None:
    target = tmp_path / name
    result = invoke(
        "query", "SELECT 1 AS x FROM spans LIMIT 1", "--store", str(demo_store), "-o", str(target)
    )
    assert result.exit_code == 2, result.output
    assert "--output" in result.stderr and len(result.stderr.strip().splitlines()) == 1
