"""The spans a command reads on a SQL engine, as one ``WITH`` chain ending in ``b``.

``alert check`` and ``traces`` read a window of spans, priced or not, with only the
columns they need; every column is named ``v_<name>`` in ``b`` (ClickHouse rejects an
alias that names the column its own expression reads, and the priced usage columns are
expressions over ``c2``). Pricing is :func:`engine.cost_sql.priced_spans`, the same as
``cost`` on the engines: usage after de-duplication, ``cost_usd`` as pico-dollars / 1e12.
"""

from __future__ import annotations

from datetime import datetime

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.engine import cost_sql
from pyflare_cli.engine.base import SqlEngine


def col(name: str) -> str:
    """A canonical column as ``b`` holds it."""
    return f"v_{name}"


def materialized(engine: SqlEngine) -> str:
    """``b`` read several times in one query: DuckDB and chdb compute it once."""
    return "MATERIALIZED " if engine.dialect.name in ("duckdb", "clickhouse") else ""


def spans_cte(
    engine: SqlEngine,
    since: datetime | None,
    until: datetime | None,
    columns: set[str],
    priced: bool,
    rules: tuple[PriceRule, ...] = (),
    restrict: str | None = None,
    reused: bool = False,
) -> str:
    """:func:`window_cte`; with ``reused`` (``b`` read by many queries or branches) kept by
    an engine that caches (Spark: ``CACHE TABLE``), so it is read and priced once."""
    text = window_cte(engine, since, until, columns, priced, rules, restrict)
    if not reused:
        return text
    kept = engine.cached(f"WITH {text}\nSELECT * FROM b")
    return text if kept is None else f"b AS ({kept})"


def window_cte(
    engine: SqlEngine,
    since: datetime | None,
    until: datetime | None,
    columns: set[str],
    priced: bool,
    rules: tuple[PriceRule, ...] = (),
    restrict: str | None = None,
) -> str:
    """``WITH`` clauses (without ``WITH``) ending in ``b``: the spans of ``[since, until)``
    (only those meeting ``restrict``, a condition on the stored columns, when given), each
    of ``columns`` as ``v_<name>``, with ``v_trace_id``, ``v_start_ns`` and ``v_end_ns``."""
    d = engine.dialect
    ends = f"start_ns AS {col('start_ns')}, end_ns AS {col('end_ns')}"

    def chosen(spans: str) -> str:
        return f"SELECT * FROM ({spans}) AS w WHERE {restrict}" if restrict else spans

    if priced:
        carry = sorted(columns - set(cost_sql.SPAN_COLUMNS) - {"cost_usd"})
        spans = chosen(engine.spans(since, until, [*cost_sql.SPAN_COLUMNS, *carry]))
        from pyflare_cli.engine.cost import prices_between

        prices = prices_between(engine, since, until, rules)
        picked = sorted(columns | {"trace_id"})
        select = ", ".join(f"{cost_sql.priced_column(d, c)} AS {col(c)}" for c in picked)
        texts = engine.spans(since, until, cost_sql.TEXT_COLUMNS)
        return (
            f"{cost_sql.priced_spans(d, spans, prices, carry, texts)},\n"
            f"b AS {materialized(engine)}(SELECT {select}, {ends} FROM c2)"
        )
    read = sorted(columns - {"cost_usd"} | {"trace_id"})
    spans = chosen(engine.spans(since, until, read))
    named = [f"{c} AS {col(c)}" for c in read]
    if "cost_usd" in columns:
        named.append(f"{d.cast('NULL', d.float64)} AS {col('cost_usd')}")
    body = f"SELECT {', '.join(named)}, {ends} FROM s"
    return f"s AS ({spans}),\nb AS {materialized(engine)}({body})"
