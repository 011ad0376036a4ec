"""The SQL rewriter of ``pyflare query``: accessors and ``now()`` outside literals only,
offsets of time literals, and the results on real frames."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from pyflare_cli.query.sql import rewrite, run_sql

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sql", "expected", "columns"),
    [
        ("SELECT attr('a.b') FROM spans", 'SELECT "attr:a.b" FROM spans', ["attr:a.b"]),
        ("SELECT attributes['a.b'] FROM spans", 'SELECT "attr:a.b" FROM spans', ["attr:a.b"]),
        ("SELECT ATTRIBUTES [ 'k' ] x", 'SELECT "attr:k" x', ["attr:k"]),
        ("SELECT map_get(attributes, 'k')", 'SELECT "attr:k"', ["attr:k"]),
        ("SELECT element_at(s.attributes, 'k')", 'SELECT s."attr:k"', ["attr:k"]),
        ("SELECT s.attributes['k'] FROM spans s", 'SELECT s."attr:k" FROM spans s', ["attr:k"]),
        (
            "SELECT resource_attr('cloud.region'), resource_attributes['host']",
            'SELECT "resource:cloud.region", "resource:host"',
            ["resource:cloud.region", "resource:host"],
        ),
        ("SELECT attr('it''s')", 'SELECT "attr:it\'s"', ["attr:it's"]),
        ("SELECT 'attr(''x'')', \"attr('y')\"", "SELECT 'attr(''x'')', \"attr('y')\"", []),
        ("SELECT 1 -- attr('x')\n", "SELECT 1 -- attr('x')\n", []),
        ("SELECT 1 /* now() */", "SELECT 1 /* now() */", []),
        ("SELECT myattr('x'), snow()", "SELECT myattr('x'), snow()", []),
        (
            "SELECT now(), CURRENT_TIMESTAMP",
            "SELECT TIMESTAMP '2026-11-20 12:00:00', TIMESTAMP '2026-11-20 12:00:00'",
            [],
        ),
        ("WHERE t > '2026-11-19 02:00+02:00'", "WHERE t > '2026-11-19 00:00:00'", []),
        (
            "WHERE t > TIMESTAMP '2026-11-19T00:30:00Z'",
            "WHERE t > TIMESTAMP '2026-11-19 00:30:00'",
            [],
        ),
        ("WHERE t > '2026-11-19'", "WHERE t > '2026-11-19'", []),
    ],
)
def test_rewrite(sql: str, expected: str, columns: list[str]) -> None:
    text, found = rewrite(sql, NOW)
    assert text == expected
    assert sorted(found) == sorted(columns)


def test_run_sql_reads_attributes_and_utc_times() -> None:
    spans = pl.LazyFrame(
        {
            "name": ["a", "b", "c"],
            "start_time": [
                datetime(2026, 11, 19, 23, tzinfo=UTC),
                datetime(2026, 11, 20, 1, tzinfo=UTC),
                datetime(2026, 11, 20, 11, 30, tzinfo=UTC),
            ],
            "attributes": [[("http.route", "/a")], [("http.route", "/b")], []],
        },
        schema={
            "name": pl.String,
            "start_time": pl.Datetime("ns", "UTC"),
            "attributes": pl.List(pl.Struct({"key": pl.String, "value": pl.String})),
        },
    ).with_columns(
        pl.col("attributes").cast(pl.Map(pl.String, pl.String)),
        pl.col("start_time").alias("end_time"),
    )
    frame = run_sql(
        spans,
        "SELECT name, attributes['http.route'] AS route, start_time FROM spans "
        "WHERE start_time >= '2026-11-20 02:00+02:00' AND start_time > now() - INTERVAL '1 day'"
        " ORDER BY name",
        NOW,
    )
    assert frame.get_column("name").to_list() == ["b", "c"]
    assert frame.get_column("route").to_list() == ["/b", None]
    assert frame.schema["start_time"] == pl.Datetime("ns", "UTC")
