"""``pyflare cost`` through the seam: its relational part on any engine, small frames back.

On Polars this is the code path ``cost`` always had (``query.spans`` and
``analysis.cost.report``). On a SQL engine the same figures come from
:mod:`engine.cost_sql`: the window's (provider, model) pairs are read first and resolved
to prices here (the price rules and genai-prices are Python), the price table goes to the
engine, and the spend parts (a few rows of integer sums) or the top traces come back as
frames with the exact columns and types of the Polars path, so everything after them
(tables, change, sparkline, renderers) is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.cost.pricing import price_table
from pyflare_cli.analysis.cost.report import SUMS
from pyflare_cli.engine import attribution_sql, cost_sql
from pyflare_cli.engine.base import SqlEngine, unsupported
from pyflare_cli.engine.clickhouse_engine import ClickHouseEngine
from pyflare_cli.engine.polars_engine import PolarsEngine
from pyflare_cli.query.prices import resolutions
from pyflare_cli.query.windows import Window

Engine = PolarsEngine | SqlEngine

SQL_DIMENSIONS = {"model": "model", "provider": "provider", "service": "service_name"}
"""``--by`` dimensions the SQL engines group by as they are (plus ``attr.<key>``); user,
session, environment (filled from the trace) and agent, tool (the ancestry walk) are
grouped by the columns :mod:`engine.attribution_sql` adds."""
ATTRIBUTED = ("user", "session", "environment", "agent", "tool")
_TIME = pl.Datetime("ns", "UTC")


def price_cache_root(engine: Engine) -> Path | None:
    """The store whose genai-prices answer cache the engine's run may use."""
    if isinstance(engine, ClickHouseEngine):
        return engine.source.root
    root = getattr(engine, "root", None)
    return root if isinstance(root, Path) else None


def _dimensions(engine: SqlEngine, groups: Sequence[str]) -> list[str]:
    out = []
    for name in groups:
        if name.startswith("attr.") and len(name) > 5:
            out.append(engine.dialect.map_get("attributes", name[5:]))
        elif name in SQL_DIMENSIONS:
            out.append(SQL_DIMENSIONS[name])
        elif name in ATTRIBUTED:
            out.append(attribution_sql.column(name))
        else:
            raise unsupported(engine.name, f"cost --by {name}")
    return out


def _time(column: str) -> pl.Expr:
    return pl.from_epoch(pl.col(column), time_unit="ns").dt.replace_time_zone("UTC").cast(_TIME)


def prices_between(
    engine: SqlEngine,
    since: datetime | None,
    until: datetime | None,
    rules: tuple[PriceRule, ...],
) -> str:
    """The price table of every (provider, model) in ``[since, until)``, uploaded to the
    engine (``cost`` here, ``alert check`` and ``traces`` through :mod:`engine.spans_cte`)."""
    pairs_sql = cost_sql.model_pairs(engine.spans(since, until, ["provider", "model"]))
    (pairs,) = engine.collect_all([pairs_sql])
    found = resolutions(
        [(p, m) for p, m in pairs.select("provider", "model").iter_rows()],
        price_cache_root(engine),
        rules,
    )
    table = price_table(found).with_columns(
        pl.col("since").dt.epoch("ns").alias("since_ns"),
        pl.col("until").dt.epoch("ns").alias("until_ns"),
    )
    return engine.upload(table.select(cost_sql.PRICE_COLUMNS))


def _prices(engine: SqlEngine, windows: Sequence[Window], rules: tuple[PriceRule, ...]) -> str:
    """The price table of every model the windows hold, uploaded to the engine."""
    start = min(w.start for w in windows)
    end = max(w.end for w in windows)
    return prices_between(engine, start, end, rules)


def _where(
    engine: SqlEngine,
    where: str | None,
    now: datetime,
    columns: Sequence[str],
    filled: dict[str, str] | None = None,
) -> tuple[str | None, list[str]]:
    """``--where`` as a predicate over the priced spans (``c2``), and the span columns it
    reads besides ``columns`` (carried through the pricing); ``filled``: columns read
    from another column instead (a user filled from the trace, as Polars reads it)."""
    if not (where and where.strip()):
        return None, []
    from pyflare_cli.engine.search_sql import prepare

    moved = filled or {}
    compiled = prepare(
        engine,
        where,
        now,
        lambda c: moved.get(c) or cost_sql.priced_column(engine.dialect, c),
    )
    extra = [c for c in compiled.columns if c not in columns and c != "cost_usd"]
    return compiled.predicate, extra


def _parts_frame(raw: pl.DataFrame, groups: Sequence[str], every: str | None) -> pl.DataFrame:
    """A SQL engine's spend parts with the names and types of the Polars path's."""
    columns = [
        _time("_step").alias("_step"),
        *([_time("period").alias("period")] if every else []),
        *(pl.col(f"g{i}").cast(pl.String).alias(name) for i, name in enumerate(groups)),
        pl.col("_provider").cast(pl.String),
        pl.col("_model").cast(pl.String),
        pl.col("cost_pico").cast(pl.String).cast(pl.Int128),
        *(pl.col(c).cast(pl.Int64) for c in SUMS),
    ]
    return raw.select(columns)


