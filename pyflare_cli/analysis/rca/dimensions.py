"""The dimensions `pyflare rca` slices by, and the per-span metric it explains.

Candidate dimensions are span columns (service, version, operation, model, ...) and the
span and resource attributes that look like categories: set on enough spans, few enough
distinct values, not id-like. Numeric attributes are cut at quantiles. Every dimension
becomes a string column with ``(none)`` for missing values, so one group-by per dimension
summarises every slice of it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import polars as pl

NONE = "(none)"
OTHER = "(other)"

BUILT_IN: dict[str, pl.Expr] = {
    "service": pl.col("service_name"),
    "version": pl.concat_str(
        [pl.col("service_name").fill_null("?"), pl.col("service_version")], separator=" "
    ),
    "operation": pl.concat_str(
        [pl.col("service_name").fill_null("?"), pl.col("name")], separator=": "
    ),
    "model": pl.col("model"),
    "provider": pl.col("provider"),
    "type": pl.col("ai_kind"),
    "tool": pl.col("tool_name"),
    "agent": pl.col("agent_name"),
    "environment": pl.col("environment"),
    "user": pl.col("user_id"),
    "finish_reason": pl.col("finish_reason"),
}
"""Built-in dimensions by report name. ``version`` and ``operation`` carry their service."""

CHANGE_DIMENSIONS = ("version", "model")
"""Dimensions whose new values are deployments (Watchdog's faulty-deployment check)."""

ID_LIKE = re.compile(
    r"(^|[._])(id|ids|uuid|guid|trace|span|request|session|pod|instance|ip|fingerprint|text"
    r"|query|metadata|content|body|url|full|path|original|address|port)$|\.\d+\."
)
"""Ids, payloads and indexed (array) attributes: never categories worth slicing by."""
SKIPPED_KEYS = re.compile(
    r"^(service\.(name|version)|deployment\.environment(\.name)?|telemetry\.|gen_ai\."
    r"|llm\.|input\.|output\.|openinference\.|exception\.|error\.|process\.)"
)
"""Attribute keys already covered by columns, or payloads, not categories."""

MIN_COVERAGE = 0.05
MAX_VALUES = 50
TOP_VALUES = 30
QUANTILE_BINS = 4


@dataclass(frozen=True)
class Dimension:
    name: str
    expr: pl.Expr
    numeric: bool = False


def metric_expr(metric: str) -> pl.Expr:
    """The per-span value explained: 1.0/0.0 for errors, milliseconds, USD or an attribute."""
    if metric == "errors":
        return (pl.col("status_code") == "error").cast(pl.Float64)
    if metric == "latency":
        return pl.col("duration_ns").cast(pl.Float64) / 1e6
    if metric == "cost":
        return pl.col("cost_usd").cast(pl.Float64)
    if metric.startswith("attr.") and len(metric) > 5:
        return pl.col("attributes").map.get(metric[5:]).cast(pl.Float64, strict=False)
    raise ValueError(f"metric {metric!r}: use errors, latency, cost or attr.<numeric key>")


def _attribute_keys(spans: pl.DataFrame, column: str) -> pl.DataFrame:
    """Keys of a map column with their coverage, distinct count and numeric share."""
    if spans.height == 0:
        return pl.DataFrame(schema={"key": pl.String, "coverage": pl.Float64})
    pairs = (
        spans.select(pl.col(column).map.entries().alias("kv"))
        .explode("kv")
        .drop_nulls("kv")
        .unnest("kv")
    )
    return (
        pairs.group_by("key")
        .agg(
            (pl.len() / spans.height).alias("coverage"),
            pl.col("value").n_unique().alias("values"),
            pl.col("value").cast(pl.Float64, strict=False).is_not_null().mean().alias("numeric"),
        )
        .sort("key")
    )


def discover(spans: pl.DataFrame, sample: int = 20_000) -> list[Dimension]:
    """Built-in dimensions plus the category-like attributes of ``spans`` (a sample of it)."""
    found = [Dimension(name, expr) for name, expr in BUILT_IN.items()]
    probe = spans.sample(sample, seed=0) if spans.height > sample else spans
    for column, prefix in (("attributes", "attr."), ("resource_attributes", "resource.")):
        keys = _attribute_keys(probe, column)
        for key, coverage, values, numeric in keys.iter_rows():
            if coverage < MIN_COVERAGE or SKIPPED_KEYS.search(key) or ID_LIKE.search(key):
                continue
            raw = pl.col(column).map.get(key)
            if numeric >= 0.95 and values > MAX_VALUES:
                found.append(Dimension(prefix + key, raw.cast(pl.Float64, strict=False), True))
            elif values <= MAX_VALUES:
                found.append(Dimension(prefix + key, raw))
    return found


def dimension_frame(
    spans: pl.DataFrame, dimensions: list[Dimension], metric: str
) -> tuple[pl.DataFrame, list[str]]:
    """``spans`` (target and baseline together, told apart by the bool column ``target``)
    reduced to the metric ``y`` and one string column per usable dimension.

    A dimension with a single value, or whose values are nearly all distinct (id-like), is
    dropped; the rest keep their ``TOP_VALUES`` most common values and fold the others into
    ``(other)``. Numeric dimensions become quantile ranges.
    """
    base = spans.select(
        pl.col("target"),
        pl.col("trace_id"),
        pl.col("span_id"),
        pl.col("start_time"),
        metric_expr(metric).alias("y"),
        *(d.expr.alias(d.name) for d in dimensions),
    ).filter(pl.col("y").is_not_null() & pl.col("y").is_finite())
    kept: list[str] = []
    columns: list[pl.Series] = []
    base = base.with_columns(
        pl.col(d.name).cast(pl.String).fill_null(NONE) for d in dimensions if not d.numeric
    )
    distincts = base.select(pl.col(d.name).n_unique() for d in dimensions).row(0)
    for dim, distinct in zip(dimensions, distincts, strict=True):
        values = base.get_column(dim.name)
        if dim.numeric:
            values = _quantile_labels(values)
            distinct = values.n_unique()
        if distinct < 2 or (distinct > MAX_VALUES and distinct > 0.5 * max(base.height, 1)):
            continue
        if distinct > TOP_VALUES:
            counts = values.value_counts(sort=True)
            top = counts.get_column(values.name).head(TOP_VALUES)
            values = pl.select(
                pl.when(values.is_in(top.implode())).then(values).otherwise(pl.lit(OTHER))
            ).to_series()
        columns.append(values.alias(dim.name))
        kept.append(dim.name)
    frame = base.select("target", "trace_id", "span_id", "start_time", "y").with_columns(columns)
    return frame, kept


def _quantile_labels(values: pl.Series) -> pl.Series:
    present = values.drop_nulls()
    if present.len() == 0:
        return pl.Series(values.name, [NONE] * values.len(), pl.String)
    edges = sorted(
        {
            float(present.quantile(q) or 0.0)
            for q in (i / QUANTILE_BINS for i in range(1, QUANTILE_BINS))
        }
    )
    labels = [f"<{_short(edges[0])}"]
    labels += [f"{_short(a)}..{_short(b)}" for a, b in itertools.pairwise(edges)]
    labels.append(f">={_short(edges[-1])}")
    cut = values.cut(edges, labels=labels, left_closed=True)
    return cut.cast(pl.String).fill_null(NONE)


def _short(value: float) -> str:
    return f"{value:.4g}"
