"""Evaluate an ``eval:`` condition: an evaluator's results in the window, per label set.

Pure: the window's results (every convention in one table: ``alert check`` passes
``query.eval_scores.window_scores``, the read of ``pyflare eval summary``; rule tests the
results their spans carry, :func:`results_in_spans`) and the spans that label them in,
:class:`Sample` lists out. A result passes as it does in ``eval summary``
(:func:`analysis.eval.summary.passed`). A result is labelled by the span it grades (an
evaluator span grades the span it links to); a graded span without a model, provider or
agent takes its trace's first one, as ``eval summary --by`` does.

No data fails closed: with fewer than ``min_results`` results (scored ones for ``mean``,
judged ones for ``pass_rate``) in every label set, :class:`NoScores` is raised (the rule
is not evaluated: ``alert check`` says so and fails) or, with ``no_data: alerting``, one
active sample labelled ``no_data="true"`` is returned.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import polars as pl

from pyflare_cli.alerting.engine.evaluate import OPERATORS, Sample
from pyflare_cli.alerting.engine.measures import label_expr
from pyflare_cli.alerting.rules.model import EvalCondition, Rule
from pyflare_cli.analysis.eval.scores import all_scores, empty_scores
from pyflare_cli.analysis.eval.summary import Threshold, passed
from pyflare_cli.analysis.search.compile import compile_query
from pyflare_cli.errors import PyflareError

if TYPE_CHECKING:
    from polars._typing import JoinStrategy

TRACE_WIDE = ("model", "provider", "agent")
"""Labels a graded span without one takes from its trace (an evaluated root span)."""


class NoScores(PyflareError):
    """The evaluator has too few results in the window to judge: the rule has no data."""


def in_window(frame: pl.LazyFrame, column: str, window: timedelta, now: datetime) -> pl.LazyFrame:
    return frame.filter((pl.col(column) >= now - window) & (pl.col(column) < now))


def results_in_spans(spans: pl.LazyFrame, rule: Rule, now: datetime) -> pl.LazyFrame:
    """The results the spans of the rule's window carry (rule tests: no store to read)."""
    return all_scores(in_window(spans, "start_time", rule.window, now), empty_scores())


def labelled_results(
    spans: pl.LazyFrame,
    scores: pl.LazyFrame,
    condition: EvalCondition,
    rule: Rule,
    now: datetime,
) -> pl.LazyFrame:
    """The evaluator's results of the window with ``passed`` and the ``by`` labels."""
    window = in_window(spans, "start_time", rule.window, now)
    scores = scores.filter(pl.col("evaluator") == condition.evaluator)
    targets = window
    if condition.where:
        targets = targets.filter(compile_query(condition.where, now))
    by = list(condition.by)
    fill = [b for b in by if b in TRACE_WIDE]
    labels = (
        targets.select("trace_id", "span_id", *(label_expr(b) for b in by))
        .with_columns(
            pl.when(pl.col(b) == "")
            .then(pl.col(b).filter(pl.col(b) != "").first().over("trace_id"))
            .otherwise(pl.col(b))
            .fill_null("")
            .alias(b)
            for b in fill
        )
        .unique(["trace_id", "span_id"], keep="first")
    )
    how: JoinStrategy = "inner" if condition.where else "left"  # where: matching spans only
    bound = Threshold(condition.evaluator, condition.pass_min, condition.pass_max)
    bounds = (
        {}
        if condition.pass_min is None and condition.pass_max is None
        else {condition.evaluator: bound}
    )
    return (
        scores.join(labels, on=["trace_id", "span_id"], how=how)
        .with_columns(pl.col(b).fill_null("") for b in by)
        .with_columns(passed(bounds).alias("passed"))
    )


def _aggregate(condition: EvalCondition) -> tuple[pl.Expr, pl.Expr]:
    """(value, the count that must reach ``min_results``) of one label set."""
    if condition.aggregate == "mean":
        return pl.col("score").mean(), pl.col("score").is_not_null().sum()
    if condition.aggregate == "pass_rate":
        return pl.col("passed").mean(), pl.col("passed").is_not_null().sum()
    return pl.len().cast(pl.Float64), pl.len()


def evaluate_eval(
    spans: pl.LazyFrame, scores: pl.LazyFrame, rule: Rule, condition: EvalCondition, now: datetime
) -> list[Sample]:
    """One sample per label set with enough results; :class:`NoScores` when none has.

    ``scores`` are the results graded in the rule's window (every convention, in
    :data:`analysis.eval.scores.SCORES`'s columns); ``spans`` label them.
    """
    results = labelled_results(spans, scores, condition, rule, now)
    by = list(condition.by)
    value, support = _aggregate(condition)
    frame = (
        results.group_by(by or pl.lit(0).alias("_all"))
        .agg(value.cast(pl.Float64).alias("value"), support.alias("support"))
        .collect()
    )
    compare = OPERATORS[condition.op]
    if condition.aggregate == "count" and not by and frame.height == 0:
        return [Sample({"evaluator": condition.evaluator}, 0.0, compare(0.0, condition.value))]
    enough = frame
    if condition.aggregate != "count":  # a count of results is its own "no data" answer
        enough = frame.filter(pl.col("support") >= condition.min_results)
    if enough.height == 0:
        return _no_data(rule, condition, int(frame.get_column("support").sum()))
    samples = []
    for row in enough.sort(by or "value").iter_rows(named=True):
        labels = {"evaluator": condition.evaluator, **{b: str(row[b]) for b in by}}
        samples.append(Sample(labels, row["value"], compare(row["value"], condition.value)))
    return samples


def _no_data(rule: Rule, condition: EvalCondition, found: int) -> list[Sample]:
    what = {"mean": "scored", "pass_rate": "pass/fail", "count": ""}[condition.aggregate]
    reason = (
        f"no data: {found} {what + ' ' if what else ''}result(s) of evaluator "
        f"{condition.evaluator!r} in the last {_span(rule.window)}"
        + (f" (min_results {condition.min_results})" if condition.min_results > 1 else "")
    )
    if condition.no_data == "alerting":
        return [Sample({"evaluator": condition.evaluator, "no_data": "true"}, None, True)]
    raise NoScores(reason)


def _span(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
