"""Failure clusters: error messages grouped into templates, with where they concentrate.

The error spans of both windows are mined together (:mod:`templates`, a Drain-style
miner), so a template can be told new; per template of the target: count, share of the
target's errors, first and last seen, example trace ids, how many times it occurred in the
baseline, and the dimension values its errors concentrate in (a value holding most of the
template's errors but a much smaller share of all spans).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pyflare_cli.analysis.rca.dimensions import NONE, OTHER
from pyflare_cli.analysis.rca.templates import mine

CONCENTRATION = 0.6
"""A value holds at least this share of a template's errors..."""
LIFT = 2.0
"""...and this many times its share of all target spans."""
TOP = 10

CLUSTER_SCHEMA: dict[str, Any] = {
    "template": pl.String,
    "count": pl.Int64,
    "share": pl.Float64,
    "baseline_count": pl.Int64,
    "first_seen": pl.Datetime("ns", "UTC"),
    "last_seen": pl.Datetime("ns", "UTC"),
    "examples": pl.List(pl.String),
    "concentrated_in": pl.List(pl.String),
}


def error_message() -> pl.Expr:
    """``Type: message`` from the error columns, else the status message."""
    message = pl.coalesce(pl.col("error_message"), pl.col("status_message"))
    with_type = pl.concat_str([pl.col("error_type"), message], separator=": ")
    return pl.coalesce(with_type, message, pl.col("error_type"))


def failure_clusters(
    errors: pl.DataFrame, counts: pl.DataFrame, dimensions: list[str], top: int = TOP
) -> pl.DataFrame:
    """Templates of the target's errors, most frequent first.

    ``errors``: error rows of both windows with ``target``, ``trace_id``, ``span_id``,
    ``start_time``, ``message`` and one column per dimension (for concentrations).
    ``counts``: target rows per ``dimension`` and ``value`` (``nt``), the search's single
    counts, so the shares of all target rows come without another pass.
    """
    errors = errors.filter(pl.col("message").is_not_null() & (pl.col("message") != ""))
    if errors.filter(pl.col("target")).height == 0:
        return pl.DataFrame(schema=CLUSTER_SCHEMA)
    templates, ids = mine(errors.get_column("message"))
    text = {t.template_id: t.text for t in templates}
    errors = errors.with_columns(ids.alias("template_id"))
    target = errors.filter(pl.col("target"))
    baseline_counts = dict(
        errors.filter(~pl.col("target")).group_by("template_id").len().iter_rows()
    )
    total = target.height
    summary = (
        target.group_by("template_id")
        .agg(
            pl.len().alias("count"),
            pl.col("start_time").min().alias("first_seen"),
            pl.col("start_time").max().alias("last_seen"),
            pl.col("trace_id").unique(maintain_order=True).head(3).alias("examples"),
            pl.col("span_id"),
        )
        .sort(["count", "template_id"], descending=[True, False])
        .head(top)
    )
    shares: dict[str, dict[str, int]] = {d: {} for d in dimensions}
    spans = 0
    for dim, value, n in counts.select("dimension", "value", "nt").iter_rows():
        if dim in shares:
            shares[dim][value] = int(n)
        elif dim == "__all__":
            spans = int(n)
    rows = []
    for row in summary.iter_rows(named=True):
        members = target.filter(pl.col("span_id").is_in(row["span_id"]))
        rows.append(
            {
                "template": text[row["template_id"]],
                "count": row["count"],
                "share": row["count"] / total,
                "baseline_count": baseline_counts.get(row["template_id"], 0),
                "first_seen": row["first_seen"],
                "last_seen": row["last_seen"],
                "examples": row["examples"],
                "concentrated_in": _concentrations(members, dimensions, shares, spans),
            }
        )
    return pl.DataFrame(rows, schema=CLUSTER_SCHEMA)


def _concentrations(
    members: pl.DataFrame,
    dimensions: list[str],
    shares: dict[str, dict[str, int]],
    spans: int,
) -> list[str]:
    found: list[tuple[float, str]] = []
    seen: set[tuple[int, int]] = set()
    if members.height == 0 or spans == 0:
        return []
    for dim in dimensions:
        value, count = members.get_column(dim).value_counts(sort=True).row(0)
        if value in (NONE, OTHER):
            continue
        share = count / members.height
        overall = shares[dim].get(value, 0) / spans
        coverage = (count, shares[dim].get(value, 0))
        if share >= CONCENTRATION and overall and share / overall >= LIFT:
            if coverage in seen:
                continue  # another name for the same spans (type, provider, operation...)
            seen.add(coverage)
            found.append((share / overall, f"{dim} = {value} ({share:.0%})"))
    return [label for _, label in sorted(found, key=lambda f: -f[0])[:3]]
