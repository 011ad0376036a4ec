"""``pyflare traces`` on a SQL engine: rank the traces there, summarise only the listed ones.

It follows ``query.spans.trace_list`` step by step. The traces of the window (those with a
span matching ``--where``, whole) are ranked on their totals by the engine, which returns
only the first ``limit`` ids; then the spans of just those traces are priced and
summarised there (root, duration, spans, errors, tokens, cost) and their models come back
as a few rows, put in Polars' order here. When neither the order nor ``--where`` reads a
cost or token column, ranking reads the spans unpriced and the chosen traces are priced
from the earliest of their starts on, as on Polars; otherwise the whole window is priced.
The rows come back in rank order (largest first, ties by trace id), with the columns and
types of ``analysis.traces.summary.summarize_traces``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.traces.summary import COLUMNS
from pyflare_cli.engine.base import SqlEngine
from pyflare_cli.engine.search_sql import matching, prepare
from pyflare_cli.engine.spans_cte import col, spans_cte

PRICE_FREE_SORTS = ("start", "duration", "errors", "spans")
"""As ``query.spans.PRICE_FREE_SORTS``: orders prices and duplicate calls cannot change."""
PRICED = frozenset(
    {"cost_usd", "input_tokens", "output_tokens", "total_tokens", "cache_read_tokens",
     "cache_write_tokens", "reasoning_tokens"}
)  # fmt: skip
"""Columns pricing changes (``query.spans.PRICED_COLUMNS`` among the searchable ones)."""
SUMMARY = {"parent_span_id", "span_id", "name", "service_name", "status_code", "model"}
SUMMARY |= {"input_tokens", "output_tokens", "total_tokens", "cost_usd"}
_KEYS = {
    "start": "start_ns",
    "duration": "duration_ns",
    "errors": "errors",
    "spans": "spans",
    "cost": "cost_usd",
    "tokens": "total_tokens",
}


def _totals(d_float: str) -> str:
    """Per trace over ``b``: the cheap totals ``analysis.traces.summary`` ranks on (sums of
    nothing are 0, as Polars sums)."""
    return (
        f"SELECT {col('trace_id')} AS trace_id, min({col('start_ns')}) AS start_ns, "
        f"max({col('end_ns')}) - min({col('start_ns')}) AS duration_ns, count(*) AS spans, "
        f"sum(CASE WHEN {col('status_code')} = 'error' THEN 1 ELSE 0 END) AS errors, "
        f"coalesce(sum({col('input_tokens')}), 0) AS input_tokens, "
        f"coalesce(sum({col('output_tokens')}), 0) AS output_tokens, "
        f"coalesce(sum({col('total_tokens')}), 0) AS total_tokens, "
        f"coalesce(sum({col('cost_usd')}), {d_float}) AS cost_usd, "
        f"count({col('cost_usd')}) AS priced"
    )


def rank_sql(engine: SqlEngine, base: str, by: str, limit: int, predicate: str | None) -> str:
    """The ids and starts of the first ``limit`` traces by ``by`` (largest first, ties by
    trace id, missing values last), among those with a span meeting ``predicate``."""
    d = engine.dialect
    rows = "b"
    if predicate is not None:
        hit = matching("SELECT * FROM b", predicate)
        hits = f"SELECT DISTINCT {col('trace_id')} AS m_trace FROM ({hit}) AS h"
        rows = f"(SELECT * FROM b WHERE {col('trace_id')} IN (SELECT m_trace FROM ({hits}) AS m))"
    key = _KEYS[by]
    zero = d.cast("0", d.float64)
    return (
        f"WITH {base},\nt AS ({_totals(zero)} FROM {rows} AS r GROUP BY {col('trace_id')})\n"
        f"SELECT trace_id, start_ns FROM t ORDER BY {key} IS NULL, {key} DESC, trace_id "
        f"LIMIT {int(limit)}"
    )


def summary_sql(engine: SqlEngine, base: str) -> tuple[str, str]:
    """The summary rows (totals, root) and the model rows of the traces in ``b``."""
    d = engine.dialect
    root_first = (
        f"CASE WHEN {col('parent_span_id')} IS NULL THEN 0 ELSE 1 END, {col('start_ns')}, "
        f"{col('span_id')}"
    )
    summary = (
        f"WITH {base},\n"
        f"r AS (SELECT {col('trace_id')} AS r_trace, {col('service_name')} AS root_service, "
        f"{col('name')} AS root_name, row_number() OVER (PARTITION BY {col('trace_id')} "
        f"ORDER BY {root_first}) AS rn FROM b),\n"
        f"t AS ({_totals(d.cast('NULL', d.float64))} FROM b GROUP BY {col('trace_id')})\n"
        "SELECT t.*, root_service, root_name FROM t INNER JOIN r ON t.trace_id = r.r_trace "
        "AND r.rn = 1"
    )
    later = f"CASE WHEN {col('output_tokens')} IS NULL THEN 1 ELSE 0 END"
    models = (
        f"WITH {base}\nSELECT {col('trace_id')} AS trace_id, {col('model')} AS model, "
        f"min({later}) AS later FROM b WHERE {col('model')} IS NOT NULL "
        f"GROUP BY {col('trace_id')}, {col('model')}"
    )
    return summary, models


def _time(column: str) -> pl.Expr:
    return pl.from_epoch(pl.col(column), time_unit="ns").dt.replace_time_zone("UTC")


def trace_list(
    engine: SqlEngine,
    since: datetime | None,
    until: datetime | None,
    where: str | None,
    now: datetime,
    by: str,
    limit: int,
    rules: tuple[PriceRule, ...] = (),
) -> pl.DataFrame:
    """``query.spans.trace_list`` on ``engine``: the same rows, in the same order."""
    compiled = prepare(engine, where, now, col) if where and where.strip() else None
    reads = set(compiled.columns) if compiled else set()
    priced = by not in PRICE_FREE_SORTS or bool(PRICED & reads)
    columns = {"status_code", "input_tokens", "output_tokens", "total_tokens", "cost_usd", *reads}
    if priced:
        columns |= SUMMARY
    base = spans_cte(engine, since, until, columns, priced, rules)
    predicate = compiled.predicate if compiled else None
    (ranked,) = engine.collect_all([rank_sql(engine, base, by, limit, predicate)])
    ids = ranked.get_column("trace_id").cast(pl.String).to_list()
    if not ids:
        return pl.DataFrame(schema=_schema())
    d = engine.dialect
    chosen = f"trace_id IN ({', '.join(d.literal(i) for i in ids)})"
    start = since
    if not priced:  # a trace starts at its earliest span: none of theirs is older
        first = int(ranked.get_column("start_ns").cast(pl.Int64).min())  # type: ignore[arg-type]
        moment = datetime.fromtimestamp(first // 10**9, UTC).replace(
            microsecond=first % 10**9 // 1000
        )  # to the microsecond below, as Polars hands the start to Python
        if since is None or moment > since:
            start = moment
    chosen_base = spans_cte(engine, start, until, SUMMARY, True, rules, restrict=chosen)
    summary, models = engine.collect_all(list(summary_sql(engine, chosen_base)))
    return _assemble(summary, models, ids)


def _schema() -> dict[str, pl.DataType]:
    return {
        "trace_id": pl.String(),
        "start_time": pl.Datetime("ns", "UTC"),
        "root_service": pl.String(),
        "root_name": pl.String(),
        "duration_ns": pl.Int64(),
        "spans": pl.UInt32(),
        "errors": pl.UInt32(),
        "models": pl.List(pl.String()),
        "input_tokens": pl.Int64(),
        "output_tokens": pl.Int64(),
        "total_tokens": pl.Int64(),
        "cost_usd": pl.Float64(),
    }


def _assemble(summary: pl.DataFrame, models: pl.DataFrame, ids: list[str]) -> pl.DataFrame:
    """The summary rows with their model lists (LLM calls' models first, each part by
    name, as ``summary._DETAILS``), in rank order, typed as on Polars."""
    lists = (
        models.select(pl.col("trace_id").cast(pl.String), pl.col("model").cast(pl.String), "later")
        .sort("trace_id", "later", "model")
        .group_by("trace_id", maintain_order=True)
        .agg(pl.col("model").alias("models"))
    )
    order = pl.DataFrame({"trace_id": ids, "_rank": list(range(len(ids)))})
    schema = _schema()
    typed = summary.select(
        pl.col("trace_id").cast(pl.String),
        _time("start_ns").alias("start_time"),
        pl.col("root_service").cast(pl.String),
        pl.col("root_name").cast(pl.String),
        *(pl.col(c).cast(schema[c]) for c in ("duration_ns", "spans", "errors")),
        *(pl.col(c).cast(pl.Int64) for c in ("input_tokens", "output_tokens", "total_tokens")),
        pl.when(pl.col("priced") > 0).then(pl.col("cost_usd")).cast(pl.Float64).alias("cost_usd"),
    )
    out = (
        order.join(typed, on="trace_id", how="inner")
        .join(lists, on="trace_id", how="left")
        .sort("_rank")
        .with_columns(pl.col("models").fill_null(pl.lit([], pl.List(pl.String))))
    )
    return out.select(COLUMNS)
