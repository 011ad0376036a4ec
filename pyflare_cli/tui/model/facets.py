"""Facet counts that predict the list, and the store's values for the search bar to complete.

Selecting a facet value adds the term ``field:value`` to the query, and a trace matches a
query when one of its spans matches all of it. So the count beside a value is the number of
traces with a span matching ``query AND field:value``, both compiled by the search
language's own compiler (:func:`~pyflare_cli.analysis.search.compile.compile_query`), never
a second definition: ``model:gpt-4o`` also matches a span whose request model is gpt-4o,
and values compare without case, exactly as the term will. Counting "traces of the listed
ones that have a span of service X" instead over-counts whenever the query's condition and
the value sit on different spans of a trace (``status:error`` and a gateway root).

Two passes over the query's time window: the most common values among the spans that match
the query (the candidates) and the distinct combinations of the columns a term reads; the
compiler decides each candidate term on those combinations, and one aggregation counts the
traces of the matching combinations per term (a filtered ``n_unique`` by key), so the
strings of a million spans are lower-cased by no term.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.search.compile import compile_query, parse
from pyflare_cli.analysis.search.syntax import Node
from pyflare_cli.query.spans import SpanQuery, select_spans
from pyflare_cli.store.scan import scan_spans

FACET_FIELDS = (("service", "service_name"), ("model", "model"), ("status", "status_code"))
"""Facets as (query field, column): selecting one adds ``field:value`` to the query."""

FACET_LIMIT = 12
_CANDIDATES = FACET_LIMIT + 4
"""Values counted exactly per field: the most common among the matching spans, a few more
than are shown, since a value's exact count can rank it differently."""

_TERM_COLUMNS = ["service_name", "model", "request_model", "status_code"]
"""Every column a facet term reads (``model:`` reads the response and the request model)."""

_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/@+-")

COMPLETION_FIELDS = (
    ("service", "service_name"),
    ("model", "model"),
    ("name", "name"),
    ("agent", "agent_name"),
    ("tool", "tool_name"),
)
"""Fields whose values the search bar completes from the store: (field, column)."""
COMPLETION_LIMIT = 200
"""Values per field, the most common first: enough to complete, small to keep."""
KEY_SAMPLE = 200_000
"""Attribute keys are read from this many spans (unnesting every map of a million spans
costs seconds; the keys in use show up in any sizeable sample)."""


@dataclass(frozen=True)
class Facets:
    """Per facet field, the most common values and how many traces their term would list."""

    counts: dict[str, list[tuple[str, int]]]


def facet_term(field: str, value: str) -> str:
    """``field:value``, quoting the value when the query language needs it."""
    if value and set(value) <= _PLAIN and not value.startswith("-"):
        return f"{field}:{value}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}:"{escaped}"'


def count_facets(
    root: Path,
    query: str,
    now: datetime,
    *,
    since: str | None = None,
    rules: tuple[PriceRule, ...] = (),
) -> Facets:
    """Per facet field, up to :data:`FACET_LIMIT` values, each with the number of traces
    the list shows once ``field:value`` is added to ``query`` (most first).

    Raises :class:`~pyflare_cli.errors.QuerySyntaxError` for a bad query.
    """
    parse(query)
    selection = select_spans(root, SpanQuery(since, None, query.strip() or None), now, rules)
    matching = selection.window.filter(selection.where)
    # A facet term reads only these columns, so it is decided once per distinct combination
    # of their values (a few hundred) by the compiler, then counted over the spans by key.
    keyed = matching.select("trace_id", *_TERM_COLUMNS).with_columns(
        pl.struct(_TERM_COLUMNS).hash().alias("_key")
    )
    plans = [
        matching.filter(pl.col(column).is_not_null())
        .group_by(column)
        .agg(pl.col("trace_id").n_unique().alias("n"))
        .sort(["n", column], descending=[True, False])
        .head(_CANDIDATES)
        for _, column in FACET_FIELDS
    ]
    *candidates, combos = pl.collect_all([*plans, keyed.drop("trace_id").unique()])
    terms: list[tuple[str, str]] = []
    exprs: list[pl.Expr] = []
    for (field, _), frame in zip(FACET_FIELDS, candidates, strict=True):
        for value in frame.to_series(0).cast(pl.String).to_list():
            term: Node = parse(facet_term(field, value))
            keys = combos.filter(compile_query(term, now))["_key"]
            exprs.append(
                pl.col("trace_id")
                .filter(pl.col("_key").is_in(keys.implode()))
                .n_unique()
                .alias(str(len(terms)))
            )
            terms.append((field, value))
    counted = keyed.select(exprs).collect().row(0) if exprs else ()
    out: dict[str, list[tuple[str, int]]] = {field: [] for field, _ in FACET_FIELDS}
    for (field, value), n in zip(terms, counted, strict=True):
        if n:
            out[field].append((value, int(n)))
    return Facets(
        {
            field: sorted(values, key=lambda v: (-v[1], v[0]))[:FACET_LIMIT]
            for field, values in out.items()
        }
    )


def completion_values(root: Path, since: datetime | None = None) -> dict[str, list[str]]:
    """What the search bar completes: per field of :data:`COMPLETION_FIELDS` the store's
    values, most common first, and under ``attr`` and ``resource`` the attribute keys (of
    the first :data:`KEY_SAMPLE` spans)."""
    scan = scan_spans(root, since, None)
    plans = [
        scan.select(pl.col(column).drop_nulls())
        .group_by(column)
        .len()
        .sort(["len", column], descending=[True, False])
        .head(COMPLETION_LIMIT)
        .select(column)
        for _, column in COMPLETION_FIELDS
    ]
    plans += [
        scan.head(KEY_SAMPLE)
        .select(pl.col(column).map.keys().explode().drop_nulls().alias("key"))
        .group_by("key")
        .len()
        .sort(["len", "key"], descending=[True, False])
        .head(COMPLETION_LIMIT)
        .select("key")
        for column in ("attributes", "resource_attributes")
    ]
    frames = pl.collect_all(plans)
    names = [field for field, _ in COMPLETION_FIELDS] + ["attr", "resource"]
    return {
        name: [str(v) for v in frame.to_series(0).to_list() if v]
        for name, frame in zip(names, frames, strict=True)
    }
