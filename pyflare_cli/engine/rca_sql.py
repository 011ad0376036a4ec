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
from pyflare_cli.analysis.rca.origin import MAX_DEPTH
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


def dimension_sql(d: Dialect, dim: Dimension) -> str:
    """One dimension's value as a string, ``(none)`` when missing."""
    if dim.name in BUILT_IN_SQL:
        raw = BUILT_IN_SQL[dim.name]
    elif dim.name.startswith(("attr.", "resource.")):
        prefix, key = dim.name.split(".", 1)
        raw = d.map_get("attributes" if prefix == "attr" else "resource_attributes", key)
        if dim.numeric:
            raw = _cut(d, d.to_float(raw), dim.edges)
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


def unit_rows_sql(
    d: Dialect,
    target: str,
    baseline: str,
    dimensions: Sequence[Dimension],
    unit: str = "span",
    extra: Sequence[str] = (),
) -> tuple[str, str]:
    """The unit rows of both windows as ``(prefix, select)``: ``prefix`` is the ``WITH``
    clause a query built on them starts with (the origin walk; empty for ``span``), the
    ``SELECT`` gives ``is_target``, ``y`` (the metric, NULL when the span has none), ``h``
    (a row hash), ``d0``.. (the dimensions, in order) and the ``extra`` expressions (over
    the span columns, e.g. ``start_ns``).

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
        # a cycle of parent links would make the walk endless: it stops where Polars'
        # does (analysis.rca.origin.MAX_DEPTH generations above the parents)
        step0, step1 = d.cast("0", d.int64), d.cast("u_step + 1", d.int64)
        prefix = (
            "WITH RECURSIVE "
            "errs AS (SELECT trace_id AS e_trace, parent_span_id AS e_parent "
            f"FROM ({narrow}) AS n1 WHERE status_code = 'error'), "
            "links AS (SELECT DISTINCT trace_id AS l_trace, span_id AS l_span, "
            f"parent_span_id AS l_parent FROM ({narrow}) AS n2 "
            "WHERE trace_id IN (SELECT e_trace FROM errs) AND parent_span_id IS NOT NULL), "
            f"up AS (SELECT e_trace AS u_trace, e_parent AS u_span, {step0} AS u_step "
            "FROM errs WHERE e_parent IS NOT NULL UNION ALL "
            f"SELECT l_trace AS u_trace, l_parent AS u_span, {step1} AS u_step FROM up "
            f"JOIN links ON l_trace = u_trace AND l_span = u_span WHERE u_step < {MAX_DEPTH}), "
            "ancestors AS (SELECT DISTINCT (u_trace || '/' || u_span) AS a_key FROM up) "
        )
    y = d.cast(
        f"CASE WHEN status_code IS NULL THEN NULL WHEN {failed} THEN 1 ELSE 0 END", d.float64
    )
    source = f"({both}) AS both_windows"
    select = (
        f"SELECT is_target, {y} AS y, {_hash(d, 'span_id')} AS h"
        + "".join(f", {x}" for x in [*dims, *extra])
        + f" FROM {source}"
    )
    return prefix, select


def sums_sql(d: Dialect, t: str) -> list[str]:
    """:data:`passes.TERMS` over unit rows, ``t`` (1.0 or 0.0) saying which side a row
    is on (the target, or after a deploy)."""
    sums = {
        "nt": t,
        "st": f"y * {t}",
        "qt": f"y * y * {t}",
        "nb": f"1.0 - {t}",
        "sb": f"y * (1.0 - {t})",
        "qb": f"y * y * (1.0 - {t})",
    }
    # errors have no separate test scale: z is y, as in passes.terms
    sums |= {"zt": sums["st"], "zqt": sums["qt"], "zb": sums["sb"], "zqb": sums["qb"]}
    parts = [f"sum({sums[k]}) AS {k}" for k in TERMS if k != "members"]
    return [*parts, f"{d.cast('sum(h)', d.int64)} AS members"]


def cube_sql(
    d: Dialect, target: str, baseline: str, dimensions: Sequence[Dimension], unit: str = "span"
) -> str:
    """The cube of ``target`` and ``baseline`` (``SELECT`` texts of :func:`columns_needed`):
    ``is_target``, ``d0``.. (the dimensions, in order) and :data:`passes.TERMS`."""
    prefix, rows = unit_rows_sql(d, target, baseline, dimensions, unit)
    names = [f"d{i}" for i in range(len(dimensions))]
    t = d.cast("CASE WHEN is_target THEN 1 ELSE 0 END", d.float64)
    keys = ", ".join(["is_target", *names])
    return (
        f"{prefix}SELECT {keys}, {', '.join(sums_sql(d, 't'))} "
        f"FROM (SELECT u.*, {t} AS t FROM ({rows}) AS u) AS r "
        f"WHERE y IS NOT NULL GROUP BY {keys}"
    )


def probe_sql(relation: str, columns: Sequence[str], n: int) -> str:
    """The first ``n`` rows of the map columns (what rca discovers dimensions from)."""
    return f"SELECT {', '.join(columns)} FROM ({relation}) AS p LIMIT {int(n)}"


MESSAGE_COLUMNS = ("error_type", "error_message", "status_message")
ERROR_SQL = (
    "coalesce(error_type || ': ' || coalesce(error_message, status_message), "
    "coalesce(error_message, status_message), error_type)"
)
"""``analysis.rca.failures.error_message`` (``Type: message``, else the message)."""


def errors_sql(
    d: Dialect, target: str, baseline: str, dimensions: Sequence[Dimension], unit: str
) -> str:
    """The failing rows of both windows (every error span for ``span``, origin errors for
    ``origin``), projected: ``is_target``, ``trace_id``, ``start_ns``, ``y``, ``d0``..,
    ``span_id``, ``message`` (what the failure templates are mined from)."""
    extra = ["trace_id AS e_trace", "start_ns AS e_start", "span_id AS e_span"]
    extra.append(f"{ERROR_SQL} AS message")
    prefix, rows = unit_rows_sql(d, target, baseline, dimensions, unit, extra)
    names = [f"d{i}" for i in range(len(dimensions))]
    head = ["is_target", "e_trace AS trace_id", "e_start AS start_ns", "y"]
    cols = ", ".join([*head, *names, "e_span AS span_id", "message"])
    return f"{prefix}SELECT {cols} FROM ({rows}) AS u WHERE y > 0"


def sighting_sql(
    d: Dialect, target: str, baseline: str, dimension: Dimension, value: str, unit: str
) -> str:
    """A value's target rows: its first start (``first_ns``) and up to three example
    traces (``trace_id``), worst rows first, then the earliest (``changes.new_values``).

    Per trace the rank of its first row in that order is (its worst ``y``, the earliest
    start among the rows that have it); errors' ``y`` is 0 or 1."""
    extra = ["trace_id AS s_trace", "start_ns AS s_start"]
    prefix, rows = unit_rows_sql(d, target, baseline, [dimension], unit, extra)
    mine = (
        f"SELECT * FROM ({rows}) AS u WHERE is_target AND y IS NOT NULL AND d0 = {d.literal(value)}"
    )
    worst = "min(CASE WHEN y > 0 THEN s_start ELSE NULL END)"
    per_trace = (
        f"SELECT s_trace, max(y) AS my, {worst} AS worst_ns, min(s_start) AS any_ns "
        f"FROM ({mine}) AS m GROUP BY s_trace"
    )
    first = f"SELECT min(s_start) AS first_ns FROM ({mine}) AS f"
    return (
        f"{prefix}SELECT g.s_trace AS trace_id, q.first_ns AS first_ns "
        f"FROM ({per_trace}) AS g CROSS JOIN ({first}) AS q "
        "ORDER BY g.my DESC, CASE WHEN g.my > 0 THEN g.worst_ns ELSE g.any_ns END, g.s_trace "
        "LIMIT 3"
    )


