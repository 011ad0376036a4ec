"""Alert measures as SQL: the windowed aggregates of ``pyflare alert check`` on an engine.

``alerting.engine.measures.windows_frame`` (Polars) gives, per rule, one row per label set
and window index with the measure's ``value``. This module writes the same aggregates as
one SQL text for every windowed rule of a check (a ``UNION ALL``, so the lookback window
is read and priced once where the engine materialises the common part, as DuckDB does),
and a second text for the order statistics of quantile measures. The evaluation (the
threshold, change and anomaly logic, the states) stays in Python on these small frames.

Quantiles are exact and equal to Polars' linear interpolation bit for bit: the engine
returns, per group, the two order statistics around ``(n - 1) * q`` (``row_number`` over
the sorted values), and :func:`finish_quantiles` interpolates them here with Polars'
formula ``lo + (hi - lo) * frac``. No engine's own approximate or interpolating quantile is
used (``quantile_cont``, ``quantileExactInclusive`` and ``percentile`` round differently in
the last bits, which moves a threshold at the boundary).

Floats are made as Polars makes them, so that values are equal, not only close: Polars
divides a column of more than one value by a constant as a multiplication by the constant's
reciprocal (``x * (1 / c)``), a single value by true division; the duration in
milliseconds is ``duration_ns * 1e-06`` here, and a rate per minute is divided in Python
(:func:`per_minute`) by the same rule over the rule's groups. Sums and means of floats
are left to the engine: their order of addition differs from Polars' (equal to ~1e-15
relative, not to the bit).

Every expression reads the spans through ``col`` (see :mod:`engine.search_sql`): the
relation ``b`` holds each needed canonical column as ``v_<name>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from pyflare_cli.engine.base import Dialect

LABEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "model": ("request_model", "model"),
    "provider": ("provider",),
    "service": ("service_name",),
    "operation": ("service_name", "name"),
    "user": ("user_id",),
    "environment": ("environment",),
    "tool": ("tool_name",),
    "agent": ("agent_name",),
    "status": ("status_code",),
    "type": ("ai_kind",),
}
"""The span columns of each ``by`` label (``alerting.engine.measures.LABEL_EXPRS``)."""
FIELD_COLUMNS = {
    "duration": "duration_ns",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "total_tokens": "total_tokens",
    "cost": "cost_usd",
}


@dataclass(frozen=True)
class MeasureSql:
    """One windowed rule's measure, in the terms the SQL needs."""

    aggregate: str
    field: str | None
    quantile: float | None
    where: str | None
    """The compiled ``where`` predicate over ``b`` (may hold window functions)."""
    by: tuple[str, ...]
    window_ns: int
    count: int
    minutes: float


def columns_of(by: Sequence[str], field: str | None) -> set[str]:
    """The span columns the labels ``by`` and the ``field`` read."""
    out: set[str] = set()
    for name in [*by, *([field] if field else [])]:
        if name.startswith("attr."):
            out.add("attributes")
        elif name.startswith("resource."):
            out.add("resource_attributes")
        elif name in LABEL_COLUMNS:
            out.update(LABEL_COLUMNS[name])
        else:
            out.add(FIELD_COLUMNS[name])
    return out


def label_sql(d: Dialect, name: str, col: Callable[[str], str]) -> str:
    """A ``by`` label as text, '' when missing (``measures.label_expr``)."""
    if name.startswith("attr."):
        expr = d.map_get(col("attributes"), name[5:])
    elif name.startswith("resource."):
        expr = d.map_get(col("resource_attributes"), name[9:])
    elif name == "model":
        expr = f"coalesce({col('request_model')}, {col('model')})"
    elif name == "operation":
        expr = f"(coalesce({col('service_name')}, '?') || ': ' || {col('name')})"
    else:
        expr = col(LABEL_COLUMNS[name][0])
    return f"coalesce({d.cast(expr, d.string)}, '')"


def field_sql(d: Dialect, name: str, col: Callable[[str], str]) -> str:
    """A measured field as a float (``measures.field_expr``)."""
    if name.startswith("attr."):
        return d.to_float(d.map_get(col("attributes"), name[5:]))
    value = d.cast(col(FIELD_COLUMNS[name]), d.float64)
    if name == "duration":  # as Polars divides a column by a constant: see the docstring
        return f"({value} * {_float(d, 1 / 1e6)})"
    return value


def _float(d: Dialect, value: float) -> str:
    return d.cast(repr(float(value)), d.float64)