def spend_parts(
    engine: Engine,
    windows: Sequence[tuple[Window, str | None]],
    groups: list[str],
    step: str,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...],
) -> list[pl.DataFrame]:
    """``analysis.cost.report.spend_parts`` of each (window, every), in one go."""
    if isinstance(engine, PolarsEngine):
        from pyflare_cli.query.spend import spend_parts as parts_of

        # Priced after aggregating where that is exact, else per span (query.spend).
        return parts_of(engine.root, windows, groups, step, where, now, rules)
    dims = _dimensions(engine, groups)
    attribute = [g for g in groups if g in ATTRIBUTED]
    columns = [
        *cost_sql.SPAN_COLUMNS,
        *(["attributes"] if any(g.startswith("attr.") for g in groups) else []),
    ]
    columns += [c for c in attribution_sql.columns_for(attribute) if c not in columns]
    filled = attribution_sql.filled(attribute)
    predicate, extra = _where(engine, where, now, columns, filled)
    columns += extra
    prices = _prices(engine, [w for w, _ in windows], rules)
    carry = columns[len(cost_sql.SPAN_COLUMNS) :]
    queries = [
        cost_sql.spend_parts(
            engine.dialect,
            engine.spans(w.start, w.end, columns),
            prices,
            dims,
            every,
            step,
            carry,
            predicate,
            engine.spans(w.start, w.end, cost_sql.TEXT_COLUMNS),
            attribute,
        )
        for w, every in windows
    ]
    results = engine.collect_all(queries)
    return [_parts_frame(r, groups, every) for r, (_, every) in zip(results, windows, strict=True)]


def top_by_cost(
    engine: Engine,
    window: Window,
    spans_mode: bool,
    limit: int,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...],
) -> pl.DataFrame:
    """``cost top``: the costliest traces (or calls) of ``window``, with ``cost_micros``."""
    if isinstance(engine, PolarsEngine):
        from pyflare_cli.analysis.cost.report import top_spans_by_cost, top_traces_by_cost
        from pyflare_cli.query.spans import SpanQuery, select_spans

        query = SpanQuery(window.start.isoformat(), None, where)
        spans = select_spans(engine.root, query, now, rules).spans
        top = top_spans_by_cost if spans_mode else top_traces_by_cost
        return top(spans, limit).collect()
    predicate, carry = _where(engine, where, now, cost_sql.SPAN_COLUMNS)
    prices = _prices(engine, [window], rules)
    window_spans = engine.spans(window.start, None, [*cost_sql.SPAN_COLUMNS, *carry])
    make = cost_sql.top_spans if spans_mode else cost_sql.top_traces
    texts = engine.spans(window.start, None, cost_sql.TEXT_COLUMNS)
    (raw,) = engine.collect_all(
        [make(engine.dialect, window_spans, prices, limit, carry, predicate, texts)]
    )
    usd = (pl.col("cost_micros") / 1_000_000).alias("cost_usd")
    if spans_mode:
        return raw.select(
            *(pl.col(c).cast(pl.String) for c in ("trace_id", "span_id")),
            _time("start_ns").alias("start_time"),
            *(pl.col(c).cast(pl.String) for c in ("service_name", "name", "model")),
            *(pl.col(c).cast(pl.Int64) for c in ("input_tokens", "output_tokens", "cost_micros")),
            usd,
            pl.col("cost_source").cast(pl.String),
        )
    return raw.select(
        pl.col("trace_id").cast(pl.String),
        pl.col("cost_micros").cast(pl.Int64),
        _time("start_ns").alias("start_time"),
        pl.col("root_service").cast(pl.String),
        pl.col("root_name").cast(pl.String),
        pl.col("calls").cast(pl.UInt32),
        pl.col("models").cast(pl.List(pl.String)),
        usd,
    )


FORECAST_DIMENSIONS = {
    "model": "model",
    "provider": "provider",
    "service": "service_name",
    "user": "user_id",
    "session": "session_id",
    "environment": "environment",
}
"""``cost forecast --by`` reads a span's own column (no attribution): these run in SQL."""


def daily_costs(
    engine: Engine,
    window: Window,
    by: str | None,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...],
) -> pl.LazyFrame:
    """What ``analysis.cost.forecast.daily_series`` sums: ``start_time``, ``cost_micros``
    (and ``by``); on a SQL engine, already summed per day, so only days come back."""
    if isinstance(engine, PolarsEngine):
        from pyflare_cli.analysis.cost.report import DIMENSIONS
        from pyflare_cli.query.spans import SpanQuery, select_spans

        query = SpanQuery(*window.query_bounds, where)
        spans = select_spans(engine.root, query, now, rules).spans
        return spans if by is None else spans.with_columns(pl.col(DIMENSIONS[by]).alias(by))
    if by is not None and by not in FORECAST_DIMENSIONS:
        raise unsupported(engine.name, f"cost forecast --by {by}")
    column = FORECAST_DIMENSIONS[by] if by is not None else None
    columns = [*cost_sql.SPAN_COLUMNS]
    carry = [column] if column is not None and column not in columns else []
    predicate, extra = _where(engine, where, now, [*columns, *carry])
    carry += extra
    prices = _prices(engine, [window], rules)
    span_sql = engine.spans(window.start, window.end, [*columns, *carry])
    texts = engine.spans(window.start, window.end, cost_sql.TEXT_COLUMNS)
    sql = cost_sql.daily_costs(engine.dialect, span_sql, prices, column, carry, predicate, texts)
    (raw,) = engine.collect_all([sql])
    keys = [pl.col("g0").cast(pl.String).alias(by)] if by is not None else []
    return raw.select(
        *keys, _time("day_ns").alias("start_time"), pl.col("cost_micros").cast(pl.Int64)
    ).lazy()
