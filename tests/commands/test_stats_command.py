"""``pyflare stats`` on the demo store, checked against DuckDB and NumPy on the same Parquet:
counts, error rates, exact percentiles, tokens, the previous window; the gate's exit codes;
formats, the heatmap and its time zone; errors."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from cli_support import invoke

SINCE, UNTIL = "2026-11-13 12:00:00+00", "2026-11-20 12:00:00+00"
BEFORE = "2026-11-06 12:00:00+00"
LLM = "(ai_kind IN ('llm', 'embedding') OR (ai_kind IS NULL AND model IS NOT NULL))"
QS = (0.5, 0.9, 0.95, 0.99)


def _stats(store: Path, *args: str) -> dict[str, Any]:
    result = invoke("stats", "--store", str(store), "--format", "json", "--limit", "0", *args)
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def _db(store: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    files = str(store / "spans" / "*" / "*.parquet")
    con.execute(f"CREATE VIEW spans AS SELECT * FROM read_parquet('{files}')")
    return con


def _window(since: str = SINCE, until: str = UNTIL) -> str:
    return f"start_time >= TIMESTAMPTZ '{since}' AND start_time < TIMESTAMPTZ '{until}'"


def test_by_model_matches_duckdb_and_numpy(demo_store: Path) -> None:
    rows = {row["model"]: row for row in _stats(demo_store, "--by", "model")["rows"]}
    con = _db(demo_store)
    expected = con.execute(
        f"""SELECT model, count(*), count(*) FILTER (status_code = 'error'),
                   quantile_cont(duration_ns, [0.5, 0.9, 0.95, 0.99]), max(duration_ns),
                   sum(input_tokens), sum(output_tokens),
                   count(DISTINCT user_id), count(DISTINCT session_id)
            FROM spans WHERE {_window()} AND {LLM} GROUP BY model"""
    ).fetchall()
    assert len(expected) >= 5 and set(rows) == {r[0] for r in expected}
    for model, n, errors, quantiles, top, tokens_in, tokens_out, users, sessions in expected:
        row = rows[model]
        assert (row["requests"], row["errors"]) == (n, errors)
        assert row["error_rate"] == pytest.approx(errors / n)
        durations = np.array(
            con.execute(
                f"SELECT duration_ns FROM spans WHERE {_window()} AND {LLM} AND model = ?",
                [model],
            ).fetchall(),
            dtype=float,
        ).ravel()
        for q, name, from_db in zip(QS, ("p50", "p90", "p95", "p99"), quantiles, strict=True):
            assert row[f"{name}_ms"] * 1e6 == pytest.approx(from_db, rel=1e-9)
            assert row[f"{name}_ms"] * 1e6 == pytest.approx(np.percentile(durations, q * 100))
        assert row["max_ms"] * 1e6 == pytest.approx(top)
        assert (row["input_tokens"], row["output_tokens"]) == (tokens_in or 0, tokens_out or 0)
        # user and session fall back to the trace's: at least the spans' own distinct ones
        assert row["users"] >= users and row["sessions"] >= sessions


def test_change_against_the_previous_window(demo_store: Path) -> None:
    rows = {row["model"]: row for row in _stats(demo_store, "--by", "model")["rows"]}
    before = dict(
        _db(demo_store)
        .execute(
            f"SELECT model, count(*) FROM spans WHERE {_window(BEFORE, SINCE)} AND {LLM} "
            "GROUP BY model"
        )
        .fetchall()
    )
    for model, row in rows.items():
        if model in before:
            assert row["previous_requests"] == before[model]
            assert row["requests_change"] == pytest.approx(row["requests"] / before[model] - 1)
        else:
            assert row["previous_requests"] is None and row["requests_change"] is None


def test_traces_by_service_match_duckdb(demo_store: Path) -> None:
    payload = _stats(demo_store, "--by", "service")
    assert payload["unit"] == "trace"
    rows = {row["service"]: row for row in payload["rows"]}
    expected = (
        _db(demo_store)
        .execute(
            f"""WITH t AS (
                  SELECT trace_id, arg_min(service_name, (parent_span_id IS NOT NULL, start_time))
                           AS service,
                         epoch_ns(max(end_time)) - epoch_ns(min(start_time)) AS d,
                         bool_or(status_code = 'error') AS failed
                  FROM spans WHERE {_window()} GROUP BY trace_id)
                SELECT service, count(*), count(*) FILTER (failed),
                       quantile_cont(d, 0.95) FROM t GROUP BY service"""
        )
        .fetchall()
    )
    assert {r[0] for r in expected} == set(rows)
    for service, n, failed, p95 in expected:
        assert (rows[service]["requests"], rows[service]["errors"]) == (n, failed)
        assert rows[service]["p95_ms"] * 1e6 == pytest.approx(p95, rel=1e-9)


def test_gate_names_each_breaching_group(demo_store: Path) -> None:
    result = invoke(
        "stats", "--store", str(demo_store), "--by", "model",
        "--fail-on", "p95>8s", "--fail-on", "error_rate>2%",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    rows = _stats(demo_store, "--by", "model")["rows"]
    expected = {r["model"] for r in rows if r["p95_ms"] > 8000 or r["error_rate"] > 0.02}
    assert expected and {line.split(":")[0].removeprefix("FAIL model=") for line in fails} == (
        expected
    )
    ok = invoke("stats", "--store", str(demo_store), "--by", "model", "--fail-on", "p99>1h")
    assert ok.exit_code == 0, ok.output
    assert "ok: 1 condition(s) hold" in ok.stdout


def test_gate_with_every_checks_each_bucket(demo_store: Path) -> None:
    """A p95 over the limit in one hour fails, naming group and hour, though every group's
    p95 over the window holds; the limit lies between the two."""
    payload = _stats(demo_store, "--by", "model", "--every", "hour")
    window = max(row["p95_ms"] for row in payload["rows"])
    hourly = sorted(row["p95_ms"] for row in payload["periods"])
    assert hourly[-1] > window, "the demo store has no hour slower than its window"
    limit_ms = (window + hourly[-1]) / 2
    expected = {
        f"model={row['model']} at {row['period'][:13].replace('T', ' ')}:00"
        for row in payload["periods"]
        if row["p95_ms"] > limit_ms
    }
    condition = f"p95>{limit_ms:.3f}ms"
    whole = invoke("stats", "--store", str(demo_store), "--by", "model", "--fail-on", condition)
    assert whole.exit_code == 0, whole.output
    result = invoke(
        "stats", "--store", str(demo_store), "--by", "model", "--every", "hour",
        "--format", "json", "--fail-on", condition, "--fail-on", "requests_change>1000%",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    fails = [line for line in result.stderr.splitlines() if line.startswith("FAIL ")]
    assert {line.removeprefix("FAIL ").split(": p95")[0] for line in fails} == expected
    breaches = json.loads(result.stdout)["breaches"]
    assert {b["bucket"] for b in breaches} == {e.split(" at ")[1] for e in expected}
    # A change has no value per hour: it is checked on the window (it holds there).
    assert all(b["figure"] == "p95" for b in breaches)
    daily = invoke(
        "stats", "--store", str(demo_store), "--by", "model", "--every", "weekday-hour",
        "--fail-on", condition,
    )  # fmt: skip
    assert daily.exit_code == 1, daily.output
    bucket = re.compile(r"^FAIL model=\S+ at (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:00: p95 ")
    assert any(bucket.match(line) for line in daily.stdout.splitlines()), daily.stdout


def test_gate_in_json_lists_breaches_and_prints_them_on_stderr(demo_store: Path) -> None:
    result = invoke(
        "stats", "--store", str(demo_store), "--format", "json", "--fail-on", "requests<1M"
    )
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["breaches"][0]["group"] == "all"
    assert "FAIL all: requests" in result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--fail-on", "p95>2"], "needs a unit"),
        (["--fail-on", "p42>2s"], "unknown figure"),
        (["--fail-on", "error_rate>5"], "percentage"),
        (["--fail-on", "p95 is big"], "FIGURE>VALUE"),
        (["--by", "colour"], "--by 'colour'"),
        (["--unit", "call"], "--by tool"),
        (["--every", "month"], "--every 'month'"),
        (["--tz", "Mars/Olympus"], "--tz"),
        (["--since", "2020-01-01", "--until", "2020-01-02"], "nothing to report"),
        (["--where", "model:no-such-model", "--fail-on", "p95>1s"], "nothing to report"),
    ],
)
def test_usage_errors_exit_2_with_one_line(demo_store: Path, args: list[str], named: str) -> None:
    result = invoke("stats", "--store", str(demo_store), *args)
    assert result.exit_code == 2, result.output
    assert named in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_store_is_exit_2(tmp_path: Path) -> None:
    result = invoke("stats", "--store", str(tmp_path / "nowhere"))
    assert result.exit_code == 2, result.output


def test_csv_and_markdown_are_the_rows(demo_store: Path) -> None:
    rows = _stats(demo_store, "--by", "model")["rows"]
    text = invoke("stats", "--store", str(demo_store), "--by", "model", "-f", "csv").stdout
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["model"] for r in parsed] == [r["model"] for r in rows]
    assert float(parsed[0]["p95_ms"]) == pytest.approx(rows[0]["p95_ms"])
    markdown = invoke("stats", "--store", str(demo_store), "--by", "model", "-f", "markdown")
    assert markdown.stdout.startswith("| model | requests |")


def test_weekday_hour_heatmap_counts_every_request(demo_store: Path) -> None:
    payload = _stats(demo_store, "--every", "weekday-hour")
    cells = payload["periods"]
    assert sum(c["requests"] for c in cells) == payload["rows"][0]["requests"]
    assert {c["weekday"] for c in cells} <= set(range(1, 8))
    assert {c["hour"] for c in cells} <= set(range(24))
    tokyo = _stats(demo_store, "--every", "weekday-hour", "--tz", "Asia/Tokyo")["periods"]
    utc = {(c["weekday"], c["hour"]): c["requests"] for c in cells}
    shifted = {}
    for c in tokyo:  # Tokyo is UTC+9 all year
        hour, day = c["hour"] - 9, c["weekday"]
        if hour < 0:
            hour, day = hour + 24, (day - 2) % 7 + 1
        shifted[(day, hour)] = c["requests"]
    assert shifted == utc
    table = invoke("stats", "--store", str(demo_store), "--every", "weekday-hour", "--value", "p95")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert any(line.startswith("Mon ") for line in lines)
    assert any(line.startswith("Sun ") for line in lines)


def test_every_day_periods_add_up_to_the_window(demo_store: Path) -> None:
    payload = _stats(demo_store, "--by", "model", "--every", "day")
    totals: dict[str, int] = {}
    for row in payload["periods"]:
        totals[row["model"]] = totals.get(row["model"], 0) + row["requests"]
    assert totals == {row["model"]: row["requests"] for row in payload["rows"]}


def test_sort_and_limit(demo_store: Path) -> None:
    rows = _stats(demo_store, "--by", "model", "--sort", "p95")["rows"]
    p95 = [row["p95_ms"] for row in rows]
    assert p95 == sorted(p95, reverse=True)
    assert len(_stats(demo_store, "--by", "model", "--limit", "2")["rows"]) == 2
