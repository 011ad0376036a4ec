"""Change attribution: a new version, model or deployment that arrived with the problem.

Datadog Watchdog's faulty-deployment check, on spans: a value of a change dimension
(``version`` = service and version, ``model``, attributes naming a version or deployment)
is *new* when it has enough spans in the target and (almost) none in the baseline. For
each new value: when it was first seen, its metric against what the same service had in
the baseline, the excess it carries and its share of the overall excess, and whether the
metric rose after it appeared. Pure: the dimension frame in (see :mod:`dimensions`).
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from pyflare_cli.analysis.rca.dimensions import CHANGE_DIMENSIONS, NONE, OTHER
from pyflare_cli.analysis.rca.stats import samples_p_value

CHANGE_KEYS = re.compile(r"version|deploy|release|build|revision|commit|image", re.IGNORECASE)
NEW_SHARE = 0.01
"""A value is new when it had under this share of its dimension's baseline spans."""

CHANGE_SCHEMA: dict[str, Any] = {
    "dimension": pl.String,
    "value": pl.String,
    "first_seen": pl.Datetime("ns", "UTC"),
    "n_target": pl.Int64,
    "metric": pl.Float64,
    "expected": pl.Float64,
    "excess": pl.Float64,
    "share_of_excess": pl.Float64,
    "metric_before": pl.Float64,
    "metric_after": pl.Float64,
    "p_value": pl.Float64,
    "examples": pl.List(pl.String),
}


def change_dimensions(dimensions: list[str]) -> list[str]:
    return [
        d
        for d in dimensions
        if d in CHANGE_DIMENSIONS
        or (d.startswith(("attr.", "resource.")) and CHANGE_KEYS.search(d))
    ]


def _peer_expected(frame: pl.DataFrame, dimension: str, value: str, fallback: float) -> float:
    """The baseline mean of the spans a new value replaced: same service, for a version."""
    if dimension != "version" or " " not in value:
        return fallback
    service = value.split(" ", 1)[0]
    peers = frame.filter(~pl.col("target") & pl.col("version").str.starts_with(service + " "))
    return float(peers.get_column("y").mean()) if peers.height else fallback  # type: ignore[arg-type]


def new_values(
    frame: pl.DataFrame,
    dimensions: list[str],
    binary: bool,
    min_size: int = 30,
) -> pl.DataFrame:
    """Every new value of a change dimension, most excess first (see module docstring)."""
    baseline_y = frame.filter(~pl.col("target")).get_column("y")
    baseline_mean = float(baseline_y.mean() or 0.0) if baseline_y.len() else 0.0  # type: ignore[arg-type]
    rows = []
    for dim in change_dimensions(dimensions):
        counts = frame.group_by(dim).agg(
            pl.col("target").sum().alias("nt"), (~pl.col("target")).sum().alias("nb")
        )
        baseline_total = max(int(counts.get_column("nb").sum()), 1)
        fresh = counts.filter(
            (pl.col("nt") >= min_size)
            & (pl.col("nb") < NEW_SHARE * baseline_total)
            & ~pl.col(dim).is_in([NONE, OTHER])
        )
        rose = _positive_excess(frame, dim, baseline_mean, min_size)
        for value in fresh.get_column(dim).to_list():
            rows.append(_describe(frame, dim, value, binary, baseline_mean, rose))
    if not rows:
        return pl.DataFrame(schema=CHANGE_SCHEMA)
    table = pl.DataFrame(rows, schema=CHANGE_SCHEMA)
    return table.sort("excess", descending=True)


def _positive_excess(frame: pl.DataFrame, dim: str, baseline_mean: float, min_size: int) -> float:
    """The rise summed over the values of ``dim`` that rose: "the new errors".

    Each value against its own baseline mean (or the overall one when it is new), so a fall
    elsewhere does not hide a rise; the share of a new version is its part of this sum.
    """
    y, t = pl.col("y"), pl.col("target")
    per_value = frame.group_by(dim).agg(
        t.sum().alias("nt"),
        y.filter(t).sum().alias("st"),
        (~t).sum().alias("nb"),
        y.filter(~t).mean().alias("mb"),
    )
    expected = pl.when(pl.col("nb") >= min_size).then(pl.col("mb")).otherwise(baseline_mean)
    excess = pl.col("st") - pl.col("nt") * expected
    return float(per_value.select(excess.clip(lower_bound=0).sum()).item() or 0.0)


def _describe(
    frame: pl.DataFrame,
    dim: str,
    value: str,
    binary: bool,
    baseline_mean: float,
    rose: float,
) -> dict[str, object]:
    mine = frame.filter(pl.col("target") & (pl.col(dim) == value))
    y = mine.get_column("y").to_numpy()
    first_seen = mine.get_column("start_time").min()
    expected = _peer_expected(frame, dim, value, baseline_mean)
    excess = float(y.sum() - y.size * expected)
    rise = float(y.sum() - y.size * baseline_mean)  # as _positive_excess counts a new value
    share = min(1.0, rise / rose) if rose > 0 and rise > 0 else None
    timeline = frame.with_columns((pl.col("start_time") >= first_seen).alias("after"))
    before = timeline.filter(~pl.col("after")).get_column("y")
    after = timeline.filter(pl.col("after")).get_column("y")
    peers = frame.filter(~pl.col("target"))
    if dim == "version" and " " in value:
        service = value.split(" ", 1)[0]
        peers = peers.filter(pl.col("version").str.starts_with(service + " "))
    p_value = samples_p_value(y, peers.get_column("y").to_numpy(), binary)
    examples = (
        mine.sort("y", descending=True).get_column("trace_id").unique(maintain_order=True).head(3)
    )
    return {
        "dimension": dim,
        "value": value,
        "first_seen": first_seen,
        "n_target": int(y.size),
        "metric": float(y.mean()),
        "expected": expected,
        "excess": excess,
        "share_of_excess": share,
        "metric_before": float(before.mean()) if before.len() else None,  # type: ignore[arg-type]
        "metric_after": float(after.mean()) if after.len() else None,  # type: ignore[arg-type]
        "p_value": p_value,
        "examples": examples.to_list(),
    }