def _aggregate(
    d: Dialect, m: MeasureSql, col: Callable[[str], str], value: str | None = None
) -> str:
    """The rule's aggregate over its rows; ``value`` the measured field's expression when
    it is already a column (:func:`folded`), and ``col`` then names the error flag."""
    if m.aggregate == "count":
        return d.cast("count(*)", d.float64)
    if m.aggregate == "rate":  # the count: :func:`per_minute` divides it as Polars does
        return d.cast("count(*)", d.float64)
    if m.aggregate == "error_rate":
        if value is not None:
            return f"avg({col('status_code')})"
        status = col("status_code")
        one, zero = _float(d, 1.0), _float(d, 0.0)
        rate = f"CASE WHEN {status} = 'error' THEN {one} WHEN {status} IS NOT NULL THEN {zero} END"
        return f"avg({rate})"
    if m.aggregate == "quantile":
        return d.cast("NULL", d.float64)  # the order statistics come from :func:`quantile_rows`
    assert m.field is not None
    value = value if value is not None else field_sql(d, m.field, col)
    if m.aggregate == "sum":  # Polars sums nothing to 0
        return f"coalesce(sum({value}), {_float(d, 0.0)})"
    return {"avg": f"avg({value})", "min": f"min({value})", "max": f"max({value})"}[m.aggregate]


def _scoped(d: Dialect, m: MeasureSql, now_ns: int, col: Callable[[str], str], width: int) -> str:
    """The rule's rows: in its windows, matching its ``where``, with labels ``l0..`` (padded
    to ``width`` with '') and the window index ``w_index`` (0 ends at ``now``)."""
    start = col("start_ns")
    first = now_ns - m.window_ns * m.count
    rows = f"SELECT b.* FROM b WHERE {start} >= {first} AND {start} < {now_ns}"
    if m.where:
        rows = f"SELECT * FROM (SELECT r.*, {m.where} AS w_hit FROM ({rows}) AS r) AS f WHERE w_hit"
    labels = [label_sql(d, name, col) for name in m.by] + ["''"] * (width - len(m.by))
    index = d.idiv(f"{now_ns} - {start} - 1", str(m.window_ns))
    keys = ", ".join(f"{expr} AS l{i}" for i, expr in enumerate(labels))
    return f"SELECT {keys}{',' if keys else ''} {index} AS w_index, x.* FROM ({rows}) AS x"


def _keys(width: int) -> list[str]:
    return [*(f"l{i}" for i in range(width)), "w_index"]


def measures(
    d: Dialect,
    base: str,
    rules: Sequence[MeasureSql],
    now_ns: int,
    col: Callable[[str], str],
    fold: bool = False,
) -> str:
    """One query: per rule (``rule``, its index), label set and window, the ``value``.

    With ``fold``, the rules whose ``where`` holds no window function are one branch
    (:func:`folded`): one pass and one shuffle for all of them, where Spark runs each
    branch of a ``UNION ALL`` as stages of its own."""
    width = max((len(m.by) for m in rules), default=0)
    keys = _keys(width)
    parts = []
    together = [i for i, m in enumerate(rules) if fold and " OVER " not in (m.where or "")]
    if together:
        parts.append(folded(d, [(i, rules[i]) for i in together], now_ns, col, width))
    for i, m in enumerate(rules):
        if i in together:
            continue
        scoped = _scoped(d, m, now_ns, col, width)
        value = _aggregate(d, m, col)
        parts.append(
            f"SELECT {i} AS rule, {', '.join(keys)}, {value} AS value "
            f"FROM ({scoped}) AS g GROUP BY {', '.join(keys)}"
        )
    return f"WITH {base}\n" + "\nUNION ALL\n".join(parts)


