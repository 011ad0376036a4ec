"""Who a span's cost belongs to, in SQL: its trace's user, session and environment, and its
nearest agent and tool, for ``cost --by user|session|environment|agent|tool`` on DuckDB,
Spark and ClickHouse.

It spells the two Polars steps ``analysis.cost.report.grouping`` takes before grouping:

* ``attributed``: a span without a user (session, environment) takes its trace's, the
  value of the trace's earliest span that has one, by (start time, span id, value), nulls
  last: a rule every engine can follow (storage order is not portable), written as a
  ``row_number`` over the trace and a ``max`` of the chosen row over the trace.
* ``with_ancestry`` (``analysis.traces.ancestry``): the nearest agent and tool
  ancestor-or-self, walked *down* the parent links by a recursive query: the walk starts
  at the spans whose parent is not in the window (or none, or itself), and each child
  takes its own label, else its parent's. Every span is visited once (a walk up from
  every span would visit each ancestor again). Spans whose parent links run into a cycle
  are not reached from any top; they get the labels of a walk *up* of at most
  :data:`CYCLE_STEPS` steps, as Polars' pointer jumping gives the nearest label on the
  cycle. Repeated (trace, span) ids are one node: the row with the smallest (parent,
  agent label, tool label), nulls last, as ``ancestry._nodes`` picks it.

Everything is added to the priced spans ``c2`` as ``ca`` (``a_<column>`` columns), before
``--where`` selects spans, as in Polars (a filtered-out tool span still names its calls).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyflare_cli.engine.base import Dialect

TRACE_WIDE = {"user": "user_id", "session": "session_id", "environment": "environment"}
BY_ANCESTRY = ("agent", "tool")
COLUMNS = {
    "user": list(TRACE_WIDE.values()),
    "session": list(TRACE_WIDE.values()),
    "environment": list(TRACE_WIDE.values()),
    "agent": ["ai_kind", "agent_name", "tool_name"],
    "tool": ["ai_kind", "agent_name", "tool_name"],
}
"""The span columns each dimension reads besides :data:`cost_sql.SPAN_COLUMNS` (as in
Polars, one trace-wide dimension fills all three: ``--where`` then reads them filled)."""
CYCLE_STEPS = 64
"""How far up the walk for spans under a cycle of parent links goes (a bounded walk: a
cycle without a label would never end)."""


def columns_for(dimensions: Sequence[str]) -> list[str]:
    """The extra span columns ``dimensions`` need, in a stable order."""
    out: list[str] = []
    for name in dimensions:
        out += [c for c in COLUMNS.get(name, []) if c not in out]
    return out


def column(name: str) -> str:
    """The ``ca`` column a dimension is grouped by."""
    return f"a_{name}"


def filled(dimensions: Sequence[str]) -> dict[str, str]:
    """The span columns ``--where`` must read from ``ca`` (filled from the trace), and
    the ``ca`` column each is read from."""
    if not any(n in TRACE_WIDE for n in dimensions):
        return {}
    return {c: column(n) for n, c in TRACE_WIDE.items()}


def _label(kind: str, own: str) -> str:
    return f"(CASE WHEN ai_kind = '{kind}' THEN coalesce({own}, name) ELSE {own} END)"


def recursive(dimensions: Sequence[str]) -> bool:
    """Whether :func:`attribution_ctes` holds a recursive clause (the query then starts
    with ``WITH RECURSIVE``)."""
    return any(n in BY_ANCESTRY for n in dimensions)


def attribution_ctes(d: Dialect, base: str, dimensions: Sequence[str], spans: str = "s") -> str:
    """``WITH`` clauses (each preceded by a comma) ending in ``ca``: ``base``'s rows plus
    an ``a_<name>`` column for each of ``dimensions`` that needs one (``a_user``...);
    ``spans``: the clause of the window's spans as read, where the ancestry is walked."""
    wide = list(TRACE_WIDE) if any(n in TRACE_WIDE for n in dimensions) else []
    walk = [n for n in dimensions if n in BY_ANCESTRY]
    parts: list[str] = []
    current = base
    if wide:
        ranks = [
            f"row_number() OVER (PARTITION BY trace_id ORDER BY "
            f"CASE WHEN {TRACE_WIDE[n]} IS NULL THEN 1 ELSE 0 END, start_ns ASC NULLS LAST, "
            f"span_id ASC NULLS LAST, {TRACE_WIDE[n]} ASC NULLS LAST) AS r_{n}"
            for n in wide
        ]
        fills = [
            f"coalesce({TRACE_WIDE[n]}, max(CASE WHEN r_{n} = 1 THEN {TRACE_WIDE[n]} END) "
            f"OVER (PARTITION BY trace_id)) AS {column(n)}"
            for n in wide
        ]
        parts.append(f"ar AS (SELECT {current}.*, {', '.join(ranks)} FROM {current})")
        parts.append(f"af AS (SELECT ar.*, {', '.join(fills)} FROM ar)")
        current = "af"
    if walk:
        parts += _walk_ctes(d, spans)
        picked = ", ".join(f"aw.w_{n} AS {column(n)}" for n in walk)
        parts.append(
            f"ca AS (SELECT {current}.*, {picked} FROM {current} "
            f"LEFT JOIN aw ON aw.w_trace = {current}.trace_id AND aw.w_span = {current}.span_id)"
        )
    else:
        parts.append(f"ca AS (SELECT * FROM {current})")
    return "".join(f",\n{p}" for p in parts)


