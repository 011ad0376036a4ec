"""``pyflare rca --where`` and ``--span-filter`` on DuckDB, Spark and ClickHouse.

rca reads every window (target, baseline, the history before them) through an engine's
:meth:`SqlEngine.spans`. :class:`Filtered` is that engine with the search language applied
to every such relation, as rca does on Polars: ``--where`` keeps whole traces (a trace
matches when one of its spans in the window does), then ``--span-filter`` keeps the spans
that match. The predicates are ``engine.search_sql``'s (the same compiler as ``cost
--where`` on the engines), so every query rca builds on the relations is filtered alike.

A filter that reads cost (``cost``, ``trace.cost``) is refused: rca's rows are not priced
on the engines (exit 2 naming the option). ``--vs-rest --select`` compiles here too
(:func:`compiled`) and splits a window in ``engine.rca`` (``Part``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pyflare_cli.engine.base import SqlEngine, unsupported
from pyflare_cli.engine.search_sql import Where, matching, matching_traces, prepare

if TYPE_CHECKING:
    import polars as pl


class Filtered(SqlEngine):
    """``inner`` whose span relations hold only what ``where`` and ``span_filter`` keep."""

    def __init__(
        self, inner: SqlEngine, where: str | None, span_filter: str | None, now: datetime
    ) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[misc]
        self.dialect = inner.dialect  # type: ignore[misc]
        self.where = compiled(inner, "--where", where, now)
        self.span_filter = compiled(inner, "--span-filter", span_filter, now)

    def spans(self, since: datetime | None, until: datetime | None, columns: Sequence[str]) -> str:
        extra = [c for f in (self.where, self.span_filter) if f for c in f.columns]
        wanted = list(dict.fromkeys([*columns, "trace_id", *extra]))
        relation = self.inner.spans(since, until, wanted)
        if self.where is not None:
            relation = matching_traces(relation, self.where.predicate)
        if self.span_filter is not None:
            relation = matching(relation, self.span_filter.predicate)
        # the columns asked for, in their order, then the times every relation carries
        kept = ", ".join([*dict.fromkeys(columns), "start_ns", "end_ns"])
        return f"SELECT {kept} FROM ({relation}) AS f"

    def collect_all(self, queries: Sequence[str]) -> list[pl.DataFrame]:
        return self.inner.collect_all(queries)

    def close(self) -> None:
        self.inner.close()


def compiled(engine: SqlEngine, option: str, query: str | None, now: datetime) -> Where | None:
    """``query`` compiled for ``engine`` (None when empty); exit 2 when it reads cost."""
    if not (query and query.strip()):
        return None
    # what runs is the store's engine's to say (otel_traces has no texts), not the wrapper's
    base = engine.inner if isinstance(engine, Filtered) else engine
    compiled = prepare(base, query, now, option=option)
    if "cost_usd" in compiled.columns:
        raise unsupported(engine.name, f"rca {option} on cost")
    return compiled
