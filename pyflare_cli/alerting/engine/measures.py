"""The numbers alert conditions compare: aggregates of spans per window and label set.

Pure and lazy: spans in (with ``cost_usd``), one small frame out per measure, with the
``by`` labels as string columns and ``value``. Every window-based condition (threshold,
change, anomaly) asks for the same measure over consecutive windows ending at ``now``,
numbered 0 (the current one), 1 (the one before), ...
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from pyflare_cli.alerting.rules.model import Measure
from pyflare_cli.analysis.search.compile import compile_query

LABEL_EXPRS: dict[str, pl.Expr] = {
    "model": pl.coalesce(pl.col("request_model"), pl.col("model")),
    "provider": pl.col("provider"),
    "service": pl.col("service_name"),
    "operation": pl.concat_str(
        [pl.col("service_name").fill_null("?"), pl.col("name")], separator=": "
    ),
    "user": pl.col("user_id"),
    "environment": pl.col("environment"),
    "tool": pl.col("tool_name"),
    "agent": pl.col("agent_name"),
    "status": pl.col("status_code"),
    "type": pl.col("ai_kind"),
}
FIELD_EXPRS: dict[str, pl.Expr] = {
    "duration": pl.col("duration_ns").cast(pl.Float64) / 1e6,
    "input_tokens": pl.col("input_tokens").cast(pl.Float64),
    "output_tokens": pl.col("output_tokens").cast(pl.Float64),
    "total_tokens": pl.col("total_tokens").cast(pl.Float64),
    "cost": pl.col("cost_usd").cast(pl.Float64),
}


def label_expr(name: str) -> pl.Expr:
    if name.startswith("attr."):
        expr = pl.col("attributes").map.get(name[5:])
    elif name.startswith("resource."):
        expr = pl.col("resource_attributes").map.get(name[9:])
    else:
        expr = LABEL_EXPRS[name]
    return expr.cast(pl.String).fill_null("").alias(name)


def field_expr(name: str) -> pl.Expr:
    if name.startswith("attr."):
        return pl.col("attributes").map.get(name[5:]).cast(pl.Float64, strict=False)
    return FIELD_EXPRS[name]


def aggregate_expr(measure: Measure, window: timedelta) -> pl.Expr:
    """The measure's aggregation over the rows of one group and window."""
    if measure.aggregate == "count":
        return pl.len().cast(pl.Float64)
    if measure.aggregate == "rate":
        return pl.len().cast(pl.Float64) / (window.total_seconds() / 60)
    if measure.aggregate == "error_rate":
        return (pl.col("status_code") == "error").cast(pl.Float64).mean()
    assert measure.field is not None
    values = field_expr(measure.field)
    if measure.aggregate == "quantile":
        assert measure.quantile is not None
        return values.quantile(measure.quantile, interpolation="linear")
    return {
        "sum": values.sum(),
        "avg": values.mean(),
        "min": values.min(),
        "max": values.max(),
    }[measure.aggregate]


def windows_frame(
    spans: pl.LazyFrame,
    measure: Measure,
    window: timedelta,
    count: int,
    now: datetime,
) -> pl.LazyFrame:
    """``measure`` per ``by`` labels and window index 0..count-1 (0 ends at ``now``).

    Columns: the ``by`` labels, ``window`` (Int64) and ``value``. Windows without spans
    have no row; :func:`fill_empty` adds them where an empty window has a value (counts).
    """
    start = now - window * count
    window_ns = int(window.total_seconds() * 1e9)
    since = (pl.lit(now) - pl.col("start_time")).dt.total_nanoseconds()
    index = ((since - 1) // window_ns).alias("window")  # [now - w, now) is window 0
    scoped = spans.filter((pl.col("start_time") >= start) & (pl.col("start_time") < now))
    if measure.where:
        scoped = scoped.filter(compile_query(measure.where, now))
    keys = [label_expr(name) for name in measure.by]
    return (
        scoped.with_columns(index, *keys)
        .group_by([*measure.by, "window"])
        .agg(aggregate_expr(measure, window).alias("value"))
    )


def fill_empty(frame: pl.DataFrame, measure: Measure, count: int) -> pl.DataFrame:
    """Add the windows without spans where the measure has a value there (0 for counts)."""
    if measure.aggregate not in ("count", "rate", "sum"):
        return frame
    groups = frame.select(measure.by).unique() if measure.by else pl.DataFrame({"__all": [0]})
    grid = groups.join(pl.DataFrame({"window": list(range(count))}), how="cross")
    keys = [*measure.by, "window"]
    filled = grid.join(frame, on=keys, how="left").with_columns(pl.col("value").fill_null(0.0))
    return filled.drop("__all", strict=False)
