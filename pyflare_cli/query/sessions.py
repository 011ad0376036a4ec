"""Sessions and users from the store: the tables of ``pyflare sessions`` and ``pyflare
users``, and one session's traces and conversation for ``pyflare session show``.

The conversation is redacted with the config's ``redaction`` section when it has one, so
text ingested before redaction was configured is not shown in the clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.stats.sessions import (
    conversation,
    first_starts,
    last_ends,
    later_traces,
    session_table,
    session_trace_ids,
    session_traces,
    sort_rows,
    user_table,
    with_earlier_start,
    with_later_end,
)
from pyflare_cli.errors import UsageError
from pyflare_cli.query.spans import SpanQuery, load_spans
from pyflare_cli.store.scan import scan_spans

if TYPE_CHECKING:
    from pyflare_cli.ingest.redaction import RedactionConfig


@dataclass(frozen=True)
class Session:
    """``pyflare session show``: the session's row, its traces, its turns."""

    summary: pl.DataFrame
    traces: pl.DataFrame
    turns: pl.DataFrame
    redacted: bool


def list_sessions(
    root: Path,
    query: SpanQuery,
    now: datetime,
    rules: tuple[PriceRule, ...],
    user: str | None,
    sort: str,
    ascending: bool,
) -> pl.DataFrame:
    """Every session of the window (of ``user``), sorted; one that began before the window
    has its true start, one that went on after it its true end (the store outside the
    window is read for those sessions only)."""
    table = session_table(load_spans(root, query, now, rules))
    if user is not None:
        table = table.filter(pl.col("user") == user)
    found = table.collect(engine="streaming")
    return sort_rows(_true_times(root, found, query, now), sort, ascending).collect()


def _true_times(root: Path, table: pl.DataFrame, query: SpanQuery, now: datetime) -> pl.LazyFrame:
    """``table`` with each session's true start and end (a session the window cuts)."""
    return _true_end(root, _true_start(root, table, query, now), query, now).lazy()


def _true_start(root: Path, table: pl.DataFrame, query: SpanQuery, now: datetime) -> pl.DataFrame:
    since, _ = query.bounds(now)
    if since is None or table.is_empty():
        return table.with_columns(pl.lit(False).alias("before_window"))
    earlier = scan_spans(root, None, since).select("session_id", "start_time")
    first = first_starts(earlier, table.get_column("session")).collect()
    return with_earlier_start(table.lazy(), first.lazy()).collect()


def _true_end(root: Path, table: pl.DataFrame, query: SpanQuery, now: datetime) -> pl.DataFrame:
    """Sessions that went on after ``--until``: the store after the window is read for
    the listed sessions only (their traces there, then those traces' last ends)."""
    _, until = query.bounds(now)
    if until is None or table.is_empty():
        return table.with_columns(pl.lit(False).alias("after_window"))
    later = scan_spans(root, until, None)
    traces = later_traces(later.select("trace_id", "session_id"), table.get_column("session"))
    found = traces.collect()
    last = last_ends(later.select("trace_id", "end_time"), found).collect()
    return with_later_end(table.lazy(), last.lazy()).collect()


def list_users(
    root: Path,
    query: SpanQuery,
    now: datetime,
    rules: tuple[PriceRule, ...],
    sort: str,
    ascending: bool,
) -> pl.DataFrame:
    """Every user of the window, sorted."""
    users = user_table(load_spans(root, query, now, rules))
    return sort_rows(users, sort, ascending).collect(engine="streaming")


def show_session(
    root: Path,
    session: str,
    query: SpanQuery,
    now: datetime,
    rules: tuple[PriceRule, ...],
    redaction: RedactionConfig | None,
) -> Session:
    """One session; exit 2 naming it when the window holds none of its spans."""
    spans = load_spans(root, query, now, rules)
    ids = session_trace_ids(spans, session).collect().get_column("trace_id")
    if ids.is_empty():
        window = f" since {query.since}" if query.since else ""
        raise UsageError(f"session {session!r}: no spans in the store{window} (try --since 90d)")
    mine = spans.filter(pl.col("trace_id").is_in(ids.implode()))
    summary = session_table(mine).filter(pl.col("session") == session)
    traces = session_traces(mine, session)
    frames = pl.collect_all([summary, traces, conversation(mine)])
    frames[0] = _true_times(root, frames[0], query, now).collect()
    turns = frames[2]
    redacted = False
    if redaction is not None and redaction.modes and not turns.is_empty():
        from pyflare_cli.ingest.redaction import redact

        full = mine.filter(pl.col("span_id").is_in(turns.get_column("span_id").implode()))
        clean = redact(full.collect(), redaction).select("span_id", "input_text", "output_text")
        turns = turns.drop("input_text", "output_text").join(
            clean, on="span_id", how="left", maintain_order="left"
        )
        redacted = True
    return Session(frames[0], frames[1], turns, redacted)