def seen_before_sql(d: Dialect, history: str, dimension: Dimension, value: str) -> str:
    """The first start (``first_ns``) of ``history``'s spans with the value, and how many
    there are (``n``: ClickHouse's ``min`` of no rows is 0, not NULL, on a column that
    is not Nullable)."""
    return (
        f"SELECT min(start_ns) AS first_ns, count(*) AS n FROM ({history}) AS h "
        f"WHERE {dimension_sql(d, dimension)} = {d.literal(value)}"
    )


def split_cube_sql(
    d: Dialect,
    target: str,
    baseline: str,
    dimensions: Sequence[Dimension],
    unit: str,
    at_ns: int,
) -> str:
    """The target's cube split at ``at_ns`` instead of by window: ``after`` (started at or
    after it), ``d0``.. and :data:`passes.TERMS`, ``after`` on the target's side of the
    sums (the before/after-deploy check)."""
    prefix, rows = unit_rows_sql(d, target, baseline, dimensions, unit, ["start_ns AS a_start"])
    names = [f"d{i}" for i in range(len(dimensions))]
    after = f"(a_start >= {int(at_ns)})"
    t = d.cast(f"CASE WHEN {after} THEN 1 ELSE 0 END", d.float64)
    keys = ", ".join(["after", *names])
    return (
        f"{prefix}SELECT {keys}, {', '.join(sums_sql(d, 't'))} "
        f"FROM (SELECT u.*, {after} AS after, {t} AS t FROM ({rows}) AS u "
        "WHERE is_target AND y IS NOT NULL) AS r "
        f"GROUP BY {keys}"
    )
