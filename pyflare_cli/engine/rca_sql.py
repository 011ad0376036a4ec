"""The relational part of ``pyflare rca`` as SQL: its *cube*, for DuckDB, Spark and ClickHouse.

rca's slice search reads one small frame (``analysis.rca.passes.cube``): a row per window
and combination of dimension values, with the sums its tests need. This module spells the
same GROUP BY in SQL, so the spans stay in the engine and a few thousand rows come back.
It mirrors ``analysis.rca.units.unit_frame`` for the units it covers (``--metric errors``,
``--unit span`` or ``origin``): the dimensions from ``analysis.rca.dimensions`` (built-in columns,
attribute keys, numeric attributes cut at the same quartile edges), ``(none)`` for a
missing value, rows without a metric value dropped.

``members`` (a sum of row hashes that tells slices with the same rows apart) uses the
engine's own hash: its values differ between engines, but only its equality is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyflare_cli.analysis.rca.dimensions import NONE, Dimension, quantile_labels
from pyflare_cli.analysis.rca.passes import TERMS
from pyflare_cli.engine.base import Dialect

BUILT_IN_SQL = {
    "service": "service_name",
    "version": "(CASE WHEN service_version IS NULL THEN NULL "
    "ELSE coalesce(service_name, '?') || ' ' || service_version END)",
    "operation": "(CASE WHEN name IS NULL THEN NULL "
    "ELSE coalesce(service_name, '?') || ': ' || name END)",
    "model": "model",
    "provider": "provider",
    "type": "ai_kind",
    "tool": "tool_name",
    "agent": "agent_name",
    "environment": "environment",
    "user": "user_id",
    "finish_reason": "finish_reason",
}
"""``dimensions.BUILT_IN`` in SQL (``||`` is NULL when a side is, as Polars' concat_str)."""
BUILT_IN_COLUMNS = (
    "service_name",
    "service_version",
    "name",
    "model",
    "provider",
    "ai_kind",
    "tool_name",
    "agent_name",
    "environment",
    "user_id",
    "finish_reason",
)
MAPS = ("attributes", "resource_attributes")
METRICS = ("errors",)
UNITS = ("span", "origin")
"""What the SQL cube covers; everything else runs on Polars only (exit 2 elsewhere)."""


def _try_float(d: Dialect, expr: str) -> str:
    if d.name == "clickhouse":
        return f"toFloat64OrNull({expr})"
    if d.name == "spark":
        return f"try_cast({expr} AS DOUBLE)"
    return f"TRY_CAST({expr} AS DOUBLE)"


def dimension_sql(d: Dialect, dim: Dimension) -> str:
    """One dimension's value as a string, ``(none)`` when missing."""
    if dim.name in BUILT_IN_SQL:
        raw = BUILT_IN_SQL[dim.name]
    elif dim.name.startswith(("attr.", "resource.")):
        prefix, key = dim.name.split(".", 1)
        raw = d.map_get("attributes" if prefix == "attr" else "resource_attributes", key)
        if dim.numeric:
            raw = _cut(d, _try_float(d, raw), dim.edges)
    else:
        raise ValueError(f"dimension {dim.name!r} has no SQL spelling")
    return f"coalesce({d.cast(raw, d.string)}, {d.literal(NONE)})"


def _cut(d: Dialect, value: str, edges: tuple[float, ...]) -> str:
    """``value`` as the label of its range ``[e[i-1], e[i])`` (``dimensions._quantile_expr``)."""
    if not edges:
        return d.cast("NULL", d.string)
    labels = quantile_labels(edges)
    arms = [
        f"WHEN {value} < {d.cast(repr(e), d.float64)} THEN {d.literal(label)}"
        for e, label in zip(edges, labels, strict=False)
    ]
    return (
        f"(CASE WHEN {value} IS NULL THEN NULL {' '.join(arms)} ELSE {d.literal(labels[-1])} END)"
    )


def columns_needed(dimensions: Sequence[Dimension]) -> list[str]:
    """The span columns the cube reads."""
    maps = [m for m in MAPS if any(_reads(dim, m) for dim in dimensions)]
    return ["trace_id", "span_id", "parent_span_id", "status_code", *BUILT_IN_COLUMNS, *maps]


def _reads(dim: Dimension, column: str) -> bool:
    prefix = "attr." if column == "attributes" else "resource."
    return dim.name.startswith(prefix)


def _hash(d: Dialect, column: str) -> str:
    """A non-negative row hash below 2^31 - 1 (``passes.terms``' ``members``)."""
    if d.name == "clickhouse":
        return f"toInt64(cityHash64({column}) % 2147483647)"
    if d.name == "spark":
        return f"pmod(xxhash64({column}), 2147483647)"
    return f"CAST(hash({column}) % 2147483647 AS BIGINT)"


def cube_sql(
    d: Dialect, target: str, baseline: str, dimensions: Sequence[Dimension], unit: str = "span"
) -> str:
    """The cube of ``target`` and ``baseline`` (``SELECT`` texts of :func:`columns_needed`):
    ``target``, ``d0``.. (the dimensions, in order) and :data:`passes.TERMS`.

    ``unit`` ``origin``: an error span counts only when it is no error span's ancestor
    (``analysis.rca.origin``): the ancestors of the error spans are walked up the parent
    links of the failing traces by a recursive query, over both windows as in Polars."""
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r}: the SQL cube covers {', '.join(UNITS)}")
    names = [f"d{i}" for i in range(len(dimensions))]
    dims = [f"{dimension_sql(d, dim)} AS {n}" for dim, n in zip(dimensions, names, strict=True)]
    both = (
        f"SELECT TRUE AS is_target, w.* FROM ({target}) AS w "
        f"UNION ALL SELECT FALSE AS is_target, v.* FROM ({baseline}) AS v"
    )
    failed = "status_code = 'error'"
    prefix = ""
    if unit == "origin":
        key = "(trace_id || '/' || span_id)"
        failed += f" AND {key} NOT IN (SELECT a_key FROM ancestors)"
        # the walk reads the four id columns in scans of their own (inlined, never a
        # materialised copy of the windows: with the attribute maps in it, DuckDB held
        # 9.4 GiB for a week of the 10M store)
        ids = "trace_id, span_id, parent_span_id, status_code"
        narrow = (
            f"SELECT {ids} FROM ({target}) AS nw UNION ALL SELECT {ids} FROM ({baseline}) AS nv"
        )
        prefix = (
            "WITH RECURSIVE "
            "errs AS (SELECT trace_id AS e_trace, parent_span_id AS e_parent "
            f"FROM ({narrow}) AS n1 WHERE status_code = 'error'), "
            "links AS (SELECT DISTINCT trace_id AS l_trace, span_id AS l_span, "
            f"parent_span_id AS l_parent FROM ({narrow}) AS n2 "
            "WHERE trace_id IN (SELECT e_trace FROM errs) AND parent_span_id IS NOT NULL), "
            "up AS (SELECT e_trace AS u_trace, e_parent AS u_span FROM errs "
            "WHERE e_parent IS NOT NULL UNION ALL "
            "SELECT l_trace AS u_trace, l_parent AS u_span FROM up "
            "JOIN links ON l_trace = u_trace AND l_span = u_span), "
            "ancestors AS (SELECT DISTINCT (u_trace || '/' || u_span) AS a_key FROM up) "
        )
    y = d.cast(
        f"CASE WHEN status_code IS NULL THEN NULL WHEN {failed} THEN 1 ELSE 0 END", d.float64
    )
    t = d.cast("CASE WHEN is_target THEN 1 ELSE 0 END", d.float64)
    source = f"({both}) AS both_windows"
    unit_rows = (
        f"SELECT is_target, {t} AS t, {y} AS y, {_hash(d, 'span_id')} AS h"
        + "".join(f", {x}" for x in dims)
        + f" FROM {source}"
    )
    sums = {
        "nt": "t",
        "st": "y * t",
        "qt": "y * y * t",
        "nb": "1.0 - t",
        "sb": "y * (1.0 - t)",
        "qb": "y * y * (1.0 - t)",
    }
    # errors have no separate test scale: z is y, as in passes.terms
    sums |= {"zt": sums["st"], "zqt": sums["qt"], "zb": sums["sb"], "zqb": sums["qb"]}
    parts = [f"sum({sums[k]}) AS {k}" for k in TERMS if k != "members"]
    parts.append(f"{d.cast('sum(h)', d.int64)} AS members")
    keys = ", ".join(["is_target", *names])
    return (
        f"{prefix}SELECT {keys}, {', '.join(parts)} FROM ({unit_rows}) AS u "
        f"WHERE y IS NOT NULL GROUP BY {keys}"
    )


def probe_sql(relation: str, columns: Sequence[str], n: int) -> str:
    """The first ``n`` rows of the map columns (what rca discovers dimensions from)."""
    return f"SELECT {', '.join(columns)} FROM ({relation}) AS p LIMIT {int(n)}"