def _walk_ctes(d: Dialect, base: str) -> list[str]:
    """Clauses ending in ``aw``: ``w_trace``, ``w_span``, ``w_agent``, ``w_tool`` of every
    node (a (trace, span) pair of ``base``, the window's spans as read: the walk needs
    their ids and labels only, not their prices; ClickHouse inlines every CTE, so each
    step of a walk over the priced rows would price the window again, and it allows no
    ``MATERIALIZED`` clause in a recursive ``WITH``)."""
    agent = _label("agent", "agent_name")
    tool = _label("tool", "tool_name")
    parent = "CASE WHEN parent_span_id <> span_id THEN parent_span_id END"
    order = "n_parent ASC NULLS LAST, n_agent ASC NULLS LAST, n_tool ASC NULLS LAST"
    # ClickHouse's recursive CTEs: the anchor and the step must agree on Nullable types.
    text = d.string if d.name != "clickhouse" else "Nullable(String)"

    def nullable(expr: str) -> str:
        return f"CAST({expr} AS {text})" if d.name == "clickhouse" else expr

    return [
        "an0 AS (SELECT trace_id AS n_trace, span_id AS n_span, "
        f"{parent} AS n_parent, {agent} AS n_agent, {tool} AS n_tool FROM {base} "
        "WHERE trace_id IS NOT NULL AND span_id IS NOT NULL)",
        "an1 AS (SELECT an0.*, row_number() OVER (PARTITION BY n_trace, n_span "
        f"ORDER BY {order}) AS n_rn FROM an0)",
        "an AS (SELECT n_trace, n_span, n_parent, n_agent, n_tool FROM an1 WHERE n_rn = 1)",
        # the tops: no parent, or a parent that is not a node of the window
        "atop AS (SELECT c.n_trace AS t_trace, c.n_span AS t_span, c.n_agent AS t_agent, "
        "c.n_tool AS t_tool FROM an AS c LEFT JOIN an AS p "
        "ON p.n_trace = c.n_trace AND p.n_span = c.n_parent WHERE p.n_span IS NULL)",
        f"adown AS (SELECT t_trace AS d_trace, t_span AS d_span, {nullable('t_agent')} AS "
        f"d_agent, {nullable('t_tool')} AS d_tool FROM atop UNION ALL "
        "SELECT k.n_trace AS d_trace, k.n_span AS d_span, "
        f"{nullable('coalesce(k.n_agent, w.d_agent)')} AS d_agent, "
        f"{nullable('coalesce(k.n_tool, w.d_tool)')} AS d_tool "
        "FROM adown AS w JOIN an AS k ON k.n_trace = w.d_trace AND k.n_parent = w.d_span)",
        # spans under a cycle: walked up, at most CYCLE_STEPS steps
        "alost AS (SELECT an.* FROM an LEFT JOIN adown "
        "ON adown.d_trace = an.n_trace AND adown.d_span = an.n_span WHERE adown.d_span IS NULL)",
        "aup AS (SELECT n_trace AS u_trace, n_span AS u_span, n_parent AS u_at, "
        f"{nullable('n_agent')} AS u_agent, {nullable('n_tool')} AS u_tool, "
        f"{d.cast('0', d.int64)} AS u_step "
        "FROM alost UNION ALL "
        "SELECT u.u_trace AS u_trace, u.u_span AS u_span, k.n_parent AS u_at, "
        f"{nullable('coalesce(u.u_agent, k.n_agent)')} AS u_agent, "
        f"{nullable('coalesce(u.u_tool, k.n_tool)')} AS u_tool, "
        f"{d.cast('u.u_step + 1', d.int64)} AS u_step "
        "FROM aup AS u JOIN alost AS k ON k.n_trace = u.u_trace AND k.n_span = u.u_at "
        f"WHERE (u.u_agent IS NULL OR u.u_tool IS NULL) AND u.u_step < {CYCLE_STEPS})",
        "aupl AS (SELECT u_trace, u_span, u_agent, u_tool, row_number() OVER "
        "(PARTITION BY u_trace, u_span ORDER BY u_step DESC) AS u_rn FROM aup)",
        "aw AS (SELECT d_trace AS w_trace, d_span AS w_span, d_agent AS w_agent, "
        "d_tool AS w_tool FROM adown UNION ALL SELECT u_trace AS w_trace, u_span AS w_span, "
        "u_agent AS w_agent, u_tool AS w_tool FROM aupl WHERE u_rn = 1)",
    ]
