"""What rca's report reads from the span rows besides the cube, behind one small interface.

The slice search reads the cube (a few thousand rows); the rest of the report needs a few
small answers that the cube cannot give: when each new version or value was first seen
(in the window and before it) and its example traces, the error rows with their messages
(the failure templates and the example traces of slices), and the lead slices' counts split
at a deployment's time (the before/after-deploy check). :class:`RowReader` names those
questions; :class:`FrameRows` answers them from Polars frames (rca's own path), and
``engine.rca_rows`` answers them with SQL where the spans live, so the statistics that read
the answers are the same code on every engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

import polars as pl

from pyflare_cli.analysis.rca.dimensions import Dimension
from pyflare_cli.analysis.rca.failures import error_message
from pyflare_cli.analysis.rca.passes import TERMS, slice_counts

Conditions = Sequence[Sequence[tuple[str, str]]]


class Sighting(NamedTuple):
    """A value of a change dimension: its first target row, its first row before the
    target window (None when never seen or no history), its example trace ids."""

    first: datetime | None
    before: datetime | None
    examples: list[str]


class RowReader(Protocol):
    def sightings(self, pairs: Sequence[tuple[Dimension, str]]) -> list[Sighting]:
        """Per (dimension, value): the target's first row and examples (worst rows, then
        earliest), and the first sighting before the target window."""

    def error_rows(self, dimensions: Sequence[Dimension]) -> pl.DataFrame:
        """The error rows of both windows (origin errors for ``--unit origin``):
        ``target``, ``trace_id``, ``start_time``, ``y``, a column per dimension,
        ``span_id``, ``message``, in time order (then trace and span id)."""

    def examples(self, slices: pl.DataFrame, errors: pl.DataFrame) -> dict[str, list[str]]:
        """Up to three target trace ids per slice, worst rows first (:func:`slice_examples`
        of the error rows for errors, of the unit rows otherwise)."""

    def split_counts(
        self, at: datetime, conditions: Conditions, dimensions: Sequence[Dimension]
    ) -> pl.DataFrame:
        """:func:`passes.slice_counts` of the target's rows by ``after`` (started at or
        after ``at``), ``after`` taking the place of ``target`` in the sums."""


ERROR_ORDER = ["start_time", "trace_id", "span_id"]
EXAMPLE_ORDER = ["y", "start_time", "trace_id"]
"""A slice's example traces: the worst ``y`` first, ties in time order, then by trace id."""


def first_before(history: pl.LazyFrame | None, dim: Dimension, value: str) -> datetime | None:
    """When ``dim`` first took ``value`` in ``history`` (the spans before the target
    window): None when it never did or there is no history."""
    if history is None:
        return None
    expr = dim.expr.cast(pl.String)
    first: datetime | None = (
        history.filter(expr == value).select(pl.col("start_time").min()).collect().item()
    )
    return first


class FrameRows:
    """:class:`RowReader` over lazy Polars frames: ``spans`` (both windows with
    ``target``), the unit ``frame`` and ``history`` (spans before the target, or None)."""

    def __init__(
        self,
        spans: pl.LazyFrame,
        frame: pl.LazyFrame,
        history: pl.LazyFrame | None,
        unit: str,
        binary: bool,
        per_trace: bool,
    ) -> None:
        self.spans, self.frame, self.history = spans, frame, history
        self.unit, self.binary, self.per_trace = unit, binary, per_trace

    def sightings(self, pairs: Sequence[tuple[Dimension, str]]) -> list[Sighting]:
        found = []
        for dim, value in pairs:
            mine = self.frame.filter(pl.col("target") & (pl.col(dim.name) == value))
            row = mine.select(
                pl.col("start_time").min().alias("first"),
                pl.col("trace_id")
                .sort_by(["y", "start_time"], descending=[True, False])
                .unique(maintain_order=True)
                .head(3)
                .implode()
                .alias("examples"),
            ).collect()
            before = first_before(self.history, dim, value)
            examples = [str(t) for t in row.item(0, "examples").to_list()]
            found.append(Sighting(row.item(0, "first"), before, examples))
        return found

    def error_rows(self, dimensions: Sequence[Dimension]) -> pl.DataFrame:
        messages = (
            self.spans.filter(pl.col("status_code") == "error")
            .select(
                pl.col("trace_id").cast(pl.Categorical),
                pl.col("span_id").hash().alias("key"),
                pl.col("span_id").alias("span_ref"),
                error_message().alias("message"),
            )
            .collect(engine="streaming")
            .lazy()
        )
        names = [d.name for d in dimensions]
        key = pl.col("span_id").alias("key")
        rows = self.frame.select("target", "trace_id", key, "start_time", "y", *names)
        if self.unit == "origin" and self.binary:
            rows = rows.filter(pl.col("y") > 0)
        # joined first, on the compact ids: only the error rows become strings
        joined = rows.join(messages, on=["trace_id", "key"], how="inner").with_columns(
            pl.col("trace_id", *names).cast(pl.String)
        )
        # in time order: the streaming join's row order varies from run to run, and the
        # examples of templates and slices are the first rows of each
        rows_out = joined.drop("key").rename({"span_ref": "span_id"})
        return rows_out.sort(ERROR_ORDER).collect()

    def examples(self, slices: pl.DataFrame, errors: pl.DataFrame) -> dict[str, list[str]]:
        return slice_examples(errors.lazy() if self.binary else self.frame, slices)

    def split_counts(
        self, at: datetime, conditions: Conditions, dimensions: Sequence[Dimension]
    ) -> pl.DataFrame:
        target = (
            self.frame.filter(pl.col("target"))
            .drop(TERMS, strict=False)
            .with_columns(
                (pl.col("start_time") >= at).alias("after"),
                # before/after take the places of baseline/target in the sums
                (pl.col("start_time") >= at).alias("target"),
            )
        )
        return slice_counts(target, conditions, self.per_trace, ["after"])


def slice_condition(conditions: list[str]) -> pl.Expr:
    """A slice's ``key = value`` conditions as one filter expression."""
    condition = pl.lit(True)
    for text in conditions:
        key, value = text.split(" = ", 1)
        condition = condition & (pl.col(key) == value)
    return condition


def slice_examples(source: pl.LazyFrame, slices: pl.DataFrame) -> dict[str, list[str]]:
    """Up to three target trace ids per slice of ``source`` (rows with ``target``, ``y``,
    ``trace_id``, ``start_time`` and the dimensions), worst rows first, ties (every error
    row has one ``y``) in time order, then by trace id: a sort keeps no order of equal
    keys, so on ``y`` alone the examples followed the rows' order, which varies run to run."""
    found: dict[str, list[str]] = {}
    for name, conditions in slices.select("slice", "conditions").iter_rows():
        ids = (
            source.filter(pl.col("target") & slice_condition(conditions))
            .sort(EXAMPLE_ORDER, descending=[True, False, False])
            .select(pl.col("trace_id").unique(maintain_order=True).head(3))
            .collect()
        )
        found[name] = [str(t) for t in ids.get_column("trace_id").to_list()]
    return found
