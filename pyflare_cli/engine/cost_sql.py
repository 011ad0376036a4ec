"""The relational part of ``pyflare cost`` as one SQL text for DuckDB, Spark and ClickHouse.

It mirrors, step for step, what the Polars path does (``query.prices.priced``,
``analysis.cost.pricing.with_cost``, ``analysis.cost.duplicates`` (in
:mod:`engine.duplicates_sql`),
``analysis.cost.report.spend_parts`` and ``top_*_by_cost``), so every engine gives the
same integers: prices join on (provider, model) null-equal and the band in force filters
them; a span's cost is exact integer atto-dollars in 128-bit integers, rounded once to
pico-dollars; an LLM call reported by two spans is counted once; times are bucketed as
integer nanoseconds (hour, day, and weeks starting on Monday, as Polars' ``truncate``).
Sums of pico-dollars come back as decimal text (128-bit integers have no common Arrow
type across engines) and are parsed into ``Int128`` by the caller.

Names are fresh at every step (``u_in``, ``cost_pico``...): ClickHouse rejects an alias
that reuses the name of the column its expression reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyflare_cli.analysis.cost.pricing import RATE_COLUMNS
from pyflare_cli.engine.base import Dialect
from pyflare_cli.engine.duplicates_sql import TEXT_COLUMNS as TEXT_COLUMNS  # re-exported
from pyflare_cli.engine.duplicates_sql import duplicate_ctes

SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "scope_name",
    "name",
    "service_name",
    "status_code",
    "ai_kind",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "reported_cost_usd",
)
"""The span columns the cost queries read (besides ``start_ns``/``end_ns``)."""
PRICE_COLUMNS = (
    "provider",
    "model",
    "since_ns",
    "until_ns",
    "day_from_us",
    "day_to_us",
    "above",
    "upto",
    *RATE_COLUMNS,
    "price_source",
)
"""The uploaded price table (``analysis.cost.pricing.price_table`` with times as ns)."""

NS_PER = {"hour": 3_600 * 10**9, "day": 86_400 * 10**9, "week": 7 * 86_400 * 10**9}
_MONDAY = 4 * 86_400 * 10**9
"""1970-01-05, the first Monday after the epoch: weeks start on Mondays, as in Polars."""
_NO_PROVIDER = "pyflare:no-provider"
"""Stands for a null provider on both sides of the price join (a null-equal join)."""


def truncate(d: Dialect, column: str, every: str) -> str:
    """``column`` (ns since the epoch) truncated to its hour, day or week (from Monday)."""
    size = NS_PER[every]
    if every == "week":
        return f"({column} - ({column} - {_MONDAY}) % {size})"
    return f"({column} - {column} % {size})"


def priced_spans(
    d: Dialect, spans: str, prices: str, carry: Sequence[str] = (), texts: str | None = None
) -> str:
    """``WITH`` clauses ending in ``c2``: every span of ``spans`` with its cost.

    ``c2`` has the span columns, ``start_ns``, ``end_ns``, ``cost_pico`` (Int64),
    ``cost_source`` and the usage columns after de-duplication (``u_in``, ``u_out``,
    ``u_cr``, ``u_rs``); a duplicate call keeps its row with cost 0 and no usage.
    ``carry`` names further columns of ``spans`` kept for grouping (``attributes``);
    ``texts`` selects :data:`TEXT_COLUMNS` of the same spans (see :func:`duplicate_ctes`).
    """
    big = d.big
    tok = {c: big(f"coalesce({c}, 0)") for c in ("input_tokens", "output_tokens")}
    tok["cr"] = big("coalesce(cache_read_tokens, 0)")
    tok["cw"] = big("coalesce(cache_write_tokens, 0)")
    tok["rs"] = big("coalesce(reasoning_tokens, 0)")
    uncached = f"greatest({tok['input_tokens']} - ({tok['cr']} + {tok['cw']}), {big('0')})"
    reasoning = f"least({tok['rs']}, {tok['output_tokens']})"
    atto = (
        f"{uncached} * {big('rate_input')}"
        f" + {tok['cr']} * {big('rate_cache_read')}"
        f" + {tok['cw']} * {big('rate_cache_write')}"
        f" + ({tok['output_tokens']} - {reasoning}) * {big('rate_output')}"
        f" + {reasoning} * {big('rate_reasoning')}"
        f" + {big('rate_request')}"
    )
    start = "coalesce(s.start_ns, 0)"
    day_us = d.idiv(f"({start} % {NS_PER['day']})", "1000")
    size = "coalesce(s.input_tokens, 0)"
    in_band = (
        "p.price_source IS NULL OR ("
        f"(p.since_ns IS NULL OR {start} >= p.since_ns)"
        f" AND (p.until_ns IS NULL OR {start} < p.until_ns)"
        f" AND (p.day_from_us IS NULL OR ({day_us} >= p.day_from_us AND {day_us} < p.day_to_us))"
        f" AND (p.above IS NULL OR {size} > p.above)"
        f" AND (p.upto IS NULL OR {size} <= p.upto))"
    )
    none = d.literal(_NO_PROVIDER)
    span_cols = ", ".join(f"s.{c} AS {c}" for c in (*SPAN_COLUMNS, *carry, "start_ns", "end_ns"))
    extra = ", ".join(f"p.{c} AS {c}" for c in PRICE_COLUMNS[2:])
    has_usage = "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL)"
    reported = d.cast(d.round_even(f"reported_cost_usd * {10**12}"), d.int64)
    computed = d.cast(d.idiv(f"({atto}) + 500000", "1000000"), d.int64)
    usage = {"u_in": "input_tokens", "u_out": "output_tokens"}
    usage |= {"u_cr": "cache_read_tokens", "u_rs": "reasoning_tokens"}
    nulled = ", ".join(
        f"CASE WHEN is_dup = 1 THEN NULL ELSE {col} END AS {name}" for name, col in usage.items()
    )
    return f"""
