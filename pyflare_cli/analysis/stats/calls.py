"""Tool calls and agent runs as ``pyflare stats`` units, with the LLM usage under them.

A call is a span that names a tool (or an agent) itself (see
:mod:`analysis.traces.ancestry`). Its latency and error are its own; its tokens and cost
are those of the LLM calls whose nearest tool (agent) ancestor-or-self it is, so a tool
that calls a model is charged for it, and a nested tool's calls go to the inner tool.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.stats.dimensions import is_llm, source, with_trace_wide
from pyflare_cli.analysis.traces.ancestry import with_ancestry


def call_kind(by: list[str]) -> str:
    """``tool`` when grouping by tool, else ``agent``."""
    return "tool" if "tool" in by else "agent"


def call_rows(
    spans: pl.LazyFrame, by: list[str], within: pl.LazyFrame | None = None, aligned: bool = False
) -> pl.LazyFrame:
    """One row per tool call (or agent run), shaped as the other units' rows.

    ``within``: where ancestors and the trace-wide user, session, agent and environment
    are looked for (see :func:`with_ancestry`, :func:`with_trace_wide`), by default
    ``spans``; ``aligned``: it holds exactly ``spans``' rows in their order.
    """
    kind = call_kind(by)
    owner = f"{kind}_span_id"
    # Ancestry first: a span that inherits its trace's agent_name does not name an agent.
    found = with_ancestry(spans, within, aligned)
    usage = (
        found.filter(is_llm() & pl.col(owner).is_not_null())
        .group_by("trace_id", pl.col(owner).alias("span_id"))
        .agg(
            pl.col("input_tokens").sum(),
            pl.col("output_tokens").sum(),
            pl.col("cost_pico").cast(pl.Int128).sum(),
            (
                pl.any_horizontal(pl.col("input_tokens", "output_tokens").is_not_null())
                & pl.col("cost_source").is_null()
            )
            .sum()
            .alias("unpriced"),
        )
        # Collected apart (a few rows per call): in one plan with the calls below, the
        # priced window would be held whole for both branches (on 1M spans, 7 days of tool
        # calls: a peak of 290 MB instead of 200 MB, for one more read of the window).
        .collect(engine="streaming")
        .lazy()
    )
    calls = with_trace_wide(found, pl.col(owner) == pl.col("span_id"), within).select(
        "trace_id",
        "span_id",
        "start_time",
        "duration_ns",
        (pl.col("status_code") == "error").alias("error"),
        "user_id",
        "session_id",
        *(source(name, ancestry=True).alias(name) for name in by),
    )
    return calls.join(usage, on=["trace_id", "span_id"], how="left", maintain_order="left")
