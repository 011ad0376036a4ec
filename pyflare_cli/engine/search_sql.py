"""``--where`` on the SQL engines: the search language compiled to one SQL predicate.

The search language (docs/search.md) is parsed once (:mod:`analysis.search.parser`) and
compiled to Polars by :mod:`analysis.search.compile`; this module compiles the same tree
to a SQL boolean expression with the same meaning, so ``--where`` runs where the spans
are (DuckDB, Spark SQL, ClickHouse). It mirrors the Polars compiler term by term:

- a term on a missing value is false, so its negation is true (``coalesce(..., FALSE)``);
- text compares lower-cased (the value lower-cased here, as the Polars compiler does);
  globs become the same regex, anchored, case-insensitive, ``.`` matching newlines;
- trace-level fields (``trace.duration``, ``trace.errors``...) are window functions over
  ``trace_id``, computed over the same relation the Polars window expressions see.

Values never become SQL text except as literals quoted by :meth:`Dialect.literal` (or
numbers the parser produced), so a query cannot inject SQL. What SQL cannot run yet
(``eval.<name>``: the scores are not on the engine) exits 2 naming the term.

Because of the window functions, the predicate must be computed in a ``SELECT`` list and
filtered one level up: :func:`matching` does that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyflare_cli.analysis.search.fields import FIELDS, Op
from pyflare_cli.analysis.search.parser import parse
from pyflare_cli.analysis.search.syntax import And, Glob, Node, Not, Or, Term, Value
from pyflare_cli.analysis.search.time_bounds import resolve_bound
from pyflare_cli.engine.base import Dialect, SqlEngine, unsupported
from pyflare_cli.engine.parquet import ns

BARE_WORD_COLUMNS = ("name", "error_message", "status_message", "input_text", "output_text")
"""The columns a bare word searches (as :data:`analysis.search.compile.BARE_WORD_COLUMNS`)."""

ColumnOf = Callable[[str], str]
"""How a canonical span column is read in the relation filtered (a name or an expression);
``start_time``/``end_time`` are asked for as ``start_ns``/``end_ns``."""


def _same(name: str) -> str:
    return name


# -- the few spellings that differ between engines ------------------------------------


def lower(d: Dialect, expr: str) -> str:
    """Unicode lower case (ClickHouse's ``lower`` is ASCII only)."""
    return f"lowerUTF8({expr})" if d.name == "clickhouse" else f"lower({expr})"


def regex_match(d: Dialect, expr: str, pattern: str) -> str:
    """Whether ``pattern`` (RE2 / Java syntax, flags inline) matches somewhere in ``expr``."""
    p = d.literal(pattern)
    if d.name == "clickhouse":
        return f"match({expr}, {p})"
    if d.name == "spark":
        return f"({expr} RLIKE {p})"
    return f"regexp_matches({expr}, {p})"


def starts_with(d: Dialect, expr: str, prefix: str) -> str:
    fn = {"clickhouse": "startsWith", "spark": "startswith"}.get(d.name, "starts_with")
    return f"{fn}({expr}, {d.literal(prefix)})"


def contains(d: Dialect, expr: str, text: str) -> str:
    """``text`` occurs in ``expr`` (literally, no pattern)."""
    if d.name == "clickhouse":
        return f"(position({expr}, {d.literal(text)}) > 0)"
    if d.name == "spark":
        return f"(instr({expr}, {d.literal(text)}) > 0)"
    return f"contains({expr}, {d.literal(text)})"


def map_has(d: Dialect, column: str, key: str) -> str:
    fn = {"clickhouse": "mapContains", "spark": "map_contains_key"}.get(d.name, "map_contains")
    return f"{fn}({column}, {d.literal(key)})"


def _glob_regex(d: Dialect, glob: Glob, *, anchored: bool) -> str:
    # As the Polars compiler: case-insensitive, '.' across newlines. Java needs (?u) for
    # Unicode case folding; RE2 folds Unicode with (?i) alone.
    flags = "(?isu)" if d.name == "spark" else "(?is)"
    return rf"{flags}\A{glob.regex}\z" if anchored else f"{flags}{glob.regex}"


# -- the compiler ------------------------------------------------------------------------


class _Compiler:
    def __init__(
        self, d: Dialect, engine: str, now: datetime, column: ColumnOf, option: str = "--where"
    ) -> None:
        self.d = d
        self.engine = engine
        self.now = now
        self.col = column
        self.option = option
        """The option the query came from, named when a term is refused."""

    def node(self, node: Node) -> str:
        if isinstance(node, And | Or):
            if not node.children:
                return "TRUE" if isinstance(node, And) else "FALSE"
            joint = " AND " if isinstance(node, And) else " OR "
            return "(" + joint.join(self.node(c) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.node(node.child)})"
        return f"coalesce({self.term(node)}, FALSE)"

    def refuse(self, term: Term, why: str) -> Exception:
        name = term.field or str(term.value)
        return unsupported(self.engine, f"{self.option} term '{name}' ({why})")

    def literal(self, value: Value) -> str:
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            # a number past 1.8e308 parses as inf: quoted, or SQL reads 'inf' as a column
            text = repr(value) if math.isfinite(value) else self.d.literal(repr(value))
            return self.d.cast(text, self.d.float64)
        assert isinstance(value, str)
        return self.d.literal(value)

    def any(self, parts: list[str]) -> str:
        return "(" + " OR ".join(f"coalesce({p}, FALSE)" for p in parts) + ")"

    def term(self, term: Term) -> str:
        if term.field is None:
            return self.any([self.contains(self.col(c), term.value) for c in BARE_WORD_COLUMNS])
        if term.field.startswith("eval.") or (
            term.field == "has" and isinstance(term.value, str) and term.value.startswith("eval.")
        ):
            raise self.refuse(term, "evaluation scores are not on the engine")
        if term.field.startswith(("attr.", "resource.")):
            prefix, _, key = term.field.partition(".")
            column = self.col(FIELDS[f"{prefix}.*"].columns[0])
            return self.attribute(self.d.map_get(column, key), term)
        field = FIELDS[term.field]
        if field.trace_level:
            return self.trace_term(field.name, term)
        columns = [self.col(c) for c in field.columns]
        value = term.value
        match field.kind:
            case "keyword" | "enum":
                matches = [self.equals(c, value) for c in columns]
                if field.name == "status" and value == "unset":
                    matches.append(f"{self.col('status_code')} IS NULL")
                return self.any(matches)
            case "prefix":
                return self.prefix(columns[0], value)
            case "substring":
                if isinstance(value, bool):
                    is_error = f"({lower(self.d, self.col('status_code'))} = 'error')"
                    return is_error if value else f"(NOT coalesce({is_error}, FALSE))"
                return self.any([self.contains(c, value) for c in columns])
            case "time":
                assert isinstance(value, timedelta | datetime)
                bound = ns(resolve_bound(value, self.now))
                start = self.col("start_ns")
                return f"({start} >= {bound})" if field.name == "since" else f"({start} < {bound})"
            case "has":
                assert isinstance(value, str)
                return self.has(value)
            case _:
                return self.compare(columns[0], term.op, value, term.upper)

    def trace_term(self, name: str, term: Term) -> str:
        c = self.col
        trace = f"PARTITION BY {c('trace_id')}"
        match name:
            case "trace.duration":
                per = f"(max({c('end_ns')}) OVER ({trace}) - min({c('start_ns')}) OVER ({trace}))"
            case "trace.spans":
                per = f"count(*) OVER ({trace})"
            case "trace.errors":
                error = f"CASE WHEN {lower(self.d, c('status_code'))} = 'error' THEN 1 ELSE 0 END"
                per = f"sum({error}) OVER ({trace})"
            case "trace.cost":  # Polars' sum of no priced span is 0, SQL's is NULL
                per = f"coalesce(sum({c('cost_usd')}) OVER ({trace}), 0)"
            case _:  # trace.service: does any span of the trace have it
                same = self.equals(c("service_name"), term.value)
                hit = f"CASE WHEN coalesce({same}, FALSE) THEN 1 ELSE 0 END"
                return f"(max({hit}) OVER ({trace}) = 1)"
        return self.compare(per, term.op, term.value, term.upper)

    def has(self, name: str) -> str:
        if name.startswith(("attr.", "resource.")):
            prefix, _, key = name.partition(".")
            return map_has(self.d, self.col(FIELDS[f"{prefix}.*"].columns[0]), key)
        return self.any([f"{self.col(c)} IS NOT NULL" for c in FIELDS[name].columns])

    def attribute(self, expr: str, term: Term) -> str:
        value = term.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.compare(self.d.to_float(expr), term.op, value, term.upper)
        if term.op == "=":
            return self.equals(expr, value)
        upper = term.upper.lower() if isinstance(term.upper, str) else term.upper
        assert isinstance(value, str)
        return self.compare(lower(self.d, expr), term.op, value.lower(), upper)

    def compare(self, expr: str, op: Op, value: Value, upper: Value) -> str:
        low = self.literal(value)
        if op == "..":
            return f"({expr} BETWEEN {low} AND {self.literal(upper)})"
        return f"({expr} {op} {low})"

    def equals(self, expr: str, value: Value) -> str:
        if value is None:
            return f"({expr} IS NULL)"
        if isinstance(value, Glob):
            return regex_match(self.d, expr, _glob_regex(self.d, value, anchored=True))
        assert isinstance(value, str)
        return f"({lower(self.d, expr)} = {self.d.literal(value.lower())})"

    def prefix(self, expr: str, value: Value) -> str:
        if isinstance(value, Glob):
            return regex_match(self.d, expr, _glob_regex(self.d, value, anchored=True))
        assert isinstance(value, str)
        return starts_with(self.d, lower(self.d, expr), value.lower())

    def contains(self, expr: str, value: Value) -> str:
        if isinstance(value, Glob):
            return regex_match(self.d, expr, _glob_regex(self.d, value, anchored=False))
        assert isinstance(value, str)
        return contains(self.d, lower(self.d, expr), value.lower())


