"""``pyflare alert check`` on DuckDB, Spark or ClickHouse: the measures where the spans are.

On Polars, ``alerting.check`` reads the rules' lookback into memory and evaluates every
rule on it. On a SQL engine the measures of the windowed rules (threshold, change,
anomaly) are computed by the engine (:mod:`engine.alerts`, one query for all of them) and
the pattern rules get the window's error spans only; then the same Python as on Polars
turns them into samples (``evaluate.windowed_samples``, ``evaluate_pattern``), so the
states, notifications and the verdict do not depend on the engine.

Drift, eval and budget conditions read more than spans (samples of calls, evaluation
results, budgets): they exit 2 on another engine, naming the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

from pyflare_cli.alerting.engine.evaluate import Sample, evaluate_pattern, windowed_samples
from pyflare_cli.alerting.rules.model import (
    Anomaly,
    BudgetCondition,
    Change,
    Composite,
    DriftCondition,
    EvalCondition,
    Pattern,
    Rule,
    Threshold,
)
from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.search.compile import parse
from pyflare_cli.engine import alerts, measures_sql
from pyflare_cli.engine.base import SqlEngine, unsupported
from pyflare_cli.engine.measures_sql import MeasureSql
from pyflare_cli.engine.search_sql import columns_of
from pyflare_cli.errors import PyflareError

_OFF_ENGINE = {DriftCondition: "drift", EvalCondition: "eval", BudgetCondition: "budget"}


def _count(condition: Threshold | Change | Anomaly) -> int:
    if isinstance(condition, Change):
        return 2
    if isinstance(condition, Anomaly):
        return condition.windows + 1
    return 1


def _measure(rule: Rule, condition: Threshold | Change | Anomaly) -> MeasureSql:
    m = condition.measure
    window: timedelta = rule.window
    return MeasureSql(
        aggregate=m.aggregate,
        field=m.field,
        quantile=m.quantile,
        where=None,
        by=tuple(m.by),
        window_ns=int(window.total_seconds() * 1e9),
        count=_count(condition),
        minutes=window.total_seconds() / 60,
    )


def _frame(found: pl.DataFrame, index: int, by: Sequence[str]) -> pl.DataFrame:
    """Rule ``index``'s rows as ``measures.windows_frame`` has them."""
    rows = found.filter(pl.col("rule") == index) if found.height else found
    if not found.columns:
        return pl.DataFrame(
            schema={**{n: pl.String for n in by}, "window": pl.Int64, "value": pl.Float64}
        )
    return rows.select(
        *(pl.col(f"l{i}").cast(pl.String).alias(name) for i, name in enumerate(by)),
        pl.col("w_index").cast(pl.Int64).alias("window"),
        pl.col("value").cast(pl.Float64),
    )


def evaluate_on_engine(
    engine: SqlEngine,
    rules: Sequence[Rule],
    since: datetime,
    now: datetime,
    priced: bool,
    price_rules: tuple[PriceRule, ...] = (),
) -> tuple[dict[str, list[Sample]], dict[str, str], int]:
    """Samples per rule, the rules not evaluated (with why), and the lookback's span count."""
    windowed: list[tuple[Rule, MeasureSql, str | None]] = []
    patterns: list[tuple[Rule, Pattern]] = []
    pattern_columns: set[str] = set()
    for rule in rules:
        condition = rule.condition
        kind = _OFF_ENGINE.get(type(condition))
        if kind is not None:
            raise unsupported(engine.name, f"alert rule {rule.name!r} ({kind} condition)")
        if isinstance(condition, Threshold | Change | Anomaly):
            windowed.append((rule, _measure(rule, condition), condition.measure.where))
        elif isinstance(condition, Pattern):
            patterns.append((rule, condition))
            pattern_columns |= measures_sql.columns_of(condition.by, None)
            if condition.where and condition.where.strip():
                pattern_columns |= columns_of(parse(condition.where))
        else:
            assert isinstance(condition, Composite)
    longest = max((rule.window for rule, _ in patterns), default=None)
    asked = alerts.Rules(
        windowed=[(m, where, rule.name) for rule, m, where in windowed],
        pattern_since=now - longest if longest is not None else None,
        pattern_columns=frozenset(pattern_columns),
        priced=priced,
    )
    found = alerts.run(engine, asked, since, now, price_rules)
    measures = found.measures
    if measures.columns:  # all-NULL (quantile rules only) arrives typed Null
        measures = measures.with_columns(pl.col("value").cast(pl.Float64))
    if found.quantiles is not None:
        quantiles = {
            i: m.quantile for i, (_, m, _) in enumerate(windowed) if m.quantile is not None
        }
        chosen = pl.col("rule").is_in(list(quantiles))
        finished = measures_sql.finish_quantiles(
            measures.filter(chosen), found.quantiles, quantiles
        )
        measures = pl.concat([measures.filter(~chosen), finished.select(measures.columns)])
    frames = {rule.name: _frame(measures, i, m.by) for i, (rule, m, _) in enumerate(windowed)}
    for rule, m, _ in windowed:
        if m.aggregate == "rate":
            frame = frames[rule.name]
            rate = measures_sql.per_minute(frame.get_column("value"), m.minutes)
            frames[rule.name] = frame.with_columns(rate.alias("value"))
    samples = windowed_samples(frames, [rule for rule, _, _ in windowed])
    errors: dict[str, str] = {}
    if found.errors is not None:
        spans = found.errors
        if "cost_usd" not in spans.columns:
            spans = spans.with_columns(pl.lit(None, pl.Float64).alias("cost_usd"))
        for rule, condition in patterns:
            try:
                samples[rule.name] = evaluate_pattern(spans.lazy(), rule, condition, now)
            except PyflareError as exc:
                errors[rule.name] = exc.message
    return samples, errors, found.spans
