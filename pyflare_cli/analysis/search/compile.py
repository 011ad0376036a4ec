"""Search: compile the query language into one boolean Polars expression over spans.

Every command's ``--where`` and the TUI search bar filter spans with the same queries
(DESIGN.md), so the language is compiled here, once, to lazy Polars expressions: the same
query then runs on a Parquet scan, an in-memory frame, or a distributed Polars-like engine,
with no Python per row. Trace-level fields (``trace.duration``, ``trace.errors``, ...) are
window expressions over ``trace_id``, so a query mixing span and trace conditions is still
a single span-level predicate.

``eval.<name>`` terms match spans by their evaluation results: the caller passes the
scores table (``trace_id``, ``span_id``, ``evaluator``, ``score``, ``label``; see
:mod:`pyflare_cli.analysis.eval.scores`), and a term becomes a semi-join by span: the
(trace, span) keys of the results that meet the condition, tested with ``is_in``. A span
with several results of one evaluator matches when any of them does.

The syntax and the field table live in :mod:`pyflare_cli.analysis.search.parser`;
``docs/search.md`` is the user's reference.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import reduce

import polars as pl

from pyflare_cli.analysis.search.fields import FIELDS, Field, Op
from pyflare_cli.analysis.search.parser import parse
from pyflare_cli.analysis.search.syntax import And, Glob, Node, Not, Or, Term, Value
from pyflare_cli.analysis.search.time_bounds import resolve_bound, time_bound
from pyflare_cli.errors import QuerySyntaxError

__all__ = [
    "FIELDS",
    "And",
    "Field",
    "Glob",
    "Node",
    "Not",
    "Or",
    "Term",
    "compile_query",
    "filter_spans",
    "filter_traces",
    "matching_trace_ids",
    "parse",
    "time_bound",
    "uses_scores",
]

BARE_WORD_COLUMNS = ("name", "error_message", "status_message", "input_text", "output_text")
"""The columns a bare word (a term without ``field:``) searches, as a substring."""

_ERROR_STATUS = "error"


def compile_query(query: str | Node, now: datetime, scores: pl.DataFrame | None = None) -> pl.Expr:
    """Compile a query (text or parsed) to a boolean span-level expression.

    ``now`` anchors relative times (``since:1h``); a naive ``now`` is taken as UTC. An
    empty query is ``pl.lit(True)``. Spans where a field is null never match it, and so
    do match its negation: ``-service:api`` keeps spans without a service.

    >>> from datetime import UTC
    >>> frame = pl.DataFrame({"service_name": ["api", "web", None]})
    >>> frame.filter(compile_query("-service:API", datetime.now(UTC)))["service_name"].to_list()
    ['web', None]
    """
    node = parse(query) if isinstance(query, str) else query
    return _compile(node, now, scores)


def filter_spans(
    spans: pl.LazyFrame, query: str | Node, now: datetime, scores: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """The spans that match ``query``.

    Queries using ``cost`` or ``trace.cost`` need a ``cost_usd`` column, which the caller
    adds (pricing is not search's business).

    >>> from datetime import UTC
    >>> spans = pl.LazyFrame({"span_id": ["a", "b"], "duration_ns": [5_000_000, 2_000_000_000]})
    >>> filter_spans(spans, "duration:>1s", datetime.now(UTC)).collect()["span_id"].to_list()
    ['b']
    """
    return spans.filter(compile_query(query, now, scores))


def matching_trace_ids(spans: pl.LazyFrame, query: str | Node, now: datetime) -> pl.LazyFrame:
    """The ids (one column ``trace_id``, unique, in first-seen order) of the traces with at
    least one span matching ``query``."""
    return filter_spans(spans, query, now).select("trace_id").unique(maintain_order=True)


def filter_traces(
    spans: pl.LazyFrame, query: str | Node, now: datetime, scores: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """Every span of every trace that has at least one span matching ``query``.

    >>> from datetime import UTC
    >>> spans = pl.LazyFrame({"trace_id": ["t1", "t1", "t2"], "tool_name": [None, "search", None]})
    >>> filter_traces(spans, "tool:search", datetime.now(UTC)).collect()["trace_id"].to_list()
    ['t1', 't1']
    """
    return spans.filter(compile_query(query, now, scores).any().over("trace_id"))


def uses_scores(node: Node) -> bool:
    """Whether the query has an ``eval.<name>`` term (or ``has:eval.<name>``)."""
    if isinstance(node, And | Or):
        return any(uses_scores(c) for c in node.children)
    if isinstance(node, Not):
        return uses_scores(node.child)
    named = node.value if node.field == "has" else node.field
    return isinstance(named, str) and named.startswith("eval.")


def _compile(node: Node, now: datetime, scores: pl.DataFrame | None = None) -> pl.Expr:
    if isinstance(node, And):
        parts = (_compile(c, now, scores) for c in node.children)
        return reduce(pl.Expr.and_, parts, pl.lit(True))
    if isinstance(node, Or):
        return reduce(pl.Expr.or_, (_compile(c, now, scores) for c in node.children), pl.lit(False))
    if isinstance(node, Not):
        return ~_compile(node.child, now, scores)
    # Null means "no match", so that negation (Kleene NOT would keep null) selects those spans.
    return _term(node, now, scores).fill_null(False)


def _any(exprs: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([e.fill_null(False) for e in exprs])


def _term(term: Term, now: datetime, scores: pl.DataFrame | None = None) -> pl.Expr:
    if term.field is None:
        return _any([_contains(pl.col(c), term.value) for c in BARE_WORD_COLUMNS])
    if term.field.startswith("eval."):
        return _scored(term, scores, _score_condition(term))
    if term.field == "has" and isinstance(term.value, str) and term.value.startswith("eval."):
        return _scored(term, scores, pl.lit(True), term.value)
    if term.field.startswith(("attr.", "resource.")):
        prefix, _, key = term.field.partition(".")
        column = FIELDS[f"{prefix}.*"].columns[0]
        return _attribute(pl.col(column).map.get(key), term)
    field = FIELDS[term.field]
    if field.trace_level:
        return _trace_term(field, term)
    columns = [pl.col(c) for c in field.columns]
    value = term.value
    match field.kind:
        case "keyword" | "enum":
            matches = [_equals(c, value) for c in columns]
            if field.name == "status" and value == "unset":
                matches.append(pl.col("status_code").is_null())
            return _any(matches)
        case "prefix":
            return _prefix(columns[0], value)
        case "substring":
            if isinstance(value, bool):
                is_error = pl.col("status_code").str.to_lowercase() == _ERROR_STATUS
                return is_error if value else ~is_error.fill_null(False)
            return _any([_contains(c, value) for c in columns])
        case "time":
            assert isinstance(value, timedelta | datetime)
            bound = resolve_bound(value, now)
            return columns[0] >= bound if field.name == "since" else columns[0] < bound
        case "has":
            assert isinstance(value, str)
            return _has(value)
        case _:
            return _compare(columns[0], term.op, value, term.upper)


def _span_key() -> pl.Expr:
    return pl.concat_str("trace_id", "span_id", separator="\x1f")


def _score_condition(term: Term) -> pl.Expr:
    """A number compares with the score, anything else with the label (as attributes)."""
    if isinstance(term.value, int | float) and not isinstance(term.value, bool):
        return _compare(pl.col("score"), term.op, term.value, term.upper)
    return _attribute(pl.col("label"), term)


def _scored(
    term: Term, scores: pl.DataFrame | None, condition: pl.Expr, name: str | None = None
) -> pl.Expr:
    """Spans with a result of the evaluator that meets ``condition``: a semi-join by key."""
    field = name or term.field or ""
    if scores is None:
        raise QuerySyntaxError(
            f"'{field}' needs evaluation scores, which are not read here",
            term.line,
            term.column,
            "use it with pyflare traces, eval or query commands",
        )
    evaluator = field.removeprefix("eval.")
    keys = (
        scores.lazy()
        .filter((pl.col("evaluator") == evaluator) & condition.fill_null(False))
        .select(_span_key().alias("key"))
        .unique()
        .collect()
        .get_column("key")
    )
    return _span_key().is_in(keys.implode())


def _trace_term(field: Field, term: Term) -> pl.Expr:
    per_trace: pl.Expr
    match field.name:
        case "trace.duration":
            span = pl.col("end_time").max() - pl.col("start_time").min()
            per_trace = span.dt.total_nanoseconds()
        case "trace.spans":
            per_trace = pl.len()
        case "trace.errors":
            per_trace = (pl.col("status_code").str.to_lowercase() == _ERROR_STATUS).sum()
        case "trace.cost":
            per_trace = pl.col("cost_usd").sum()
        case _:  # trace.service: does any span of the trace have it
            return (
                _equals(pl.col("service_name"), term.value).fill_null(False).any().over("trace_id")
            )
    return _compare(per_trace.over("trace_id"), term.op, term.value, term.upper)


def _has(name: str) -> pl.Expr:
    if name.startswith(("attr.", "resource.")):
        prefix, _, key = name.partition(".")
        return pl.col(FIELDS[f"{prefix}.*"].columns[0]).map.contains_key(key)
    return _any([pl.col(c).is_not_null() for c in FIELDS[name].columns])


def _attribute(attribute: pl.Expr, term: Term) -> pl.Expr:
    value = term.value
    if isinstance(value, int | float):
        return _compare(attribute.cast(pl.Float64, strict=False), term.op, value, term.upper)
    if term.op == "=":
        return _equals(attribute, value)
    upper = term.upper.lower() if isinstance(term.upper, str) else term.upper
    assert isinstance(value, str)
    return _compare(attribute.str.to_lowercase(), term.op, value.lower(), upper)


def _compare(expr: pl.Expr, op: Op, value: Value, upper: Value) -> pl.Expr:
    low = pl.lit(value)
    match op:
        case "=":
            return expr.eq(low)
        case ">":
            return expr.gt(low)
        case ">=":
            return expr.ge(low)
        case "<":
            return expr.lt(low)
        case "<=":
            return expr.le(low)
        case "..":
            return expr.is_between(low, pl.lit(upper), closed="both")


def _regex(glob: Glob, *, anchored: bool) -> str:
    # (?s): a wildcard also spans newlines in prompt and completion text.
    return rf"(?is)\A{glob.regex}\z" if anchored else f"(?is){glob.regex}"


def _equals(expr: pl.Expr, value: Value) -> pl.Expr:
    if value is None:
        return expr.is_null()
    if isinstance(value, Glob):
        return expr.str.contains(_regex(value, anchored=True))
    assert isinstance(value, str)
    return expr.str.to_lowercase() == value.lower()


def _prefix(expr: pl.Expr, value: Value) -> pl.Expr:
    if isinstance(value, Glob):
        return expr.str.contains(_regex(value, anchored=True))
    assert isinstance(value, str)
    return expr.str.to_lowercase().str.starts_with(value.lower())


def _contains(expr: pl.Expr, value: Value) -> pl.Expr:
    if isinstance(value, Glob):
        return expr.str.contains(_regex(value, anchored=False))
    assert isinstance(value, str)
    return expr.str.to_lowercase().str.contains(value.lower(), literal=True)
