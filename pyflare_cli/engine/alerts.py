"""The spans side of ``pyflare alert check`` on a SQL engine: measures and error rows.

``alerting.check`` reads the longest lookback of the rules into memory on Polars; on a
SQL engine the lookback stays where the spans are, and only these come back: the value of
every windowed rule per label set and window (:mod:`engine.measures_sql`), the order
statistics of quantile rules, the error spans pattern rules mine (columns the patterns
read, error rows only), and the number of spans in the lookback. The lookback is priced
as a whole (the same duplicate calls as on Polars) when any rule mentions a cost, as
``alerting.check.load_window`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.engine import measures_sql
from pyflare_cli.engine.base import SqlEngine
from pyflare_cli.engine.measures_sql import MeasureSql
from pyflare_cli.engine.parquet import ns
from pyflare_cli.engine.search_sql import prepare
from pyflare_cli.engine.spans_cte import col, spans_cte

FOLD_ON = frozenset({"spark"})
"""Engines whose windowed rules run as one ``GROUP BY`` (``measures_sql.folded``) rather
than one ``UNION ALL`` branch each: Spark runs every branch as stages of its own (about
3 s each on 2 busy cores); DuckDB and chdb run the branches on one materialised CTE fast."""
PATTERN_COLUMNS = ("status_code", "error_type", "error_message", "status_message")
"""What ``alerting.engine.evaluate.error_messages`` reads besides labels and ``where``."""


@dataclass(frozen=True)
class Rules:
    """What one check asks of the engine."""

    windowed: Sequence[tuple[MeasureSql, str | None, str]]
    """Each windowed rule's measure, its ``where`` query text (compiled here) and its
    name (a term the engine cannot run is refused naming the rule)."""
    pattern_since: datetime | None
    """The start of the longest pattern rule's window, or None without pattern rules."""
    pattern_columns: frozenset[str]
    priced: bool


@dataclass(frozen=True)
class Found:
    measures: pl.DataFrame
    """``rule``, ``l0``.., ``w_index``, ``value`` (quantile rules: null, see ``quantiles``)."""
    quantiles: pl.DataFrame | None
    errors: pl.DataFrame | None
    """The error spans of the pattern window with ``start_time`` and the columns read."""
    spans: int


def run(
    engine: SqlEngine,
    rules: Rules,
    since: datetime,
    now: datetime,
    price_rules: tuple[PriceRule, ...],
) -> Found:
    """Everything the check reads from the spans of ``[since, now)``, in one go."""
    d = engine.dialect
    columns: set[str] = set()
    windowed: list[MeasureSql] = []
    for measure, where, name in rules.windowed:
        columns |= measures_sql.columns_of(measure.by, measure.field)
        if measure.aggregate == "error_rate":
            columns.add("status_code")
        if where and where.strip():
            compiled = prepare(engine, where, now, col, f"alert rule {name!r}: where")
            columns |= set(compiled.columns)
            measure = replace(measure, where=compiled.predicate)
        windowed.append(measure)
    columns |= rules.pattern_columns
    if rules.pattern_since is not None:
        columns |= set(PATTERN_COLUMNS)
    base = spans_cte(engine, since, now, columns, rules.priced, price_rules, reused=True)
    now_ns = ns(now)
    queries = [f"WITH {base}\nSELECT {d.cast('count(*)', d.int64)} AS n FROM b"]
    if windowed:
        fold = d.name in FOLD_ON
        queries.append(measures_sql.measures(d, base, windowed, now_ns, col, fold))
    quantile = [(i, m) for i, m in enumerate(windowed) if m.aggregate == "quantile"]
    if quantile:
        width = max(len(m.by) for m in windowed)
        queries.append(measures_sql.quantile_rows(d, base, quantile, now_ns, col, width))
    if rules.pattern_since is not None:
        read = sorted(columns)
        select = ", ".join(f"{col(c)} AS {c}" for c in read)
        queries.append(
            f"WITH {base}\nSELECT {select}, {col('start_ns')} AS start_ns FROM b "
            f"WHERE {col('status_code')} = 'error' AND {col('start_ns')} >= "
            f"{ns(rules.pattern_since)}"
        )
    results = iter(engine.collect_all(queries))
    spans = int(next(results).item())
    found = next(results) if windowed else pl.DataFrame()
    stats = next(results) if quantile else None
    errors = next(results) if rules.pattern_since is not None else None
    if errors is not None:
        start = pl.from_epoch(pl.col("start_ns"), time_unit="ns").dt.replace_time_zone("UTC")
        errors = errors.with_columns(start.alias("start_time")).drop("start_ns")
    return Found(found, stats, errors, spans)
