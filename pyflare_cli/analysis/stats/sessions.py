"""Sessions and users: one row per session or per user, a session's traces in time order,
and its conversation (the LLM calls' input and output text, turn by turn).

A span belongs to its own session and user, else its trace's (instrumentations often put
``session.id`` on the request span only). A turn is an LLM call that is not an embedding;
errors count failed traces.

A session that began before the window keeps its true start (:func:`with_earlier_start`):
its start and duration run from its first span in the store, and ``before_window`` says
that its traces, turns, tokens, cost and errors count the window only. One that went on
after the window keeps its true end (:func:`with_later_end`): its duration runs to the
last end of its traces in the store, and ``after_window`` says so; its counts stay the
window's too.
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.cost.pricing import sum_micros
from pyflare_cli.analysis.stats.dimensions import is_llm, label, root_first

SESSION_SORTS = (
    *("start", "duration", "traces", "turns", "input_tokens", "output_tokens"),
    *("cost", "errors", "user", "session"),
)
USER_SORTS = ("last_seen", "sessions", "requests", "turns", "cost", "error_rate", "user")


def is_turn() -> pl.Expr:
    """An LLM call that is not an embedding."""
    return is_llm() & (pl.col("ai_kind") != "embedding").fill_null(True)


def _traces(spans: pl.LazyFrame) -> pl.LazyFrame:
    """One row per trace: session, user, times, calls, tokens, cost, failure, root.

    A trace's session and user are the first met from the root down (no per-span fill
    from the trace is needed: only the trace's value is kept)."""
    llm = is_llm()
    return spans.group_by("trace_id").agg(
        root_first(pl.col("session_id"), skip_nulls=True),
        root_first(pl.col("user_id"), skip_nulls=True),
        pl.col("start_time").min().alias("start"),
        pl.col("end_time").max().alias("end"),
        is_turn().sum().alias("turns"),
        pl.when(llm).then(pl.col("input_tokens")).sum().alias("input_tokens"),
        pl.when(llm).then(pl.col("output_tokens")).sum().alias("output_tokens"),
        sum_micros().alias("cost_micros"),
        (pl.col("status_code") == "error").any().alias("failed"),
        pl.col("model").filter(llm).drop_nulls().unique().alias("models"),
        label("tool").drop_nulls().unique().alias("tools"),
        root_first(pl.col("name")).alias("root"),
        root_first(pl.col("service_name")).alias("service"),
    )


