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

from pyflare_cli.semconv import COLUMN_OR_PAYLOAD_KEYS as SKIPPED_KEYS
from pyflare_cli.semconv import ID_LIKE_KEYS as ID_LIKE

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

OUTCOME_KEYS = re.compile(
    r"(^|[._])(status|status_code|status_message|http\.response\.status_code|error|errors"
    r"|exception|exceptions|error_type|fault|failure|failed|outcome|result_code|code)([._]|$)"
    r"|status\.(code|message)|grpc\.status",
    re.IGNORECASE,
)
"""Outcome-defining attributes (status codes, error types, exceptions): the symptom, never a
candidate slice. ``http.response.status_code = 500`` fails by definition in both windows."""

MIN_COVERAGE = 0.05
MAX_VALUES = 50
TOP_VALUES = 30
QUANTILE_BINS = 4


@dataclass(frozen=True)
class Dimension:
    name: str
    expr: pl.Expr
    numeric: bool = False
    edges: tuple[float, ...] = ()
    """For a numeric dimension, the quartile edges it is cut at (so another engine can
    spell the same cut: ``[e[i-1], e[i])`` is the i-th label)."""


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


def discover(probe: pl.DataFrame) -> list[Dimension]:
    """Built-in dimensions plus the category-like attributes seen in ``probe`` (a sample of
    both windows). Outcome-defining keys (status codes, error types) are never dimensions;
    numeric attributes with many values are cut at the sample's quartiles."""
    found = [Dimension(name, expr) for name, expr in BUILT_IN.items()]
    for column, prefix in (("attributes", "attr."), ("resource_attributes", "resource.")):
        if column not in probe.columns:
            continue
        keys = _attribute_keys(probe, column)
        for key, coverage, values, numeric in keys.iter_rows():
            if coverage < MIN_COVERAGE or SKIPPED_KEYS.search(key) or ID_LIKE.search(key):
                continue
            if OUTCOME_KEYS.search(key):
                continue
            raw = pl.col(column).map.get(key)
            if numeric >= 0.95 and values > MAX_VALUES:
                sample = probe.select(raw.cast(pl.Float64, strict=False)).to_series()
                edges = _edges(sample)
                found.append(Dimension(prefix + key, _quantile_expr(raw, edges), True, edges))
            elif values <= MAX_VALUES:
                found.append(Dimension(prefix + key, raw))
    return found


def extra_dimension(name: str) -> Dimension:
    """``attr.<key>`` or ``resource.<key>`` asked for with ``--dimension``."""
    column = "attributes" if name.startswith("attr.") else "resource_attributes"
    return Dimension(name, pl.col(column).map.get(name.split(".", 1)[1]))


def _edges(sample: pl.Series) -> tuple[float, ...]:
    """The distinct quartiles of ``sample`` (none when it has no value)."""
    present = sample.drop_nulls()
    if present.len() == 0:
        return ()
    quartiles = (i / QUANTILE_BINS for i in range(1, QUANTILE_BINS))
    return tuple(sorted({float(present.quantile(q) or 0.0) for q in quartiles}))


def quantile_labels(edges: tuple[float, ...]) -> list[str]:
    """The labels of the ranges cut at ``edges``: ``<a``, ``a..b``, ``>=b``."""
    labels = [f"<{_short(edges[0])}"]
    labels += [f"{_short(a)}..{_short(b)}" for a, b in itertools.pairwise(edges)]
    return [*labels, f">={_short(edges[-1])}"]


def _quantile_expr(raw: pl.Expr, edges: tuple[float, ...]) -> pl.Expr:
    """``raw`` as quartile ranges (strings such as ``12.5..40``) cut at ``edges``."""
    if not edges:
        return pl.lit(None, pl.String)
    labels = quantile_labels(edges)
    value = raw.cast(pl.Float64, strict=False)
    return value.cut(list(edges), labels=labels, left_closed=True).cast(pl.String)


def _short(value: float) -> str:
    return f"{value:.4g}"