def where_sql(
    d: Dialect,
    engine: str,
    query: str | Node,
    now: datetime,
    column: ColumnOf = _same,
    option: str = "--where",
) -> str:
    """The boolean SQL expression (never NULL) of ``query`` over one span relation.

    It may hold window functions (trace-level fields): use it in a ``SELECT`` list, as
    :func:`matching` does. ``eval.`` terms exit 2 naming the term and ``option``.
    """
    node = parse(query) if isinstance(query, str) else query
    return _Compiler(d, engine, now, column, option).node(node)


def _terms(node: Node) -> Iterator[Term]:
    if isinstance(node, And | Or):
        for child in node.children:
            yield from _terms(child)
    elif isinstance(node, Not):
        yield from _terms(node.child)
    else:
        yield node


def columns_of(query: str | Node) -> set[str]:
    """The canonical span columns ``query`` reads (``cost_usd`` when it needs prices;
    ``start_ns``/``end_ns``, which every engine relation has, are left out)."""
    node = parse(query) if isinstance(query, str) else query
    out: set[str] = set()
    for term in _terms(node):
        field = term.field
        if field is None:
            out.update(BARE_WORD_COLUMNS)
        elif field.startswith(("attr.", "resource.")):
            out.add(FIELDS[f"{field.partition('.')[0]}.*"].columns[0])
        elif field.startswith("eval."):
            continue
        elif field == "has" and isinstance(term.value, str):
            target = term.value
            if target.startswith(("attr.", "resource.")):
                out.add(FIELDS[f"{target.partition('.')[0]}.*"].columns[0])
            elif not target.startswith("eval."):
                out.update(FIELDS[target].columns)
        else:
            out.update(FIELDS[field].columns)
            if field in ("status", "error", "trace.errors"):
                out.add("status_code")
            if field.startswith("trace."):
                out.add("trace_id")
    return out - {"start_time", "end_time"}


