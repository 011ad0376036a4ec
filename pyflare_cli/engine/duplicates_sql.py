"""The SQL mirror of ``analysis.cost.duplicates``: which LLM spans report a call that an
inner span reports too, as ``WITH`` clauses over the spans ``s`` of
:func:`engine.cost_sql.priced_spans` (DuckDB, Spark and ClickHouse).

The rule is the Polars one, clause for clause: the same tokens, or an outer call without
usage whose input text does not differ from the inner one's. The texts are looked up by
span id for the few candidate pairs only, from a relation of their own, so the spans
carried through the cost query never hold the widest column.
"""

from __future__ import annotations

from pyflare_cli.engine.base import Dialect

TEXT_COLUMNS = ("trace_id", "span_id", "ai_kind", "input_text")
"""The ``texts`` relation: the input texts that tell LLM calls without usage apart."""


def _eq_missing(a: str, b: str) -> str:
    """``a`` equals ``b``, with NULL equal to NULL; never NULL itself (Polars' eq_missing)."""
    return f"(coalesce({a} = {b}, FALSE) OR ({a} IS NULL AND {b} IS NULL))"


def duplicate_ctes(d: Dialect, texts: str | None) -> str:
    """``WITH`` clauses ending in ``dup`` (``d_trace``, ``d_span``): the outer span of each
    LLM call another span reports, by ``analysis.cost.duplicates``' rule over ``s``.

    Calls with the same tokens pair as child or sibling of another scope (``cand``: only
    those whose tokens another call of the trace shares). An outer call without usage
    (``bare``) pairs with its child, or its sibling of another scope, among the calls of
    its trace (``near``; ``loose``: joined on the parent link, not the trace alone), when
    their input texts do not differ: the texts are read from ``texts``
    (:data:`TEXT_COLUMNS`) for the traces of ``loose`` only, usually none, so the spans
    carried through the query hold no text. Without ``texts`` no text is recorded.
    """
    outer = (
        "o.span_id <> i.span_id AND o.start_ns <= i.start_ns AND i.end_ns <= o.end_ns"
        " AND (NOT (o.start_ns = i.start_ns AND o.end_ns = i.end_ns) OR o.span_id > i.span_id)"
        " AND (o.model IS NULL OR i.model IS NULL OR o.model = i.model)"
    )
    other_scope = f"NOT {_eq_missing('i.scope_name', 'o.scope_name')}"
    parent = "coalesce(o.parent_span_id, '') = coalesce(i.parent_span_id, '')"
    if texts is None:
        none = d.cast("NULL", d.string)
        tx = f"SELECT l_trace AS t_trace, l_span AS t_span, {none} AS t_text FROM loose WHERE 1 = 0"
    else:
        tx = (
            "SELECT trace_id AS t_trace, span_id AS t_span, input_text AS t_text"
            f" FROM ({texts}) AS raw"
            " WHERE ai_kind = 'llm' AND trace_id IN (SELECT l_trace FROM loose)"
        )
    calls = (
        "SELECT trace_id, span_id, parent_span_id, scope_name, start_ns, end_ns, model,"
        " input_tokens, output_tokens FROM s WHERE ai_kind = 'llm'"
    )
    return f"""cand AS (
  SELECT * FROM (
    SELECT trace_id, span_id, parent_span_id, scope_name, start_ns, end_ns, model,
           input_tokens, output_tokens,
           count(*) OVER (PARTITION BY trace_id, input_tokens, output_tokens) AS n_same
    FROM s
    WHERE ai_kind = 'llm' AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL
  ) AS counted WHERE n_same > 1
),
bare AS (
  {calls} AND input_tokens IS NULL AND output_tokens IS NULL AND trace_id IS NOT NULL
),
near AS ({calls} AND trace_id IN (SELECT trace_id FROM bare)),
loose AS (
  SELECT o.trace_id AS l_trace, o.span_id AS l_span, i.span_id AS l_inner
  FROM bare AS o INNER JOIN near AS i ON o.trace_id = i.trace_id AND o.span_id = i.parent_span_id
  WHERE {outer}
  UNION ALL
  SELECT o.trace_id AS l_trace, o.span_id AS l_span, i.span_id AS l_inner
  FROM bare AS o INNER JOIN near AS i ON o.trace_id = i.trace_id AND {parent}
  WHERE {outer} AND {other_scope} AND {_eq_missing("i.parent_span_id", "o.parent_span_id")}
),
tx AS ({tx}),
dup AS (
  SELECT DISTINCT d_trace, d_span FROM (
    SELECT o.trace_id AS d_trace, o.span_id AS d_span
    FROM cand AS o INNER JOIN cand AS i
      ON o.trace_id = i.trace_id AND o.input_tokens = i.input_tokens
     AND o.output_tokens = i.output_tokens
    WHERE {outer}
      AND (i.parent_span_id = o.span_id
           OR ({_eq_missing("i.parent_span_id", "o.parent_span_id")} AND {other_scope}))
    UNION ALL
    SELECT l_trace AS d_trace, l_span AS d_span
    FROM loose
    LEFT JOIN tx AS ot ON ot.t_trace = loose.l_trace AND ot.t_span = loose.l_span
    LEFT JOIN tx AS it ON it.t_trace = loose.l_trace AND it.t_span = loose.l_inner
    WHERE ot.t_text IS NULL OR it.t_text IS NULL OR ot.t_text = it.t_text
  ) AS pairs
)"""
