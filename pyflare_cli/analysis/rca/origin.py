"""Errors where they start, and time a span spends on its own: the units rca counts.

A failing LLM call usually fails its parents too (the agent span, the gateway root): each
of them carries the status ``error``, but only the deepest one is a cause. An *origin
error* is an error span with no erroring descendant; counting those instead of every error
span keeps a failure from being counted once per ancestor (and so from inflating slices,
such as a region, that the ancestors share).

Likewise for latency, a parent's duration contains its children's: a span's *self time*
is its duration minus the time covered by at least one of its children (clipped to the
parent's interval), the time that span itself accounts for.

Both are vectorised over parent links (joins, no per-span Python): the origin rule walks
up from the error spans one generation per join, on the links of failing traces only.
"""

from __future__ import annotations

import polars as pl

MAX_DEPTH = 256
"""Generations walked up from an error span; deeper trees (or cycles) stop here."""

KEYS = ["trace_id", "span_id"]


def origin_errors(errors: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """The error spans (``trace_id``, ``span_id``) with no erroring descendant.

    ``errors``: ``trace_id``, ``span_id``, ``parent_span_id`` of the error spans.
    ``links``: the same three columns for (at least) every span of the traces that hold an
    error, so the walk can pass through spans that did not fail themselves. A parent link
    to a span that is not there (a lost parent) ends the walk; a cycle ends when no new
    ancestor is found.
    """
    links = links.select([*KEYS, "parent_span_id"]).unique(KEYS)
    above = errors.select(
        pl.col("trace_id"), pl.col("parent_span_id").alias("span_id")
    ).drop_nulls()
    ancestors = above.unique()
    frontier = ancestors
    for _ in range(MAX_DEPTH):
        parents = (
            frontier.join(links, on=KEYS, how="inner")
            .select(pl.col("trace_id"), pl.col("parent_span_id").alias("span_id"))
            .drop_nulls()
            .unique()
        )
        frontier = parents.join(ancestors, on=KEYS, how="anti")
        if frontier.height == 0:
            break
        ancestors = pl.concat([ancestors, frontier])
    return errors.select(KEYS).unique().join(ancestors, on=KEYS, how="anti")


def origin_error_spans(spans: pl.LazyFrame) -> pl.DataFrame:
    """:func:`origin_errors` of a lazy span frame: collects only the error rows and the
    parent links of the traces that hold one, streamed from the scan, the links as 8-byte
    hashes (a third of the strings' size; a trace's ids never collide in 64 bits)."""
    is_error = pl.col("status_code") == "error"
    errors = (
        spans.filter(is_error)
        .select("trace_id", "span_id", *_hashed_links())
        .collect(engine="streaming")
    )
    if errors.height == 0:
        return errors.select(KEYS)
    failing = errors.select(pl.col("t").alias("trace_key")).unique()
    links = (
        spans.select(*_hashed_links())
        .join(failing.lazy(), left_on="t", right_on="trace_key", how="semi")
        .collect(engine="streaming")
    )
    walked = {"t": "trace_id", "s": "span_id", "p": "parent_span_id"}
    origins = origin_errors(errors.select(*walked).rename(walked), links.rename(walked))
    back = {"trace_id": "t", "span_id": "s"}
    return errors.join(origins.rename(back), on=["t", "s"], how="semi").select(KEYS).unique(KEYS)


def _hashed_links() -> list[pl.Expr]:
    """A span's trace, span and parent ids as hashes ``t``, ``s``, ``p`` (null parent
    stays null)."""
    parent = pl.col("parent_span_id")
    return [
        pl.col("trace_id").hash().alias("t"),
        pl.col("span_id").hash().alias("s"),
        pl.when(parent.is_not_null()).then(parent.hash()).alias("p"),
    ]


def keys() -> list[pl.Expr]:
    """A span's trace and span ids as 8-byte hashes (``trace_key``, ``span_key``): joins on
    them hold a fraction of what joins on the hex strings hold."""
    return [
        pl.col("trace_id").hash().alias("trace_key"),
        pl.col("span_id").hash().alias("span_key"),
    ]


def covered_ns(spans: pl.LazyFrame) -> pl.LazyFrame:
    """``trace_key``, ``span_key`` (:func:`keys`) and ``covered_ns`` of every span with
    children: the union of its children's intervals clipped to its own (overlapping
    children count once)."""
    trace, parent = pl.col("trace_id").hash(), pl.col("parent_span_id").hash()
    parents = spans.select(
        trace.alias("trace_key"),
        pl.col("span_id").hash().alias("parent_key"),
        pl.col("start_time").alias("p_start"),
        pl.col("end_time").alias("p_end"),
    )
    group = ["trace_key", "parent_key"]
    children = (
        spans.filter(pl.col("parent_span_id").is_not_null())
        .select(trace.alias("trace_key"), parent.alias("parent_key"), "start_time", "end_time")
        .join(parents, on=group, how="inner")
        .select(
            *group,
            pl.max_horizontal("start_time", "p_start").alias("s"),
            pl.min_horizontal("end_time", "p_end").alias("e"),
        )
        .filter(pl.col("e") > pl.col("s"))
        .sort(*group, "s")
    )
    reached = pl.col("e").cum_max().shift(1).over(group)
    return (
        children.with_columns(pl.max_horizontal("s", reached).alias("from"))
        .select(
            *group,
            (pl.col("e") - pl.col("from")).dt.total_nanoseconds().clip(lower_bound=0).alias("ns"),
        )
        .group_by(group)
        .agg(pl.col("ns").sum().alias("covered_ns"))
        .rename({"parent_key": "span_key"})
    )


def self_ms() -> pl.Expr:
    """A span's self time in ms from its ``duration_ns`` and ``covered_ns`` (null: none)."""
    own = pl.col("duration_ns") - pl.col("covered_ns").fill_null(0)
    return own.clip(lower_bound=0) / 1e6


def self_time_ms(spans: pl.LazyFrame) -> pl.LazyFrame:
    """``trace_key``, ``span_key`` (:func:`keys`) and ``self_ms``: duration minus the union
    of its children's intervals clipped to its own (overlapping children count once)."""
    return (
        spans.select(*keys(), "duration_ns")
        .join(covered_ns(spans), on=["trace_key", "span_key"], how="left")
        .select("trace_key", "span_key", self_ms().alias("self_ms"))
    )
