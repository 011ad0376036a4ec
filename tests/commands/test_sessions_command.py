"""``pyflare sessions``, ``users`` and ``session show`` on the demo store (checked against
DuckDB on the same Parquet) and on a hand-built store with two agents, nested tools and an
e-mail address the config redacts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from cli_support import invoke

WINDOW = (
    "start_time >= TIMESTAMPTZ '2026-11-13 12:00:00+00' "
    "AND start_time < TIMESTAMPTZ '2026-11-20 12:00:00+00'"
)


def _json(*args: str) -> Any:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _duck(store: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    files = str(store / "spans" / "*" / "*.parquet")
    con.execute(f"CREATE VIEW spans AS SELECT * FROM read_parquet('{files}') WHERE {WINDOW}")
    return con.execute(sql).fetchall()


def test_sessions_match_duckdb(demo_store: Path) -> None:
    rows = _json("sessions", "--store", str(demo_store), "--limit", "0")
    expected = _duck(
        demo_store,
        """WITH t AS (SELECT trace_id, any_value(session_id) AS s,
                             bool_or(status_code = 'error') AS failed FROM spans
                      WHERE session_id IS NOT NULL GROUP BY trace_id)
           SELECT s, count(*), count(*) FILTER (failed) FROM t GROUP BY s""",
    )
    assert len(expected) > 10
    assert {r["session"]: (r["traces"], r["errors"]) for r in rows} == {
        s: (n, failed) for s, n, failed in expected
    }
    starts = [r["start"] for r in rows]
    assert starts == sorted(starts, reverse=True)


def test_sessions_of_a_user_sorted_by_cost(demo_store: Path) -> None:
    rows = _json("sessions", "--store", str(demo_store), "--user", "user-0042", "--sort", "cost")
    assert rows and {r["user"] for r in rows} == {"user-0042"}
    costs = [r["cost"] for r in rows]
    assert costs == sorted(costs, reverse=True)
    ascending = _json(
        "sessions", "--store", str(demo_store), "--user", "user-0042", "--sort", "cost", "--asc"
    )
    assert [r["cost"] for r in ascending] == sorted(costs)


def test_users_match_duckdb(demo_store: Path) -> None:
    rows = _json("users", "--store", str(demo_store), "--limit", "0")
    expected = _duck(
        demo_store,
        """WITH t AS (SELECT trace_id, any_value(user_id) AS u, any_value(session_id) AS s,
                             bool_or(status_code = 'error') AS failed FROM spans
                      WHERE user_id IS NOT NULL GROUP BY trace_id)
           SELECT u, count(*), count(DISTINCT s), count(*) FILTER (failed) FROM t GROUP BY u""",
    )
    assert {r["user"]: (r["requests"], r["sessions"], r["errors"]) for r in rows} == {
        u: (n, s, f) for u, n, s, f in expected
    }


def test_session_show_lists_its_traces_in_time_order(demo_store: Path) -> None:
    (first,) = _json(
        "sessions", "--store", str(demo_store), "--limit", "1", "--sort", "traces", "--since", "30d"
    )
    shown = _json("session", "show", first["session"], "--store", str(demo_store))
    starts = [t["start"] for t in shown["traces"]]
    assert len(starts) == first["traces"] and starts == sorted(starts)
    assert len(shown["turns"]) == first["turns"] == shown["session"]["turns"]
    assert shown["session"]["cost"] == pytest.approx(first["cost"])
    text = invoke("session", "show", first["session"], "--store", str(demo_store))
    assert text.exit_code == 0 and "conversation" in text.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["session", "show", "no-such-session"], "no-such-session"),
        (["sessions", "--user", "nobody"], "nobody"),
        (["sessions", "--sort", "colour"], "--sort"),
        (["users", "--sort", "colour"], "--sort"),
        (["users", "--since", "2020-01-01", "--until", "2020-01-02"], "no users"),
    ],
)
def test_errors_are_exit_2(demo_store: Path, args: list[str], named: str) -> None:
    result = invoke(*args, "--store", str(demo_store))
    assert result.exit_code == 2, result.output
    assert named in result.stderr


T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


def _span(span_id: str, parent: str | None, at: int, **fields: Any) -> dict[str, Any]:
    return {"span_id": span_id, "parent_span_id": parent, "ms": 100,
            "start_time": T0 + timedelta(seconds=at), **fields}  # fmt: skip


@pytest.fixture
def agent_store(
    tmp_path: Path,
    make_spans: Callable[..., pl.DataFrame],
    add_source: Callable[[Path, pl.DataFrame, str], list[Path]],
) -> Path:
    """One session, two traces: planner and writer agents, nested tools, an e-mail."""
    root = tmp_path / "store"
    llm = {"ai_kind": "llm", "model": "gpt-4o", "provider": "openai", "input_tokens": 10}
    frame = make_spans(
        _span("r1", None, 0, trace_id="a", session_id="s1", user_id="ann"),
        _span("p", "r1", 1, trace_id="a", ai_kind="agent", agent_name="planner"),
        _span(
            "l1",
            "p",
            2,
            trace_id="a",
            input_text="mail me at ann@example.com",
            output_text="[bold]ok[/bold]",
            **llm,
        ),
        _span("t1", "p", 3, trace_id="a", ai_kind="tool", tool_name="search"),
        _span("t2", "t1", 4, trace_id="a", ai_kind="tool", tool_name="fetch", status_code="error"),
        _span("r2", None, 60, trace_id="b", session_id="s1"),
        _span("w", "r2", 61, trace_id="b", ai_kind="agent", agent_name="writer"),
        _span("l2", "w", 62, trace_id="b", input_text="second turn", **llm),
    )
    add_source(root, frame, "agents")
    return root


def test_session_on_two_agents_and_nested_tools(agent_store: Path, tmp_path: Path) -> None:
    (row,) = _json("sessions", "--store", str(agent_store), "--since", "30d")
    assert (row["session"], row["user"], row["traces"], row["turns"], row["errors"]) == (
        "s1", "ann", 2, 2, 1,
    )  # fmt: skip
    assert row["tools"] == ["fetch", "search"] and row["models"] == ["gpt-4o"]
    config = tmp_path / "pyflare.yaml"
    config.write_text("redaction:\n  mode: mask\n  kinds: [email]\n")
    shown = _json("session", "show", "s1", "--store", str(agent_store), "--config", str(config))
    assert [t["outcome"] for t in shown["traces"]] == ["error", "ok"]
    assert shown["redacted"] is True
    assert "ann@example.com" not in shown["turns"][0]["input_text"]
    assert [t["input_text"] for t in shown["turns"]][1] == "second turn"
    plain = invoke("session", "show", "s1", "--store", str(agent_store), "--config", str(config))
    assert "[bold]ok[/bold]" in plain.stdout  # data, not markup
    assert "ann@example.com" not in plain.stdout


def test_a_session_begun_before_the_window_keeps_its_true_start(agent_store: Path) -> None:
    """--since between the session's two traces: the row says when the session began and
    that it began before the window; its counts are the window's (the second trace)."""
    since = (T0 + timedelta(seconds=30)).isoformat()
    (row,) = _json("sessions", "--store", str(agent_store), "--since", since)
    assert datetime.fromisoformat(row["start"]) == T0
    assert row["before_window"] is True
    assert row["duration"] == (62 * 1000 + 100) * 1_000_000  # first start to last end
    assert (row["traces"], row["turns"], row["errors"]) == (1, 1, 0)
    (whole,) = _json("sessions", "--store", str(agent_store), "--since", "30d")
    assert whole["before_window"] is False and whole["duration"] == row["duration"]
    shown = _json("session", "show", "s1", "--store", str(agent_store), "--since", since)
    assert shown["session"]["before_window"] is True
    assert datetime.fromisoformat(shown["session"]["start"]) == T0
    table = invoke("sessions", "--store", str(agent_store), "--since", since)
    assert table.exit_code == 0, table.output
    assert "began before the window" in table.stdout


def test_a_session_going_on_after_the_window_keeps_its_true_end(agent_store: Path) -> None:
    """--until between the session's two traces: the duration runs to the end of the
    second trace (62.1 s, on a span that names no session) and after_window says so; the
    counts are the window's (the first trace)."""
    until = (T0 + timedelta(seconds=30)).isoformat()
    window = ("--since", "30d", "--until", until)
    (row,) = _json("sessions", "--store", str(agent_store), *window)
    assert datetime.fromisoformat(row["start"]) == T0
    assert row["after_window"] is True and row["before_window"] is False
    assert row["duration"] == (62 * 1000 + 100) * 1_000_000  # first start to last end
    assert (row["traces"], row["turns"], row["errors"]) == (1, 1, 1)
    (whole,) = _json("sessions", "--store", str(agent_store), "--since", "30d")
    assert whole["after_window"] is False and whole["duration"] == row["duration"]
    table = invoke("sessions", "--store", str(agent_store), *window)
    assert table.exit_code == 0, table.output
    assert "went on after the window" in table.stdout
