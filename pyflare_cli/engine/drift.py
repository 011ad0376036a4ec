"""``pyflare drift`` on a SQL engine: the calls to compare come from the engine.

Drift compares feature distributions of a model's calls in two windows. The rows (one per
LLM or embedding call of the model, priced as ``cost`` prices them, filtered by
``--where``) are selected and sampled where the spans are; only the columns the features
read come back, and the features and statistics run here on them, the same code as on
Polars (``query.drift_samples``). ``drift_sample`` mirrors ``model_sample`` step by step.

The sample (``--sample-rate``) must be the same rows on every engine, so it cannot use an
engine's hash function (DuckDB's ``hash``, ClickHouse's ``cityHash64`` and Spark's
``xxhash64`` all differ): it keeps a call when the last four hex digits of its span id,
read as a number, are below ``rate * 65536`` (:func:`query.drift_samples.sample_key`).
Span ids are random 64-bit numbers (the OpenTelemetry specification), so that is a
uniform sample, and the same span ids on Polars, DuckDB, Spark and ClickHouse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.drift.features import MODEL_KINDS
from pyflare_cli.config.file import Config
from pyflare_cli.engine.base import SqlEngine, unsupported
from pyflare_cli.engine.search_sql import matching, prepare
from pyflare_cli.engine.spans_cte import col, spans_cte
from pyflare_cli.query.drift_samples import BASELINE_COLUMNS, sample_threshold
from pyflare_cli.query.windows import Window
from pyflare_cli.schema import POLARS_SCHEMA
from pyflare_cli.store.category import AttributeReads

READ = tuple(c for c in BASELINE_COLUMNS if c != "start_time")
"""What comes back of each call: every input of every feature (``start_time`` is made
from ``start_ns``)."""


def drift_sql(
    engine: SqlEngine,
    window: Window,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...],
    model: str | None,
    rate: float,
) -> str:
    """The query of :func:`drift_sample`."""
    from pyflare_cli.engine.clickhouse_engine import ClickHouseEngine

    if isinstance(engine, ClickHouseEngine) and engine.source.table is not None:
        raise unsupported(engine.name, "drift over an otel_traces table (no message texts)")
    d = engine.dialect
    compiled = prepare(engine, where, now, col) if where and where.strip() else None
    columns = {*READ, "span_id", *(compiled.columns if compiled else ())}
    base = spans_cte(engine, window.start, window.end, columns, True, rules)
    rows = "SELECT * FROM b"
    if compiled is not None:  # --where keeps whole traces: those with a span matching it
        hit = matching(rows, compiled.predicate)
        hits = f"SELECT DISTINCT {col('trace_id')} AS m_trace FROM ({hit}) AS h"
        rows += f" WHERE {col('trace_id')} IN (SELECT m_trace FROM ({hits}) AS m)"
    kinds = ", ".join(d.literal(k) for k in MODEL_KINDS)
    kind = f"({col('ai_kind')} IS NULL OR {col('ai_kind')} IN ({kinds}))"
    if model is None:
        named = f"{col('model')} IS NOT NULL"
    else:
        m = d.literal(model)
        named = f"({col('model')} = {m} OR {col('request_model')} = {m})"
    conditions = [kind, named]
    threshold = sample_threshold(rate)
    if threshold is not None:
        key = f"lower(right({col('span_id')}, 4))"
        conditions.append(f"{key} < {d.literal(threshold)}")
    picked = ", ".join(f"{col(c)} AS {c}" for c in READ)
    return (
        f"WITH {base}\nSELECT {picked}, {col('start_ns')} AS start_ns, {col('span_id')} AS s_id "
        f"FROM ({rows}) AS r WHERE {' AND '.join(conditions)} ORDER BY start_ns, s_id"
    )


def drift_sample(
    engine: SqlEngine,
    window: Window,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...],
    model: str | None = None,
    rate: float = 1.0,
) -> pl.LazyFrame:
    """``query.drift_samples.model_sample`` on ``engine`` (sampled at ``rate``): the
    window's calls of ``model`` (every model's when None), with ``cost_usd``, ordered by
    start and span id, typed as the store's columns."""
    (rows,) = engine.collect_all([drift_sql(engine, window, where, now, rules, model, rate)])
    start = pl.from_epoch(pl.col("start_ns").cast(pl.Int64), time_unit="ns")
    typed = [start.dt.replace_time_zone("UTC").alias("start_time")]
    typed += [_typed(c) for c in READ]
    frame = rows.lazy().select(typed)
    if engine.dialect.name == "clickhouse":  # an Array is never NULL there: [] stands for it
        vectors = pl.col("embedding")
        frame = frame.with_columns(pl.when(vectors.list.len() > 0).then(vectors).alias("embedding"))
    return frame.select(list(BASELINE_COLUMNS))


def _typed(name: str) -> pl.Expr:
    if name == "cost_usd":
        return pl.col(name).cast(pl.Float64)
    return pl.col(name).cast(POLARS_SCHEMA[name])


Sampler = Callable[[Window, str | None, datetime, tuple[PriceRule, ...], str | None], pl.LazyFrame]
"""``(window, where, now, rules, model) -> calls``: where a drift command's rows come from."""


@contextmanager
def drift_sampler(
    option: str | None,
    cfg: Config,
    store: str | None,
    spark_master: str | None,
    rate: float,
    reads: AttributeReads | None = None,
) -> Iterator[Sampler]:
    """The calls on the chosen engine (``--engine``, ``$PYFLARE_ENGINE``, ``engine:``):
    ``query.drift_samples.model_sample`` on Polars (reading ``reads`` of the attributes,
    :func:`query.drift_samples.attribute_reads`), :func:`drift_sample` on the others."""
    from pyflare_cli.engine.select import engine_name, engine_session
    from pyflare_cli.query.drift_samples import model_sample, sample_threshold
    from pyflare_cli.store.layout import read_store

    sample_threshold(rate)  # a bad --sample-rate before anything is opened
    if engine_name(option, cfg, store) == "polars":
        root = read_store(store, remote=True)

        def on_polars(
            window: Window,
            where: str | None,
            now: datetime,
            rules: tuple[PriceRule, ...],
            model: str | None,
        ) -> pl.LazyFrame:
            return model_sample(root, window, where, now, rules, model, rate, reads)

        yield on_polars
        return
    with engine_session(option, cfg, store, spark_master) as engine:
        assert isinstance(engine, SqlEngine)

        def on_engine(
            window: Window,
            where: str | None,
            now: datetime,
            rules: tuple[PriceRule, ...],
            model: str | None,
        ) -> pl.LazyFrame:
            return drift_sample(engine, window, where, now, rules, model, rate)

        yield on_engine
