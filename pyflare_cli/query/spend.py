"""The spend parts of ``pyflare cost`` read from the store in as few passes as exactness allows.

:func:`analysis.cost.report.spend_parts` of priced spans is the reference: every span
joined to its price band and costed, then summed. This module gives the same rows with
one pass per window over the unpriced spans (:mod:`analysis.cost.aggregated`: token sums
per group, priced afterwards), which also yields the (provider, model) pairs to price, so
no pre-pass is needed for them; the duplicate-call candidates are read in the same
collect. A window is priced per span, as before, when ``--where`` is given (it may read
costs), when it holds a call reported twice, or when aggregating would not be exact
(a group across two price bands, a daily price window, a rate with a fraction of a
pico-dollar).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.aggregated import price_usage, usage_parts
from pyflare_cli.analysis.cost.duplicates import candidate_traces, has_call_fields, pair_calls
from pyflare_cli.analysis.cost.price_rules import PriceRule
from pyflare_cli.analysis.cost.pricing import price_table
from pyflare_cli.analysis.cost.report import spend_parts as spend_parts_of
from pyflare_cli.query.prices import resolutions
from pyflare_cli.query.spans import SpanQuery, select_spans, window_spans
from pyflare_cli.query.windows import Window


def spend_parts(
    root: Path,
    windows: Sequence[tuple[Window, str | None]],
    by: list[str],
    step: str,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...] = (),
) -> list[pl.DataFrame]:
    """``report.spend_parts`` of the priced spans of each (window, every), collected."""
    if where and where.strip():
        return _per_span(root, windows, range(len(windows)), by, step, where, now, rules)
    scans = [window_spans(root, SpanQuery(*window.query_bounds), now) for window, _ in windows]
    everies = [every for _, every in windows]
    queries = [usage_parts(s, by, e, step) for s, e in zip(scans, everies, strict=True)]
    checks = [candidate_traces(s) for s in scans if has_call_fields(s)]
    # Streaming: the per-span columns are summed in morsels, never held for the window.
    # No common-subplan elimination: it would cache the shared scan of both queries, all
    # their columns at once (on 1M spans 279 MiB and more CPU, against 145 MiB without).
    found = pl.collect_all(
        [*queries, *checks],
        engine="streaming",
        optimizations=pl.QueryOptFlags(comm_subplan_elim=False),
    )
    usage, candidates = found[: len(queries)], found[len(queries) :]
    pairs = (
        pl.concat([u.select("_provider", "_model") for u in usage])
        .filter(pl.col("_model").is_not_null())
        .unique()
    )
    prices = price_table(resolutions([(p, m) for p, m in pairs.iter_rows()], root, rules))
    out: list[pl.DataFrame | None] = []
    for i, scan in enumerate(scans):
        twice = bool(candidates) and _reported_twice(scan, candidates[i].get_column("trace_id"))
        out.append(None if twice else price_usage(usage[i], prices))
    missing = [i for i, parts in enumerate(out) if parts is None]
    if missing:
        for i, parts in zip(
            missing, _per_span(root, windows, missing, by, step, where, now, rules), strict=True
        ):
            out[i] = parts
    return [parts for parts in out if parts is not None]


def _reported_twice(spans: pl.LazyFrame, candidates: pl.Series) -> bool:
    """Whether a call of the candidate traces is reported by two spans, found as
    ``query.prices.priced`` finds them."""
    return pair_calls(spans, candidates).height > 0


def _per_span(
    root: Path,
    windows: Sequence[tuple[Window, str | None]],
    chosen: Sequence[int],
    by: list[str],
    step: str,
    where: str | None,
    now: datetime,
    rules: tuple[PriceRule, ...],
) -> list[pl.DataFrame]:
    """The reference: the chosen windows' spans priced one by one, then grouped."""
    lazy = []
    for i in chosen:
        window, every = windows[i]
        selected = select_spans(root, SpanQuery(*window.query_bounds, where), now, rules)
        lazy.append(spend_parts_of(selected.window, by, every, selected.where, step))
    return pl.collect_all(lazy)