def folded(
    d: Dialect,
    rules: Sequence[tuple[int, MeasureSql]],
    now_ns: int,
    col: Callable[[str], str],
    width: int,
) -> str:
    """The branches of :func:`measures` for ``rules`` as one ``GROUP BY``: each span
    joined with the rules whose windows and ``where`` it meets (a literal table of rule,
    first start, window length), labels and the measured field picked by rule, and each
    group's value the aggregate of its rule. The same values as the branches (sums and
    means of floats to the engine's order of addition, as there)."""
    start = col("start_ns")
    table = " UNION ALL ".join(
        f"SELECT {i} AS f_rule, {d.cast(str(now_ns - m.window_ns * m.count), d.int64)} AS "
        f"f_first, {d.cast(str(m.window_ns), d.int64)} AS f_window"
        for i, m in rules
    )

    def pick(values: dict[int, str], otherwise: str) -> str:
        arms = " ".join(f"WHEN {i} THEN {v}" for i, v in values.items())
        return f"CASE f_rule {arms} ELSE {otherwise} END"

    labels = []
    for k in range(width):
        named = {i: label_sql(d, m.by[k], col) for i, m in rules if k < len(m.by)}
        labels.append(f"{pick(named, chr(39) * 2) if named else chr(39) * 2} AS l{k}")
    fields = {i: field_sql(d, m.field, col) for i, m in rules if m.field is not None}
    where = {i: f"({m.where})" for i, m in rules if m.where}
    status = col("status_code")
    one, zero = _float(d, 1.0), _float(d, 0.0)
    error = f"CASE WHEN {status} = 'error' THEN {one} WHEN {status} IS NOT NULL THEN {zero} END"
    row_values = [
        "f_rule",
        *labels,
        f"{d.idiv(f'{now_ns} - {start} - 1', 'f_window')} AS w_index",
        f"{pick(fields, d.cast('NULL', d.float64))} AS f_value",
        f"{error} AS f_error",
    ]
    kept = f"{start} >= f_first AND {start} < {now_ns}"
    if where:
        kept += f" AND {pick(where, 'TRUE')}"
    rows = f"SELECT {', '.join(row_values)} FROM b CROSS JOIN ({table}) AS fr WHERE {kept}"
    values = {i: _aggregate(d, m, lambda _: "f_error", "f_value") for i, m in rules}
    keys = ", ".join(_keys(width))
    return (
        f"SELECT f_rule AS rule, {keys}, {pick(values, d.cast('NULL', d.float64))} AS value "
        f"FROM ({rows}) AS fx GROUP BY f_rule, {keys}"
    )


def quantile_rows(
    d: Dialect,
    base: str,
    rules: Sequence[tuple[int, MeasureSql]],
    now_ns: int,
    col: Callable[[str], str],
    width: int,
) -> str:
    """The order statistics each quantile rule needs: per group, its non-null count ``n``
    and the values at ranks ``floor((n-1)q)+1`` and ``ceil((n-1)q)+1`` (``rn``, ``v``);
    labels padded to ``width`` as in :func:`measures`."""
    keys = _keys(width)
    parts = []
    for i, m in rules:
        assert m.field is not None and m.quantile is not None
        value = field_sql(d, m.field, col)
        scoped = _scoped(d, m, now_ns, col, width)
        group = ", ".join(keys)
        ranked = (
            f"SELECT {group}, v, row_number() OVER (PARTITION BY {group} ORDER BY v) AS rn, "
            f"count(*) OVER (PARTITION BY {group}) AS n FROM "
            f"(SELECT {group}, {value} AS v FROM ({scoped}) AS s) AS t WHERE v IS NOT NULL"
        )
        position = f"{d.cast('n - 1', d.float64)} * {_float(d, m.quantile)}"
        parts.append(
            f"SELECT {i} AS rule, {group}, {d.cast('n', d.int64)} AS n, "
            f"{d.cast('rn', d.int64)} AS rn, v FROM ({ranked}) AS q "
            f"WHERE rn = floor({position}) + 1 OR rn = ceil({position}) + 1"
        )
    return f"WITH {base}\n" + "\nUNION ALL\n".join(parts)


def finish_quantiles(
    groups: pl.DataFrame, stats: pl.DataFrame, q: dict[int, float]
) -> pl.DataFrame:
    """``groups`` (one row per ``rule``, labels and window) with ``value`` the quantile
    ``q[rule]`` by Polars' linear interpolation of the order statistics ``stats``; null
    where a group has no value."""
    keys = [c for c in groups.columns if c != "value"]
    ranks: dict[tuple[object, ...], dict[int, float]] = {}
    sizes: dict[tuple[object, ...], tuple[int, int]] = {}
    for row in stats.iter_rows(named=True):
        key = tuple(row[k] for k in keys)
        ranks.setdefault(key, {})[int(row["rn"])] = float(row["v"])
        sizes[key] = (int(row["rule"]), int(row["n"]))
    found: dict[tuple[object, ...], float] = {}
    for key, values in ranks.items():
        rule, n = sizes[key]
        position = float(n - 1) * q[rule]
        low, high = math.floor(position), math.ceil(position)
        lo, hi = values[low + 1], values[high + 1]
        found[key] = lo + (hi - lo) * (position - low)
    column = [found.get(tuple(row[k] for k in keys)) for row in groups.iter_rows(named=True)]
    return groups.with_columns(pl.Series("value", column, dtype=pl.Float64))


def per_minute(counts: pl.Series, minutes: float) -> pl.Series:
    """A rate rule's counts per minute, divided as Polars' ``len() / minutes`` does over a
    column of that many groups (see the module docstring)."""
    if counts.len() > 1:
        return counts * (1 / minutes)
    return counts / minutes
