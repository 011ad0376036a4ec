"""Evaluate alert conditions once: which label sets of each rule are active, with what value.

Pure: spans and ``now`` in, :class:`Sample` lists out. The windowed conditions (threshold,
change, anomaly) are built as lazy queries and collected together, so 100 rules over a
million spans share one pass of Polars' engine. Drift and budget conditions call the
same analyses as `pyflare drift` and `pyflare cost budget`; composite conditions are
resolved by the state machine from the alert states (:mod:`engine.state_machine`).
"""

from __future__ import annotations

import fnmatch
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from pyflare_cli.alerting.engine.measures import fill_empty, label_expr, windows_frame
from pyflare_cli.alerting.rules.model import Anomaly, Change, Pattern, Rule, Threshold
from pyflare_cli.analysis.search.compile import compile_query

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
MAD_SCALE = 1.4826
"""Makes the median absolute deviation estimate a normal distribution's standard deviation."""


@dataclass(frozen=True)
class Sample:
    """One label set of a rule at this evaluation: its value and whether the condition holds."""

    labels: dict[str, str]
    value: float | None
    active: bool


def _labels(row: dict[str, object], by: Sequence[str]) -> dict[str, str]:
    return {name: str(row[name]) for name in by}


def _threshold(frame: pl.DataFrame, rule: Rule, condition: Threshold) -> list[Sample]:
    compare = OPERATORS[condition.op]
    current = frame.filter(pl.col("window") == 0)
    samples = []
    for row in current.iter_rows(named=True):
        value = row["value"]
        active = value is not None and not math.isnan(value) and compare(value, condition.value)
        samples.append(Sample(_labels(row, condition.measure.by), value, active))
    return samples


def _change(frame: pl.DataFrame, rule: Rule, condition: Change) -> list[Sample]:
    by = list(condition.measure.by)
    current = frame.filter(pl.col("window") == 0).rename({"value": "now"})
    before = frame.filter(pl.col("window") == 1).rename({"value": "before"})
    both = (
        current.drop("window").join(before.drop("window"), on=by, how="left")
        if by
        else pl.concat([current.drop("window"), before.drop("window")], how="horizontal_extend")
    )
    compare = OPERATORS[condition.op]
    samples = []
    for row in both.iter_rows(named=True):
        now, prev = row["now"], row.get("before")
        if now is None or prev is None:
            value = None
        elif condition.compare == "delta":
            value = now - prev
        else:
            value = now / prev if prev else None  # from nothing, a ratio means nothing
        active = value is not None and compare(value, condition.value)
        samples.append(Sample(_labels(row, by), value, active))
    return samples


def _anomaly(frame: pl.DataFrame, rule: Rule, condition: Anomaly) -> list[Sample]:
    by = list(condition.measure.by)
    samples = []
    groups = frame.partition_by(by, as_dict=True) if by else {(): frame}
    for key, group in groups.items():
        values = dict(group.select("window", "value").iter_rows())
        current = values.get(0)
        history = np.array(
            [v for w, v in values.items() if w > 0 and v is not None and not math.isnan(v)]
        )
        labels = dict(zip(by, (str(k) for k in key), strict=True))
        if current is None or history.size < 3:
            samples.append(Sample(labels, current, False))
            continue
        if condition.method == "mad":
            centre = float(np.median(history))
            spread = MAD_SCALE * float(np.median(np.abs(history - centre)))
        else:
            centre, spread = float(history.mean()), float(history.std(ddof=1))
        high, low = centre + condition.k * spread, centre - condition.k * spread
        above, below = current > high, current < low
        active = {"above": above, "below": below, "both": above or below}[condition.direction]
        samples.append(Sample(labels, current, bool(active)))
    return samples


def windowed_queries(
    spans: pl.LazyFrame, rules: Sequence[Rule], now: datetime
) -> dict[str, pl.LazyFrame]:
    """The lazy query of every threshold, change and anomaly rule, by rule name."""
    queries = {}
    for rule in rules:
        condition = rule.condition
        if isinstance(condition, Threshold):
            count = 1
        elif isinstance(condition, Change):
            count = 2
        elif isinstance(condition, Anomaly):
            count = condition.windows + 1
        else:
            continue
        queries[rule.name] = windows_frame(spans, condition.measure, rule.window, count, now)
    return queries


def evaluate_windowed(
    spans: pl.LazyFrame, rules: Sequence[Rule], now: datetime
) -> dict[str, list[Sample]]:
    """Samples of every threshold, change and anomaly rule, collected in one go."""
    queries = windowed_queries(spans, rules, now)
    frames = dict(zip(queries, pl.collect_all(list(queries.values())), strict=True))
    return windowed_samples(frames, rules)


def windowed_samples(
    frames: dict[str, pl.DataFrame], rules: Sequence[Rule]
) -> dict[str, list[Sample]]:
    """Samples of every threshold, change and anomaly rule from its measure's frame (as
    :func:`measures.windows_frame` makes it, on Polars or on another engine)."""
    out: dict[str, list[Sample]] = {}
    for rule in rules:
        if rule.name not in frames:
            continue
        condition = rule.condition
        frame = frames[rule.name]
        if isinstance(condition, Threshold):
            out[rule.name] = _threshold(fill_empty(frame, condition.measure, 1), rule, condition)
        elif isinstance(condition, Change):
            out[rule.name] = _change(fill_empty(frame, condition.measure, 2), rule, condition)
        elif isinstance(condition, Anomaly):
            filled = fill_empty(frame, condition.measure, condition.windows + 1)
            out[rule.name] = _anomaly(filled, rule, condition)
    return out


def error_messages(spans: pl.LazyFrame, start: datetime, now: datetime) -> pl.LazyFrame:
    """The error spans of ``[start, now)`` with ``message`` (type: message)."""
    from pyflare_cli.analysis.rca.failures import error_message

    return spans.filter(
        (pl.col("start_time") >= start)
        & (pl.col("start_time") < now)
        & (pl.col("status_code") == "error")
    ).with_columns(error_message().alias("message"))


def evaluate_pattern(
    spans: pl.LazyFrame, rule: Rule, condition: Pattern, now: datetime
) -> list[Sample]:
    """Error messages matching the regex or template, counted per ``by`` labels."""
    errors = error_messages(spans, now - rule.window, now)
    if condition.where:
        errors = errors.filter(compile_query(condition.where, now))
    frame = errors.with_columns(label_expr(name) for name in condition.by).collect()
    messages = frame.get_column("message").fill_null("")
    if condition.regex is not None:
        hit = messages.str.contains(condition.regex)
    else:
        from pyflare_cli.analysis.rca.templates import mine

        templates, ids = mine(messages)
        wanted = condition.template or ""
        chosen = [
            t.template_id
            for t in templates
            if t.text == wanted or fnmatch.fnmatchcase(t.text, wanted)
        ]
        hit = ids.is_in(chosen).fill_null(False)
    counts = frame.filter(hit).group_by(list(condition.by) or pl.lit(0)).len()
    samples = []
    by = list(condition.by)
    if not by:
        count = int(counts.get_column("len").sum()) if counts.height else 0
        return [Sample({}, float(count), count >= condition.min_count)]
    for row in counts.iter_rows(named=True):
        samples.append(
            Sample(_labels(row, by), float(row["len"]), row["len"] >= condition.min_count)
        )
    return samples
