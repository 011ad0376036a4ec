"""The figures of ``pyflare stats``: one lazy grouped pass over unit rows, and the change
of each figure against the previous window.

Percentiles are exact: each group's latencies are ordered and the quantile is read with
linear interpolation between the two closest ranks, ``x[floor(h)] + (h - floor(h)) *
(x[floor(h)+1] - x[floor(h)])`` with ``h = (n - 1) * q``: NumPy's default
(``method="linear"``), DuckDB's ``quantile_cont`` and R's type 7. Tests compare them.

Changes are relative (``(current - previous) / previous``, null when the previous value
is zero or missing), except ``error_rate_change``, which is the difference in rate
(percentage points as a fraction: 0.01 is one point).
"""

from __future__ import annotations

import polars as pl

from pyflare_cli.analysis.cost.pricing import sum_micros

PERCENTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
FIGURES = (
    "requests",
    "errors",
    "error_rate",
    *PERCENTILES,
    "max",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "users",
    "sessions",
)
"""Every figure per group, in output order (latencies in nanoseconds)."""
POINT_CHANGES = ("error_rate",)
EVERY = {"hour": "1h", "day": "1d", "week": "1w"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def aggregates() -> list[pl.Expr]:
    """The figures of one group of unit rows."""
    latency = pl.col("duration_ns")
    return [
        pl.len().alias("requests"),
        pl.col("error").sum().alias("errors"),
        (pl.col("error").sum() / pl.len()).alias("error_rate"),
        *(
            latency.quantile(q, interpolation="linear").alias(name)
            for name, q in PERCENTILES.items()
        ),
        latency.max().cast(pl.Float64).alias("max"),
        pl.col("input_tokens").sum(),
        pl.col("output_tokens").sum(),
        (sum_micros() / 1_000_000).alias("cost_usd"),
        pl.col("user_id").drop_nulls().n_unique().alias("users"),
        pl.col("session_id").drop_nulls().n_unique().alias("sessions"),
        pl.col("unpriced").sum().alias("unpriced"),
    ]


def stats_table(rows: pl.LazyFrame, by: list[str], period: pl.Expr | None = None) -> pl.LazyFrame:
    """Figures per group (and per period), busiest group first (periods in time order)."""
    keys: list[pl.Expr | str] = list(by)
    if period is not None:
        rows = rows.with_columns(period.alias("period"))
        keys = ["period", *keys]
    if not keys:
        return rows.select(aggregates())  # one row, also when there are no rows
    order = ([] if period is None else ["period"]) + ["requests", *by]
    descending = ([] if period is None else [False]) + [True] + [False] * len(by)
    return rows.group_by(keys).agg(aggregates()).sort(order, descending=descending, nulls_last=True)


def truncated(every: str) -> pl.Expr:
    """The period an hour/day/week row falls in (UTC)."""
    return pl.col("start_time").dt.truncate(EVERY[every])


def weekday_hour(rows: pl.LazyFrame, by: list[str], tz: str) -> pl.LazyFrame:
    """Figures per group, weekday (1 = Monday) and hour of the day in ``tz``."""
    local = pl.col("start_time").dt.convert_time_zone(tz)
    keyed = rows.with_columns(
        local.dt.weekday().alias("weekday"), local.dt.hour().cast(pl.Int8).alias("hour")
    )
    return (
        keyed.group_by([*by, "weekday", "hour"])
        .agg(aggregates())
        .sort([*by, "weekday", "hour"], nulls_last=True)
    )


def with_change(current: pl.LazyFrame, previous: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """``current`` plus ``previous_<figure>`` and ``<figure>_change`` for every figure."""
    before = previous.select(*by, *(pl.col(f).alias(f"previous_{f}") for f in FIGURES))
    if by:
        joined = current.join(before, on=by, how="left", nulls_equal=True, maintain_order="left")
    else:
        joined = current.join(before, how="cross")  # both have exactly one row
    changes = []
    for figure in FIGURES:
        now, then = pl.col(figure).cast(pl.Float64), pl.col(f"previous_{figure}").cast(pl.Float64)
        if figure in POINT_CHANGES:
            changes.append((now - then).alias(f"{figure}_change"))
        else:
            changes.append(pl.when(then > 0).then((now - then) / then).alias(f"{figure}_change"))
    return joined.with_columns(changes)
