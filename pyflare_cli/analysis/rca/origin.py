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

import numpy as np
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


def covered_ns(spans: pl.LazyFrame) -> pl.DataFrame:
    """``trace_key``, ``span_key`` (:func:`keys`) and ``covered_ns`` of every span with
    children: the union of its children's intervals clipped to its own (overlapping
    children count once). Collected: one row per parent span."""
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
            pl.max_horizontal("start_time", "p_start").dt.epoch("ns").alias("s"),
            pl.min_horizontal("end_time", "p_end").dt.epoch("ns").alias("e"),
        )
        .filter(pl.col("e") > pl.col("s"))
        .sort(*group, "s")
        .collect(engine="streaming")
    )
    first = children.select(pl.struct(group).rle_id().diff().fill_null(1) != 0).to_series()
    starts = first.to_numpy()
    s, e = children["s"].to_numpy(), children["e"].to_numpy()
    # a child covers from its start or the furthest end of the earlier children, if later
    ns = np.clip(e - np.maximum(s, previous_max(e, starts)), 0, None)
    at = np.flatnonzero(starts)
    sums = np.add.reduceat(ns, at) if at.size else np.zeros(0, np.int64)
    return children[at].select(
        pl.col("trace_key"),
        pl.col("parent_key").alias("span_key"),
        pl.Series("covered_ns", sums, pl.Int64),
    )


def previous_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per row, the largest of the earlier rows of its run (runs begin where ``starts`` is
    True), the smallest int64 for a run's first row: a segmented scan by doubling (log2 of
    the longest run steps of NumPy), which a window function over ~400k small groups took
    0.9 s CPU of for 630k rows."""
    low = np.iinfo(np.int64).min
    run = np.cumsum(starts)
    best = values.copy()
    step = 1
    while step < best.size:
        same = run[step:] == run[:-step]
        if not same.any():
            break
        earlier = np.where(same, best[:-step], low)
        best[step:] = np.maximum(best[step:], earlier)
        step *= 2
    before = np.empty_like(best)
    if best.size:
        before[0] = low
        before[1:] = best[:-1]
        before[starts] = low
    return before


def span_key() -> pl.Expr:
    """One 8-byte key per span, from its trace and span ids (their hashes hashed together)."""
    return pl.struct(pl.col("trace_id").hash(), pl.col("span_id").hash()).hash()


def self_ms_of(covered: pl.DataFrame) -> pl.Expr:
    """A span's self time in ms (:func:`self_ms`), its covered time looked up in ``covered``
    (:func:`covered_ns`, collected) by :func:`span_key` in an open-addressing hash table
    (:class:`KeyTable`), batch by batch, so the span rows stream past it. A join holds its
    probe side whole in Polars' streaming engine (measured on 7M spans: 2.5 GiB against
    0.4 GiB). A span whose key collides with a parent's (64-bit keys: about one in a million
    windows of 10M spans) would take its covered time."""
    pairs = covered.select(pl.struct("trace_key", "span_key").hash().alias("key"), "covered_ns")
    table = KeyTable(pairs["key"].to_numpy(), pairs["covered_ns"].to_numpy())

    def look_up(batch: pl.Series) -> pl.Series:
        return pl.Series(table.get(batch.to_numpy()), dtype=pl.Int64)

    found = span_key().map_batches(look_up, return_dtype=pl.Int64, is_elementwise=True)
    own = pl.col("duration_ns") - found
    return own.clip(lower_bound=0) / 1e6


class KeyTable:
    """UInt64 keys -> Int64 values, NumPy only: linear probing in a power-of-two table at
    most half full, so a look-up is one or two random reads (a sorted array's binary search
    is twenty, and cost 3x the CPU on 7M spans)."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        size = 1 << max(4, int(2 * max(keys.size, 1) - 1).bit_length())
        self.mask = np.uint64(size - 1)
        self.keys = np.zeros(size, np.uint64)
        self.values = np.zeros(size, np.int64)
        self.used = np.zeros(size, bool)
        slot = keys & self.mask
        pending = np.arange(keys.size)
        while pending.size:
            at = slot[pending]
            free = ~self.used[at]
            # the first pending key of each free slot takes it; the rest move on
            _, first = np.unique(at[free], return_index=True)
            taken = pending[free][first]
            self.keys[slot[taken]] = keys[taken]
            self.values[slot[taken]] = values[taken]
            self.used[slot[taken]] = True
            left = np.setdiff1d(pending, taken, assume_unique=True)
            slot[left] = (slot[left] + np.uint64(1)) & self.mask
            pending = left

    def get(self, wanted: np.ndarray) -> np.ndarray:
        """The value of each key of ``wanted``; 0 where it is not in the table."""
        out = np.zeros(wanted.size, np.int64)
        slot = wanted & self.mask
        pending = np.arange(wanted.size)
        while pending.size:
            at = slot[pending]
            here = self.used[at]
            hit = here & (self.keys[at] == wanted[pending])
            out[pending[hit]] = self.values[at[hit]]
            pending = pending[here & ~hit]
            slot[pending] = (slot[pending] + np.uint64(1)) & self.mask
        return out


def self_ms() -> pl.Expr:
    """A span's self time in ms from its ``duration_ns`` and ``covered_ns`` (null: none)."""
    own = pl.col("duration_ns") - pl.col("covered_ns").fill_null(0)
    return own.clip(lower_bound=0) / 1e6


def self_time_ms(spans: pl.LazyFrame) -> pl.LazyFrame:
    """``trace_key``, ``span_key`` (:func:`keys`) and ``self_ms``: duration minus the union
    of its children's intervals clipped to its own (overlapping children count once)."""
    return (
        spans.select(*keys(), "duration_ns")
        .join(covered_ns(spans).lazy(), on=["trace_key", "span_key"], how="left")
        .select("trace_key", "span_key", self_ms().alias("self_ms"))
    )
