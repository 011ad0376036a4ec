"""Tool call sequences from the store, for ``pyflare tools sequences``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.stats.sequences import sequences, tool_calls
from pyflare_cli.query.spans import SpanQuery, load_spans


def tool_sequences(
    root: Path, query: SpanQuery, now: datetime, length: int, agent: str | None
) -> pl.DataFrame:
    """The sequences of ``length`` tool calls per agent (only ``agent``'s when given)."""
    calls = tool_calls(load_spans(root, query, now))
    if agent is not None:
        calls = calls.filter(pl.col("agent") == agent)
    return sequences(calls, length).collect()