def matching(relation: str, predicate: str) -> str:
    """The rows of ``relation`` for which ``predicate`` holds (computed one level down, so
    it may hold window functions), with their columns and ``w_hit``."""
    return (
        f"SELECT * FROM (SELECT r.*, {predicate} AS w_hit FROM ({relation}) AS r) AS w WHERE w_hit"
    )


def matching_traces(relation: str, predicate: str) -> str:
    """Every row of ``relation`` whose trace has a row for which ``predicate`` holds
    (``--where`` on traces: a trace matches when one of its spans does)."""
    hits = f"SELECT DISTINCT trace_id AS w_trace FROM ({matching(relation, predicate)}) AS h"
    return (
        f"SELECT r.* FROM ({relation}) AS r WHERE r.trace_id IN (SELECT w_trace FROM ({hits}) AS t)"
    )


TEXT_COLUMNS = frozenset({"input_text", "output_text"})
"""Not in the ``otel_traces`` view (its message-text rules are not expressible)."""


def prepare(
    engine: SqlEngine,
    where: str,
    now: datetime,
    column: ColumnOf = _same,
    option: str = "--where",
) -> Where:
    """``where`` compiled for ``engine``, with the span columns it reads.

    Exit 2 naming the term and ``option`` (the query's option: ``--where``,
    ``--span-filter``, ``--select``) for what the engine cannot run: ``eval.`` terms, and
    text searches (bare words, ``text:``) over an ``otel_traces`` table, which has no texts.
    """
    from pyflare_cli.engine.clickhouse_engine import ClickHouseEngine

    node = parse(where)
    columns = columns_of(node)
    if isinstance(engine, ClickHouseEngine) and engine.source.table is not None:
        for term in _terms(node):
            reads = BARE_WORD_COLUMNS if term.field is None else FIELDS.get(term.field or "")
            names = reads if isinstance(reads, tuple) else (reads.columns if reads else ())
            if TEXT_COLUMNS.intersection(names):
                raise _Compiler(engine.dialect, engine.name, now, column, option).refuse(
                    term, "the otel_traces view has no input_text/output_text"
                )
    predicate = where_sql(engine.dialect, engine.name, node, now, column, option)
    return Where(predicate, tuple(sorted(columns)))


@dataclass(frozen=True)
class Where:
    """A compiled ``--where``: the predicate, and the span columns it reads."""

    predicate: str
    columns: tuple[str, ...]
