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
from pyflare_cli.analysis.rca.rows import FrameRows, RowReader

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
    rows = FrameRows(frame, frame, history, "span", True, False)
    return change_table(slices, dimensions, rows)


def change_table(
    slices: pl.DataFrame, dimensions: list[Dimension], rows: RowReader
) -> pl.DataFrame:
    """:func:`new_values` with the first sightings and examples read through ``rows`` (the
    Polars frames, or the queries of another engine)."""
    wanted = change_dimensions([d.name for d in dimensions])
    singles = slices.filter((pl.col("order") == 1) & pl.col("new")).with_columns(
        pl.col("conditions").list.first().str.split_exact(" = ", 1).alias("kv")
    )
    singles = singles.unnest("kv").rename({"field_0": "dimension", "field_1": "value"})
    singles = singles.filter(pl.col("dimension").is_in(wanted))
    if singles.height == 0:
        return pl.DataFrame(schema=CHANGE_SCHEMA)
    by_name = {d.name: d for d in dimensions}
    named = list(singles.iter_rows(named=True))
    seen = rows.sightings([(by_name[r["dimension"]], r["value"]) for r in named])
    table = []
    for row, sighting in zip(named, seen, strict=True):
        table.append(
            {
                "dimension": row["dimension"],
                "value": row["value"],
                "first_seen": sighting.first,
                "seen_before": sighting.before,
                "n_target": row["n_target"],
                "n_baseline": row["n_baseline"],
                "metric": row["metric_target"],
                "expected": row["metric_reference"],
                "excess": row["excess"],
                "share_of_excess": row["explained"] if row["excess"] > 0 else None,
                "p_value": row["p_value"],
                "q_value": row["q_value"],
                "examples": sighting.examples,
            }
        )
    return pl.DataFrame(table, schema=CHANGE_SCHEMA).sort("excess", descending=True)
