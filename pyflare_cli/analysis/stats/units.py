"""What one "request" is for ``pyflare stats``: an LLM call, a span, a trace, or a tool or
agent call, each turned into rows of the same shape so one grouped pass counts them all.

Every unit row carries ``start_time``, ``duration_ns``, ``error``, ``input_tokens``,
``output_tokens``, ``cost_pico`` (exact, see :mod:`analysis.cost.pricing`), ``unpriced``
(LLM calls with usage and no price), ``user_id``, ``session_id`` and one column per
``--by`` dimension.

- ``llm``: LLM and embedding calls (``ai_kind`` llm or embedding, or a span with a model
  and no kind). Tokens and cost are the call's own.
- ``span``: every span; tokens count on LLM calls only, so a parent that repeats its
  children's usage is not counted twice.
- ``trace``: one row per trace: its duration from first start to last end, an error when
  any span failed, the tokens and cost of all its calls. Trace-wide dimensions (user,
  session, agent, environment, attributes) are the first value met from the root down;
  service, operation and version are the root span's; a trace that used several models
  (providers, tools, agents) counts once under each of them.
- ``call``: tool calls (with ``--by tool``) or agent runs (``--by agent``); tokens and cost
  are those of the LLM calls under the call (see :mod:`analysis.traces.ancestry`).

User, session, agent and environment fall back to the trace's value when a span does not
carry one itself (as in ``pyflare cost``).
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.cost.pricing import has_usage
from pyflare_cli.analysis.stats.calls import call_rows
from pyflare_cli.analysis.stats.dimensions import (
    UNITS,
    is_llm,
    label,
    root_first,
    source,
    with_trace_wide,
)
from pyflare_cli.analysis.traces.ancestry import with_ancestry


def _common(llm: pl.Expr) -> list[pl.Expr]:
    usage = llm & has_usage() & pl.col("cost_source").is_null()
    return [
        (pl.col("status_code") == "error").alias("error"),
        pl.when(llm).then(pl.col("input_tokens")).alias("input_tokens"),
        pl.when(llm).then(pl.col("output_tokens")).alias("output_tokens"),
        usage.alias("unpriced"),
    ]


def needs_ancestry(unit: str, by: list[str]) -> bool:
    """Whether :func:`unit_rows` walks the span tree (tool and agent calls or groups)."""
    walks = any(name in ("tool", "agent") for name in by)
    return unit == "call" or (unit != "trace" and walks)


def reads_within(unit: str, by: list[str]) -> bool:
    """Whether :func:`unit_rows` reads its ``within`` frame (the ancestry walk, or the
    trace-wide values of LLM calls, tool calls and agent runs)."""
    return unit in ("llm", "call") or needs_ancestry(unit, by)


def unit_rows(
    spans: pl.LazyFrame,
    unit: str,
    by: list[str],
    within: pl.LazyFrame | None = None,
    aligned: bool = False,
) -> pl.LazyFrame:
    """The rows one ``--unit`` counts, with a column per dimension of ``by``.

    ``within``: the spans the ancestry walk and the trace-wide values are read from
    (default ``spans``); any frame that holds every span of ``spans``' traces, in the same
    order, gives the same rows, e.g. the window unpriced. ``aligned``: ``within`` holds
    exactly ``spans``' rows in their order (no ``--where``), so the walk's answer is put
    beside each span by row number (see :func:`with_ancestry`).
    """
    if unit not in UNITS:
        raise ValueError(unit)
    if unit == "trace":
        return _trace_rows(spans, by)
    if unit == "call":
        return call_rows(spans, by, within, aligned)
    walk = needs_ancestry(unit, by)
    # Ancestry first: a span that inherits its trace's agent_name does not name an agent.
    frame = with_ancestry(spans, within, aligned) if walk else spans
    frame = with_trace_wide(frame, is_llm(), within) if unit == "llm" else with_trace_wide(frame)
    return frame.select(
        "trace_id",
        "start_time",
        "duration_ns",
        *_common(is_llm()),
        "cost_pico",
        "user_id",
        "session_id",
        *(source(name, ancestry=walk).alias(name) for name in by),
    )


def _trace_rows(spans: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """One row per trace (see the module's docstring)."""
    exploded = [name for name in by if name in ("model", "provider", "tool", "agent")]
    keys = []
    for name in by:
        if name in ("tool", "agent"):
            keys.append(label(name).drop_nulls().unique().alias(name))
        elif name in exploded:
            keys.append(source(name).drop_nulls().unique().alias(name))
        elif name in ("service", "operation", "version"):
            keys.append(root_first(source(name)).alias(name))
        else:
            keys.append(root_first(source(name), skip_nulls=True).alias(name))
    common = _common(is_llm())
    traces = (
        spans.with_columns(*common)
        .group_by("trace_id")
        .agg(
            pl.col("start_time").min(),
            (pl.col("end_time").max() - pl.col("start_time").min())
            .dt.total_nanoseconds()
            .alias("duration_ns"),
            pl.col("error").any(),
            pl.col("input_tokens").sum(),
            pl.col("output_tokens").sum(),
            pl.col("cost_pico").cast(pl.Int128).sum().alias("cost_pico"),
            pl.col("unpriced").sum(),
            root_first(pl.col("user_id"), skip_nulls=True),
            root_first(pl.col("session_id"), skip_nulls=True),
            *keys,
        )
    )
    for name in exploded:
        # A trace without any model stays, under a null model.
        traces = traces.with_columns(
            pl.when(pl.col(name).list.len() > 0).then(pl.col(name))
        ).explode(name)
    return traces
