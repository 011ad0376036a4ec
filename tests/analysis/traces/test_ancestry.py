"""Nearest agent and tool ancestors: hand-made trees, messy links, and random forests
checked against a plain walk up the parent links."""

from __future__ import annotations

import random

import polars as pl
import pytest

from pyflare_cli.analysis.traces.ancestry import ancestry, with_ancestry

COLUMNS = {
    "trace_id": pl.String,
    "span_id": pl.String,
    "parent_span_id": pl.String,
    "name": pl.String,
    "ai_kind": pl.String,
    "agent_name": pl.String,
    "tool_name": pl.String,
}


def frame(rows: list[tuple[str | None, ...]]) -> pl.LazyFrame:
    return pl.DataFrame(rows, schema=COLUMNS, orient="row").lazy()


def answer(rows: list[tuple[str | None, ...]]) -> dict[tuple[str, str], tuple[object, ...]]:
    out = ancestry(frame(rows))
    return {
        (r["trace_id"], r["span_id"]): (
            r["agent"],
            r["tool"],
            r["agent_span_id"],
            r["tool_span_id"],
        )
        for r in out.iter_rows(named=True)
    }


def test_llm_under_tool_under_agent() -> None:
    rows = [
        ("t", "root", None, "request", None, None, None),
        ("t", "ag", "root", "invoke_agent", "agent", "support", None),
        ("t", "tl", "ag", "execute_tool search", "tool", None, "search"),
        ("t", "mid", "tl", "http", None, None, None),
        ("t", "llm", "mid", "chat gpt", "llm", None, None),
        ("t", "llm2", "ag", "chat gpt", "llm", None, None),
    ]
    got = answer(rows)
    assert got[("t", "llm")] == ("support", "search", "ag", "tl")
    assert got[("t", "llm2")] == ("support", None, "ag", None)
    assert got[("t", "root")] == (None, None, None, None)
    assert got[("t", "tl")] == ("support", "search", "ag", "tl")  # ancestor-or-self


def test_nearest_wins_and_labels_fall_back_to_name() -> None:
    rows = [
        ("t", "a1", None, "outer agent", "agent", None, None),
        ("t", "a2", "a1", "inner agent", "agent", "planner", None),
        ("t", "x", "a2", "step", None, None, None),
        ("t", "y", "x", "tool without name", "tool", None, None),
        ("t", "z", "y", "chat", "llm", None, None),
    ]
    got = answer(rows)
    assert got[("t", "z")][:2] == ("planner", "tool without name")
    assert got[("t", "a2")][0] == "planner"
    assert got[("t", "a1")][0] == "outer agent"


def test_messy_links_never_loop_or_duplicate_rows() -> None:
    rows = [
        ("t", "self", "self", "loop to itself", None, None, None),
        ("t", "orphan", "gone", "lost parent", None, None, None),
        ("t", "c1", "c2", "cycle one", "agent", "ring", None),
        ("t", "c2", "c1", "cycle two", None, None, None),
        ("t", "dup", None, "first copy", "tool", None, "first"),
        ("t", "dup", None, "second copy", "tool", None, "second"),
        ("u", "dup", None, "other trace", None, None, None),
        ("t", "kid", "dup", "child", None, None, None),
    ]
    got = answer(rows)
    assert len(got) == 7
    assert got[("t", "self")] == (None, None, None, None)
    assert got[("t", "orphan")] == (None, None, None, None)
    assert got[("t", "c2")][0] == "ring"
    assert got[("t", "kid")][1] == "first"
    assert got[("u", "dup")] == (None, None, None, None)  # span ids are per trace


def reference(rows: list[tuple[str | None, ...]]) -> dict[tuple[str, str], tuple[object, object]]:
    by_id = {(r[0], r[1]): r for r in rows}
    out = {}
    for r in rows:
        agent = tool = None
        node: tuple[str | None, ...] | None = r
        seen: set[tuple[str | None, str | None]] = set()
        while node is not None and (node[0], node[1]) not in seen:
            seen.add((node[0], node[1]))
            if agent is None and (node[4] == "agent" or node[5] is not None):
                agent = node[5] or node[3]
            if tool is None and (node[4] == "tool" or node[6] is not None):
                tool = node[6] or node[3]
            parent = node[2]
            node = by_id.get((node[0], parent)) if parent is not None else None
        out[(r[0], r[1])] = (agent, tool)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_random_forests_match_a_plain_walk(seed: int) -> None:
    rng = random.Random(seed)
    rows: list[tuple[str | None, ...]] = []
    for t in range(20):
        size = rng.randint(1, 60)
        for i in range(size):
            parent = None if i == 0 or rng.random() < 0.05 else f"s{rng.randrange(i)}"
            if parent is not None and rng.random() < 0.03:
                parent = "missing"
            kind = rng.choice(["agent", "tool", "llm", "llm", None, None, "chain"])
            agent = f"a{i}" if kind == "agent" and rng.random() < 0.7 else None
            tool = f"t{i}" if kind == "tool" and rng.random() < 0.7 else None
            if kind is None and rng.random() < 0.05:
                agent = f"carried{i}"
            rows.append((f"trace{t}", f"s{i}", parent, f"name{i}", kind, agent, tool))
    rng.shuffle(rows)
    got = {key: value[:2] for key, value in answer(rows).items()}
    assert got == reference(rows)


def test_with_ancestry_keeps_rows_and_looks_in_the_wider_frame() -> None:
    rows = [
        ("t", "tl", None, "execute_tool search", "tool", None, "search"),
        ("t", "llm", "tl", "chat", "llm", None, None),
        ("t", "llm", "tl", "chat (again)", "llm", None, None),
    ]
    everything = frame(rows)
    only_llm = everything.filter(pl.col("ai_kind") == "llm")
    out = with_ancestry(only_llm, within=everything).collect()
    assert out.height == 2
    assert out.get_column("tool").to_list() == ["search", "search"]
    assert with_ancestry(only_llm).collect().get_column("tool").to_list() == [None, None]
