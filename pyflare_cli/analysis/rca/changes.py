"""Change attribution: a new version, model or deployment that arrived with the problem.

Datadog Watchdog's faulty-deployment check, on spans. A value of a change dimension
(``version`` = service and version, ``model``, attributes naming a version or deployment)
is *new* when it is absent or rare in the baseline relative to its own share of the
target (the slice search's ``new`` flag): 84 target spans of a model with 90 in the
baseline are not new, however small both are. Its first sighting is looked up in the
store before the window too (``history``), so a value deployed days ago is reported as
seen before, not as "appeared". Each new value carries its slice's test against the
baseline it replaced (its service's, for a version), its excess and share of the rise.

Only for baseline comparisons: with ``--vs-rest`` both sides are the same window and
nothing is "new". Relational part: one small lazy query per new value.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from pyflare_cli.analysis.rca.dimensions import CHANGE_DIMENSIONS, Dimension

CHANGE_KEYS = re.compile(r"version|deploy|release|build|revision|commit|image", re.IGNORECASE)

CHANGE_SCHEMA: dict[str, Any] = {
    "dimension": pl.String,
    "value": pl.String,
    "first_seen": pl.Datetime("ns", "UTC"),
    "seen_before": pl.Datetime("ns", "UTC"),
    "n_target": pl.Int64,
    "n_baseline": pl.Int64,
    "metric": pl.Float64,
    "expected": pl.Float64,
    "excess": pl.Float64,
    "share_of_excess": pl.Float64,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "examples": pl.List(pl.String),
}


def change_dimensions(dimensions: list[str]) -> list[str]:
    return [
        d
        for d in dimensions
        if d in CHANGE_DIMENSIONS
        or (d.startswith(("attr.", "resource.")) and CHANGE_KEYS.search(d))
    ]


def new_values(
    slices: pl.DataFrame,
    frame: pl.LazyFrame,
    dimensions: list[Dimension],
    history: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """Every new value of a change dimension, most excess first.

    ``slices``: the search's tested slices; ``frame``: the lazy unit frame (for first
    sightings and examples); ``history``: raw spans before the target window, or None.
    """
    wanted = change_dimensions([d.name for d in dimensions])
    singles = slices.filter((pl.col("order") == 1) & pl.col("new")).with_columns(
        pl.col("conditions").list.first().str.split_exact(" = ", 1).alias("kv")
    )
    singles = singles.unnest("kv").rename({"field_0": "dimension", "field_1": "value"})
    singles = singles.filter(pl.col("dimension").is_in(wanted))
    if singles.height == 0:
        return pl.DataFrame(schema=CHANGE_SCHEMA)
    by_name = {d.name: d for d in dimensions}
    rows = []
    for row in singles.iter_rows(named=True):
        dim, value = row["dimension"], row["value"]
        mine = frame.filter(pl.col("target") & (pl.col(dim) == value))
        found = mine.select(
            pl.col("start_time").min().alias("first"),
            pl.col("trace_id")
            .sort_by(["y", "start_time"], descending=[True, False])
            .unique(maintain_order=True)
            .head(3)
            .implode()
            .alias("examples"),
        ).collect()
        before = None
        if history is not None:
            expr = by_name[dim].expr.cast(pl.String)
            before = (
                history.filter(expr == value).select(pl.col("start_time").min()).collect().item()
            )
        rows.append(
            {
                "dimension": dim,
                "value": value,
                "first_seen": found.item(0, "first"),
                "seen_before": before,
                "n_target": row["n_target"],
                "n_baseline": row["n_baseline"],
                "metric": row["metric_target"],
                "expected": row["metric_reference"],
                "excess": row["excess"],
                "share_of_excess": row["explained"] if row["excess"] > 0 else None,
                "p_value": row["p_value"],
                "q_value": row["q_value"],
                "examples": found.item(0, "examples").to_list(),
            }
        )
    return pl.DataFrame(rows, schema=CHANGE_SCHEMA).sort("excess", descending=True)
