"""The row-number walk of :func:`ancestry` against the string-join walk it replaced.

``string_ancestry`` below is the previous implementation, kept verbatim as the reference:
every round joined on (trace id, span id) strings. The new walk must give the same frame,
row for row, on random forests with orphans, missing parents, self-parents, cycles, deep
chains, duplicated span ids and null ids.
"""

from __future__ import annotations

import math
import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.traces.ancestry import _KEYS, _nodes, ancestry


def string_ancestry(spans: pl.LazyFrame) -> pl.DataFrame:
    """The pre-row-number version: one join on the string ids per round."""
    nodes = _nodes(spans)
    state = nodes.select(
        *_KEYS,
        pl.when(pl.col("_agent_label").is_not_null()).then(pl.col("span_id")).alias("agent_at"),
        pl.when(pl.col("_tool_label").is_not_null()).then(pl.col("span_id")).alias("tool_at"),
        "ptr",
    )
    unresolved = pl.col("agent_at").is_null() | pl.col("tool_at").is_null()
    state = state.with_columns(pl.when(unresolved).then(pl.col("ptr")).alias("ptr"))
    rounds = math.ceil(math.log2(max(nodes.height, 2))) + 2
    for _ in range(rounds):
        if state.select(pl.col("ptr").is_not_null().any()).item() is not True:
            break
        lookup = state.select(
            "trace_id",
            pl.col("span_id").alias("ptr"),
            pl.col("agent_at").alias("_p_agent"),
            pl.col("tool_at").alias("_p_tool"),
            pl.col("ptr").alias("_p_ptr"),
        )
        state = (
            state.join(lookup, on=["trace_id", "ptr"], how="left", maintain_order="left")
            .with_columns(
                pl.coalesce("agent_at", "_p_agent").alias("agent_at"),
                pl.coalesce("tool_at", "_p_tool").alias("tool_at"),
            )
            .with_columns(pl.when(unresolved).then(pl.col("_p_ptr")).alias("ptr"))
            .drop("_p_agent", "_p_tool", "_p_ptr")
        )
    labels = nodes.select(*_KEYS, "_agent_label", "_tool_label")
    agents = labels.select(
        "trace_id", pl.col("span_id").alias("agent_at"), pl.col("_agent_label").alias("agent")
    )
    tools = labels.select(
        "trace_id", pl.col("span_id").alias("tool_at"), pl.col("_tool_label").alias("tool")
    )
    return (
        state.join(agents, on=["trace_id", "agent_at"], how="left", maintain_order="left")
        .join(tools, on=["trace_id", "tool_at"], how="left", maintain_order="left")
        .select(
            *_KEYS,
            pl.col("agent_at").alias("agent_span_id"),
            "agent",
            pl.col("tool_at").alias("tool_span_id"),
            "tool",
        )
    )


def _messy_forest(seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    rows: list[dict[str, str | None]] = []
    for t in range(rng.randint(1, 8)):
        trace: str | None = None if rng.random() < 0.05 else f"t{t}"
        ids = [f"s{i}" for i in range(rng.randint(1, 60))]
        for i, span in enumerate(ids):
            roll = rng.random()
            if i == 0 or roll < 0.08:
                parent = None  # a root
            elif roll < 0.14:
                parent = f"gone{i}"  # a parent not in the data: an orphan
            elif roll < 0.17:
                parent = span  # its own parent
            elif roll < 0.22:
                parent = rng.choice(ids)  # anywhere: may close a cycle
            elif roll < 0.6:
                parent = ids[i - 1]  # a deep chain
            else:
                parent = rng.choice(ids[:i])
            kind = rng.choice(["agent", "tool", "llm", None, None, None])
            rows.append(
                {
                    "trace_id": trace,
                    "span_id": None if rng.random() < 0.02 else span,
                    "parent_span_id": parent,
                    "name": f"n{i}",
                    "ai_kind": kind,
                    "agent_name": rng.choice([None, None, None, "planner", "coder"]),
                    "tool_name": rng.choice([None, None, None, "search", "shell"]),
                }
            )
        if rows and rng.random() < 0.3:
            rows.append(dict(rng.choice(rows)))  # a duplicated span id
    return pl.DataFrame(rows, schema={c: pl.String for c in rows[0]})


@pytest.mark.parametrize("seed", range(60))
def test_row_number_walk_equals_the_string_join_walk(seed: int) -> None:
    spans = _messy_forest(seed).lazy()
    assert_frame_equal(ancestry(spans), string_ancestry(spans))


def test_a_chain_of_ten_thousand_resolves_like_the_string_walk() -> None:
    n = 10_000
    spans = pl.DataFrame(
        {
            "trace_id": ["t"] * n,
            "span_id": [f"s{i}" for i in range(n)],
            "parent_span_id": [None, *(f"s{i}" for i in range(n - 1))],
            "name": [f"n{i}" for i in range(n)],
            "ai_kind": ["agent", *([None] * (n - 2)), "tool"],
            "agent_name": [None] * n,
            "tool_name": [None] * n,
        }
    ).lazy()
    found = ancestry(spans)
    assert_frame_equal(found, string_ancestry(spans))
    assert found.get_column("agent").to_list() == ["n0"] * n