def session_table(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Per session: user, start, duration, traces, turns, models, tools, tokens, cost, errors."""
    return (
        _traces(spans)
        .filter(pl.col("session_id").is_not_null())
        .group_by(pl.col("session_id").alias("session"))
        .agg(
            pl.col("user_id").sort_by("start").drop_nulls().first().alias("user"),
            pl.col("start").min(),
            (pl.col("end").max() - pl.col("start").min()).dt.total_nanoseconds().alias("duration"),
            pl.len().alias("traces"),
            pl.col("turns").sum(),
            pl.col("models").explode().drop_nulls().unique().sort().alias("models"),
            pl.col("tools").explode().drop_nulls().unique().sort().alias("tools"),
            pl.col("input_tokens").sum(),
            pl.col("output_tokens").sum(),
            (pl.col("cost_micros").sum() / 1_000_000).alias("cost"),
            pl.col("failed").sum().alias("errors"),
        )
    )


def with_earlier_start(table: pl.LazyFrame, first: pl.LazyFrame) -> pl.LazyFrame:
    """Sessions of ``table`` with their first span before the window (``first``: one row
    per session, ``session`` and ``first_start``): ``start`` is that span's start,
    ``duration`` runs from it, ``before_window`` is true. Other sessions are unchanged."""
    joined = table.join(first, on="session", how="left", maintain_order="left")
    before = pl.col("first_start").is_not_null() & (pl.col("first_start") < pl.col("start"))
    earlier = (pl.col("start") - pl.col("first_start")).dt.total_nanoseconds()
    return joined.with_columns(
        pl.when(before).then(pl.col("first_start")).otherwise(pl.col("start")).alias("start"),
        pl.when(before)
        .then(pl.col("duration") + earlier)
        .otherwise(pl.col("duration"))
        .alias("duration"),
        before.alias("before_window"),
    ).drop("first_start")


def first_starts(spans: pl.LazyFrame, sessions: pl.Series) -> pl.LazyFrame:
    """The first start of each of ``sessions`` among ``spans`` that name it."""
    return (
        spans.filter(pl.col("session_id").is_in(sessions.implode()))
        .group_by(pl.col("session_id").alias("session"))
        .agg(pl.col("start_time").min().alias("first_start"))
    )


def later_traces(spans: pl.LazyFrame, sessions: pl.Series) -> pl.LazyFrame:
    """The traces (``trace_id``, ``session``) of ``spans`` where a span names one of
    ``sessions``: where those sessions went on."""
    return (
        spans.filter(pl.col("session_id").is_in(sessions.implode()))
        .select("trace_id", pl.col("session_id").alias("session"))
        .unique()
    )


def last_ends(spans: pl.LazyFrame, traces: pl.DataFrame) -> pl.LazyFrame:
    """Per session of ``traces`` (from :func:`later_traces`): the last end of any span of
    its traces among ``spans`` (``last_end``), the spans that carry no session included."""
    ends = (
        spans.filter(pl.col("trace_id").is_in(traces.get_column("trace_id").implode()))
        .group_by("trace_id")
        .agg(pl.col("end_time").max().alias("last_end"))
    )
    return traces.lazy().join(ends, on="trace_id").group_by("session").agg(pl.col("last_end").max())


def with_later_end(table: pl.LazyFrame, last: pl.LazyFrame) -> pl.LazyFrame:
    """Sessions of ``table`` (``start``, ``duration``) whose traces end later than the
    window shows (``last``: ``session``, ``last_end``, from :func:`last_ends`):
    ``duration`` runs to that end and ``after_window`` is true. Others are unchanged."""
    joined = table.join(last, on="session", how="left", maintain_order="left")
    to_last = (pl.col("last_end") - pl.col("start")).dt.total_nanoseconds()
    after = pl.col("last_end").is_not_null() & (to_last > pl.col("duration"))
    return joined.with_columns(
        pl.when(after).then(to_last).otherwise(pl.col("duration")).alias("duration"),
        after.alias("after_window"),
    ).drop("last_end")


def user_table(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Per user: sessions, requests (traces), turns, cost, error rate, first and last seen."""
    return (
        _traces(spans)
        .filter(pl.col("user_id").is_not_null())
        .group_by(pl.col("user_id").alias("user"))
        .agg(
            pl.col("session_id").drop_nulls().n_unique().alias("sessions"),
            pl.len().alias("requests"),
            pl.col("turns").sum(),
            (pl.col("cost_micros").sum() / 1_000_000).alias("cost"),
            pl.col("failed").sum().alias("errors"),
            (pl.col("failed").sum() / pl.len()).alias("error_rate"),
            pl.col("start").min().alias("first_seen"),
            pl.col("end").max().alias("last_seen"),
        )
    )


def sort_rows(table: pl.LazyFrame, by: str, ascending: bool) -> pl.LazyFrame:
    """Largest (or latest) first unless ``ascending``; names ascending by default."""
    names = by in ("user", "session")
    descending = not ascending and not names
    return table.sort(
        [by, table.collect_schema().names()[0]], descending=[descending, False], nulls_last=True
    )


def session_traces(spans: pl.LazyFrame, session: str) -> pl.LazyFrame:
    """The traces of one session in time order: root, service, duration, cost, outcome."""
    return (
        _traces(spans)
        .filter(pl.col("session_id") == session)
        .sort("start", "trace_id")
        .select(
            "trace_id",
            "start",
            "root",
            "service",
            (pl.col("end") - pl.col("start")).dt.total_nanoseconds().alias("duration"),
            "turns",
            (pl.col("cost_micros") / 1_000_000).alias("cost"),
            pl.when(pl.col("failed"))
            .then(pl.lit("error"))
            .otherwise(pl.lit("ok"))
            .alias("outcome"),
        )
    )


def session_trace_ids(spans: pl.LazyFrame, session: str) -> pl.LazyFrame:
    """The ids of the traces that belong to ``session`` (on any of their spans)."""
    return spans.filter(pl.col("session_id") == session).select("trace_id").unique()


def conversation(spans: pl.LazyFrame) -> pl.LazyFrame:
    """The LLM calls of ``spans`` in time order with their input and output text."""
    return (
        spans.filter(is_turn())
        .sort("start_time", "span_id")
        .select(
            "trace_id",
            "span_id",
            "start_time",
            "model",
            "status_code",
            "input_text",
            "output_text",
        )
    )
