"""Which tools agents call, in which order: the most common n-grams of tool names per agent.

A run is an agent run (the span that names the agent, see
:mod:`analysis.traces.ancestry`), or the trace for tool calls under no agent. Its tool
calls are the tool spans directly under it (a tool a tool calls is that tool's business),
in start order. Every window of ``length`` consecutive calls of a run is an occurrence of
that sequence; it succeeded when none of its calls failed. Vectorised: shifts over each
run, no loop over rows.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.traces.ancestry import with_ancestry

ARROW = " → "


def tool_calls(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Tool calls not made inside another tool: agent, run, tool, start, failed."""
    found = with_ancestry(spans)
    parents = found.select(
        "trace_id",
        pl.col("span_id").alias("parent_span_id"),
        pl.col("tool_span_id").alias("_parent_tool"),
    )
    return (
        found.filter(pl.col("tool_span_id") == pl.col("span_id"))
        .join(parents, on=["trace_id", "parent_span_id"], how="left")
        .filter(pl.col("_parent_tool").is_null())
        .select(
            pl.col("agent"),
            pl.concat_str(
                "trace_id", pl.coalesce("agent_span_id", pl.lit("")), separator="/"
            ).alias("run"),
            "tool",
            "start_time",
            "span_id",
            (pl.col("status_code") == "error").alias("failed"),
        )
    )


def sequences(calls: pl.LazyFrame, length: int) -> pl.LazyFrame:
    """Per agent, each sequence of ``length`` tool names: occurrences, runs, success rate."""
    ordered = calls.sort("run", "start_time", "span_id")
    names = [pl.col("tool").shift(-k).over("run") for k in range(length)]
    fails = [pl.col("failed").shift(-k).over("run") for k in range(length)]
    grams = ordered.with_columns(
        pl.concat_str(names, separator=ARROW).alias("sequence"),
        pl.any_horizontal(fails).alias("any_failed"),
    ).filter(pl.col("sequence").is_not_null())
    return (
        grams.group_by("agent", "sequence")
        .agg(
            pl.len().alias("count"),
            pl.col("run").n_unique().alias("runs"),
            (1 - pl.col("any_failed").mean()).alias("success_rate"),
        )
        .with_columns(
            (pl.col("count") / pl.col("count").sum().over("agent")).alias("share"),
        )
        .sort(["agent", "count", "sequence"], descending=[False, True, False], nulls_last=True)
    )
