"""Per evaluator (and group): how many results, their mean, the pass rate, the change.

A result passes when its score meets the evaluator's threshold (``--min``/``--max``);
without a threshold, when its label is one of :data:`PASS_LABELS` (and fails for
:data:`FAIL_LABELS`; other labels count as neither). Relational and lazy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

GROUPS = {
    "model": "model",
    "provider": "provider",
    "service": "service_name",
    "version": "service_version",
    "agent": "agent_name",
    "environment": "environment",
}
"""``--by`` names and the span column each reads; ``attr.<key>`` reads an attribute."""
TRACE_WIDE = ("model", "provider", "agent_name")
"""An evaluated root span without a model takes its trace's first one."""

PASS_LABELS = (
    "pass", "passed", "true", "yes", "correct", "factual", "relevant", "grounded", "supported",
    "safe", "clean", "non-toxic", "non_toxic", "ok", "good",
)  # fmt: skip
FAIL_LABELS = (
    "fail", "failed", "false", "no", "incorrect", "hallucinated", "irrelevant", "unrelated",
    "ungrounded", "unsupported", "toxic", "unsafe", "pii", "injection", "bad", "error",
)  # fmt: skip
UNKNOWN = "(none)"


@dataclass(frozen=True)
class Threshold:
    """A bound on one evaluator's scores: the mean (and each result) must be >= min / <= max."""

    evaluator: str
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        if self.minimum is not None:
            return f">= {self.minimum:g}"
        return f"<= {self.maximum:g}"


def group_expr(name: str) -> pl.Expr:
    """The span column or attribute behind ``--by name``, labelled ``name``."""
    if name.startswith("attr."):
        return pl.col("attributes").map.get(name[5:]).alias(name)
    return pl.col(GROUPS[name]).alias(name)


def with_groups(scores: pl.LazyFrame, spans: pl.LazyFrame, by: Sequence[str]) -> pl.LazyFrame:
    """``scores`` with the ``by`` values of the spans they grade (``(none)`` when unknown)."""
    if not by:
        return scores
    needed = {GROUPS[b] for b in by if not b.startswith("attr.")}
    if any(b.startswith("attr.") for b in by):
        needed.add("attributes")
    fallback = [c for c in TRACE_WIDE if c in needed]
    targets = spans.select("trace_id", "span_id", *sorted(needed)).with_columns(
        pl.col(c).fill_null(pl.col(c).drop_nulls().first().over("trace_id")) for c in fallback
    )
    # Only the graded spans (a semi-join first: the de-duplication and the join then
    # hash the graded spans' keys, not every span's).
    graded = scores.select("trace_id", "span_id").unique()
    targets = (
        targets.select("trace_id", "span_id", *(group_expr(b) for b in by))
        .join(graded, on=["trace_id", "span_id"], how="semi")
        .unique(["trace_id", "span_id"], keep="first", maintain_order=True)
    )
    return scores.join(targets, on=["trace_id", "span_id"], how="left").with_columns(
        pl.col(b).cast(pl.String).fill_null(UNKNOWN) for b in by
    )


def passed(thresholds: Mapping[str, Threshold]) -> pl.Expr:
    """Whether each result passes: its evaluator's threshold, else its label; else null."""
    label = pl.col("label").str.to_lowercase().str.strip_chars()
    by_label = (
        pl.when(label.is_in(PASS_LABELS))
        .then(True)
        .when(label.is_in(FAIL_LABELS))
        .then(False)
        .otherwise(None)
    )
    expr: pl.Expr = by_label
    for name, bound in thresholds.items():
        score = pl.col("score")
        test = score >= bound.minimum if bound.minimum is not None else score <= bound.maximum
        expr = pl.when(pl.col("evaluator") == name).then(test).otherwise(expr)
    return expr


def summarise(
    scores: pl.LazyFrame, by: Sequence[str], thresholds: Mapping[str, Threshold]
) -> pl.LazyFrame:
    """One row per (evaluator, *by): results, scored, mean, pass_rate, failed."""
    ok = passed(thresholds)
    return (
        scores.with_columns(ok.alias("passed"))
        .group_by("evaluator", *by)
        .agg(
            pl.len().alias("results"),
            pl.col("score").is_not_null().sum().alias("scored"),
            pl.col("score").mean().alias("mean"),
            pl.col("passed").mean().alias("pass_rate"),
            (~pl.col("passed")).sum().alias("failed"),
        )
        .sort("evaluator", *by, nulls_last=True)
    )


def with_change(current: pl.LazyFrame, previous: pl.LazyFrame, by: Sequence[str]) -> pl.LazyFrame:
    """``current`` with ``mean_change`` and ``pass_rate_change`` against ``previous``."""
    keys = ["evaluator", *by]
    before = previous.select(
        *keys, pl.col("mean").alias("_mean"), pl.col("pass_rate").alias("_pass")
    )
    return (
        current.join(before, on=keys, how="left", nulls_equal=True)
        .with_columns(
            (pl.col("mean") - pl.col("_mean")).alias("mean_change"),
            (pl.col("pass_rate") - pl.col("_pass")).alias("pass_rate_change"),
        )
        .drop("_mean", "_pass")
        .sort(keys, nulls_last=True)
    )


def series(scores: pl.LazyFrame, every: str) -> pl.LazyFrame:
    """The mean score per evaluator per ``every`` (``1h``, ``1d``), for sparklines."""
    return (
        scores.filter(pl.col("score").is_not_null())
        .group_by("evaluator", pl.col("time").dt.truncate(every).alias("bucket"))
        .agg(pl.col("score").mean().alias("mean"))
        .sort("evaluator", "bucket")
    )