s AS ({spans}),
p AS ({prices}),
{duplicate_ctes(d, texts)},
j AS (
  SELECT {span_cols}, {extra},
         CASE WHEN dup.d_span IS NULL THEN 0 ELSE 1 END AS is_dup
  FROM s
  LEFT JOIN p ON s.model = p.model AND coalesce(s.provider, {none}) = coalesce(p.provider, {none})
  LEFT JOIN dup ON s.trace_id = dup.d_trace AND s.span_id = dup.d_span
  WHERE {in_band}
),
c1 AS (
  SELECT j.*,
         CASE WHEN {has_usage} AND rate_input IS NOT NULL THEN {computed} END AS computed_pico
  FROM j
),
c2 AS (
  SELECT c1.*,
         CASE WHEN is_dup = 1 THEN 0 ELSE coalesce(computed_pico, {reported}) END AS cost_pico,
         CASE WHEN is_dup = 1 THEN 'duplicate'
              WHEN computed_pico IS NOT NULL THEN 'price'
              WHEN reported_cost_usd IS NOT NULL THEN 'reported' END AS cost_source,
         {nulled}
  FROM c1
)"""


def _is_request() -> str:
    return (
        "((coalesce(ai_kind IN ('llm', 'embedding'), FALSE)"
        " OR (ai_kind IS NULL AND (u_in IS NOT NULL OR u_out IS NOT NULL)))"
        " AND coalesce(cost_source, '') <> 'duplicate')"
    )


def _unpriced() -> str:
    return "(cost_source IS NULL AND (u_in IS NOT NULL OR u_out IS NOT NULL))"


PRICED_COLUMNS = {
    "input_tokens": "u_in",
    "output_tokens": "u_out",
    "cache_read_tokens": "u_cr",
    "reasoning_tokens": "u_rs",
    "total_tokens": "CASE WHEN is_dup = 1 THEN NULL ELSE total_tokens END",
    "cache_write_tokens": "CASE WHEN is_dup = 1 THEN NULL ELSE cache_write_tokens END",
}
"""How ``c2`` holds the columns pricing changes: a duplicate call's usage is NULL (as
``query.prices.priced`` leaves it); ``cost_usd`` is :func:`cost_usd`."""


def priced_column(d: Dialect, name: str) -> str:
    """A span column as ``--where`` reads it after pricing (see :data:`PRICED_COLUMNS`)."""
    if name == "cost_usd":
        return cost_usd(d)
    return PRICED_COLUMNS.get(name, name)


def cost_usd(d: Dialect) -> str:
    """``cost_usd`` as ``analysis.cost.pricing`` makes it: pico-dollars / 10**12, which
    Polars computes over a column as a product with the reciprocal (``* 1e-12``; a true
    division differs in the last bit, e.g. 0.00262368 vs 0.0026236799999999998)."""
    return f"({d.cast('cost_pico', d.float64)} * {d.cast(repr(1 / 10**12), d.float64)})"


def _filtered(where: str | None, base: str = "c2") -> str:
    """A ``cw`` clause after ``base``: the priced spans ``where`` (a predicate that may
    hold window functions over ``c2``'s columns) selects; nothing without one."""
    if not where:
        return ""
    return f""",
cw AS (SELECT * FROM (SELECT {base}.*, {where} AS w_hit FROM {base}) AS x WHERE w_hit)"""


def _rows(where: str | None, base: str = "c2") -> str:
    return "cw" if where else base


def spend_parts(
    d: Dialect,
    spans: str,
    prices: str,
    dimensions: Sequence[str],
    every: str | None,
    step: str,
    carry: Sequence[str] = (),
    where: str | None = None,
    texts: str | None = None,
    attribute: Sequence[str] = (),
) -> str:
    """The integer sums of ``analysis.cost.report.spend_parts`` per step, period, group
    (``dimensions`` are SQL expressions over ``c2``, returned as ``g0``, ``g1``...),
    provider and model. ``attribute``: the ``--by`` names that need the trace's value or
    the ancestry walk (:mod:`engine.attribution_sql`; their ``a_<name>`` columns are then
    there for ``dimensions``), found over all the window's spans before ``where``."""

    def count(cond: str) -> str:
        return d.cast(f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)", d.int64)

    def total(expr: str) -> str:
        return d.cast(f"coalesce(sum({expr}), 0)", d.int64)

    keys = [f"{truncate(d, 'start_ns', step)} AS _step"]
    if every:
        keys.append(f"{truncate(d, 'start_ns', every)} AS period")
    keys += [f"{expr} AS g{i}" for i, expr in enumerate(dimensions)]
    keys += ["provider AS _provider", "model AS _model"]
    names = [k.rsplit(" AS ", 1)[1] for k in keys]
    tokens = "coalesce(u_in, 0) + coalesce(u_out, 0)"
    pico = d.cast("coalesce(sum(" + d.big("cost_pico") + "), " + d.big("0") + ")", d.string)
    failed = _is_request() + " AND coalesce(status_code, '') = 'error'"
    sums = [
        f"{pico} AS cost_pico",
        f"{count(_is_request())} AS requests",
        f"{count(failed)} AS failed",
        f"{total('u_in')} AS input_tokens",
        f"{total('u_out')} AS output_tokens",
        f"{total('u_cr')} AS cached_tokens",
        f"{total('u_rs')} AS reasoning_tokens",
        f"{count(_unpriced())} AS unpriced",
        f"{total(f'CASE WHEN {_unpriced()} THEN {tokens} END')} AS unpriced_tokens",
    ]
    base = "c2"
    head = "WITH"
    ctes = priced_spans(d, spans, prices, carry, texts)
    if attribute:
        from pyflare_cli.engine import attribution_sql

        ctes += attribution_sql.attribution_ctes(d, base, attribute)
        base = "ca"
        head = "WITH RECURSIVE" if attribution_sql.recursive(attribute) else head
    return (
        f"{head} {ctes}{_filtered(where, base)}\n"
        f"SELECT {', '.join(keys)}, {', '.join(sums)} FROM {_rows(where, base)}"
        f" GROUP BY {', '.join(names)}"
    )


def _micros(d: Dialect, pico: str) -> str:
    """Pico-dollars rounded half up to micro-dollars (as ``pricing.sum_micros``)."""
    return d.cast(d.idiv(f"{pico} + 500000", "1000000"), d.int64)


def top_traces(
    d: Dialect,
    spans: str,
    prices: str,
    limit: int,
    carry: Sequence[str] = (),
    where: str | None = None,
    texts: str | None = None,
) -> str:
    """``analysis.cost.report.top_traces_by_cost``: the costliest traces, largest first."""
    total = f"sum({d.big('cost_pico')})"
    root_first = "CASE WHEN parent_span_id IS NOT NULL THEN 1 ELSE 0 END, start_ns"
    rows = _rows(where)
    return f"""WITH {priced_spans(d, spans, prices, carry, texts)}{_filtered(where)},
r AS (
  SELECT trace_id AS r_trace, service_name AS root_service, name AS root_name,
         row_number() OVER (PARTITION BY trace_id ORDER BY {root_first}) AS rn
  FROM {rows}
),
t AS (
  SELECT trace_id, {_micros(d, total)} AS cost_micros, min(start_ns) AS start_ns,
         sum(CASE WHEN {_is_request()} THEN 1 ELSE 0 END) AS calls,
         {d.sorted_distinct("model")} AS models
  FROM {rows} GROUP BY trace_id
)
SELECT trace_id, cost_micros, start_ns, root_service, root_name, calls, models
FROM t INNER JOIN r ON t.trace_id = r.r_trace AND r.rn = 1
WHERE cost_micros > 0
ORDER BY cost_micros DESC, trace_id
LIMIT {int(limit)}"""


def top_spans(
    d: Dialect,
    spans: str,
    prices: str,
    limit: int,
    carry: Sequence[str] = (),
    where: str | None = None,
    texts: str | None = None,
) -> str:
    """``analysis.cost.report.top_spans_by_cost``: the costliest single calls."""
    micros = _micros(d, "cost_pico")
    rows = _rows(where)
    return f"""WITH {priced_spans(d, spans, prices, carry, texts)}{_filtered(where)},
m AS (SELECT {rows}.*, {micros} AS cost_micros FROM {rows})
SELECT trace_id, span_id, start_ns, service_name, name, model, u_in AS input_tokens,
       u_out AS output_tokens, cost_micros, cost_source
FROM m WHERE cost_micros > 0
ORDER BY cost_micros DESC, span_id
LIMIT {int(limit)}"""


def model_pairs(spans: str) -> str:
    """The distinct (provider, model) pairs of the spans that have a model."""
    return f"SELECT DISTINCT provider, model FROM ({spans}) AS s WHERE model IS NOT NULL"


def daily_costs(
    d: Dialect,
    spans: str,
    prices: str,
    dimension: str | None,
    carry: Sequence[str] = (),
    where: str | None = None,
    texts: str | None = None,
) -> str:
    """Per UTC day (and ``dimension``, as ``g0``): the sum of each span's cost rounded to
    micro-dollars, as ``analysis.cost.forecast.daily_series`` adds them up."""
    keys = [f"{truncate(d, 'start_ns', 'day')} AS day_ns"]
    if dimension is not None:
        keys.insert(0, f"{dimension} AS g0")
    names = [k.rsplit(" AS ", 1)[1] for k in keys]
    micros = _micros(d, "cost_pico")
    return (
        f"WITH {priced_spans(d, spans, prices, carry, texts)}{_filtered(where)}\n"
        f"SELECT {', '.join(keys)}, {d.cast(f'coalesce(sum({micros}), 0)', d.int64)} AS cost_micros"
        f" FROM {_rows(where)} GROUP BY {', '.join(names)}"
    )
