"""Turn a raw decoded frame into canonical spans, applying :mod:`pyflare_cli.semconv`.

Vectorised: all attributes of a batch are exploded into one long (row, key, value) frame,
joined with the rule table, transformed, and the first-present value per (row, column)
is pivoted back into columns. No Python runs per span here.
"""

from __future__ import annotations

import re

import polars as pl

from pyflare_cli import semconv
from pyflare_cli.schema import COLUMNS, POLARS_SCHEMA
from pyflare_cli.sources.messages import readable

UNKNOWN_SERVICE = "unknown_service"

_RESOURCE = "resource:"
_RESOURCE_RULES = [r for r in semconv.RULES if r.key.startswith(_RESOURCE)]
_EXACT_RULES = [
    r
    for r in semconv.RULES
    if semconv.INDEX_PLACEHOLDER not in r.key and not r.key.startswith(_RESOURCE)
]
_INDEXED_RULES = [r for r in semconv.RULES if semconv.INDEX_PLACEHOLDER in r.key]
_PRIORITY = {(r.column, r.key, r.transform): i for i, r in enumerate(semconv.RULES)}

_RULE_FRAME = pl.DataFrame(
    {
        "key": [r.key for r in _EXACT_RULES],
        "column": [r.column for r in _EXACT_RULES],
        "priority": [_PRIORITY[(r.column, r.key, r.transform)] for r in _EXACT_RULES],
        "transform": [r.transform for r in _EXACT_RULES],
    },
    schema={"key": pl.String, "column": pl.String, "priority": pl.Int32, "transform": pl.String},
)
_EVENT_NAMES = sorted({r.key.split(":")[1] for r in semconv.RULES if r.key.startswith("event:")})


def _index_regex(key: str) -> str:
    pieces = key.split(semconv.INDEX_PLACEHOLDER)
    return "^" + "(\\d+)".join(re.escape(piece) for piece in pieces) + "$"


_INDEX_REGEXES = [_index_regex(r.key) for r in _INDEXED_RULES]
_ANY_INDEXED = "|".join(f"(?:{regex})" for regex in _INDEX_REGEXES) or "^$"


def _long(raw: pl.LazyFrame) -> pl.LazyFrame:
    """(row, key, value) for every span attribute and relevant event attribute."""
    row = pl.int_range(pl.len(), dtype=pl.UInt32).alias("row")
    span = raw.select(row, pl.col("attributes").map.entries().alias("kv")).explode("kv")
    events = (
        raw.select(row, pl.col("events"))
        .explode("events")
        .unnest("events")
        .filter(pl.col("name").is_in(_EVENT_NAMES))
        .select("row", "name", pl.col("attributes").map.entries().alias("kv"))
        .explode("kv")
        .unnest("kv")
        .select(
            "row",
            (pl.lit("event:") + pl.col("name") + pl.lit(":") + pl.col("key")).alias("key"),
            "value",
        )
    )
    typed = (pl.col("row").cast(pl.UInt32), pl.col("key", "value").cast(pl.String))
    parts = [p.select(*typed) for p in (span.unnest("kv"), events)]
    return pl.concat(parts).filter(pl.col("key").is_not_null() & pl.col("value").is_not_null())


def _transform_expr(transform: str | None) -> pl.Expr:
    value = pl.col("value")
    if transform is None:
        return value
    if transform == "lower":
        return value.str.to_lowercase()
    if transform == "first":
        return value.str.json_path_match("$[0]")
    if transform.startswith("json:"):
        return value.str.json_path_match(f"$.{transform[5:]}")
    if transform.startswith("jsonpath:"):
        return value.str.json_path_match(transform[9:])
    if transform.startswith("sum:"):
        fields = [
            value.str.json_path_match(f"$.{name}").cast(pl.Float64, strict=False)
            for name in transform[4:].split(",")
        ]
        present = pl.any_horizontal(field.is_not_null() for field in fields)
        return pl.when(present).then(pl.sum_horizontal(fields)).cast(pl.String)
    if transform == "unquote":
        quoted = value.str.starts_with('"')
        return pl.when(quoted).then(value.str.json_path_match("$")).otherwise(value)
    if transform == "text":
        return value.map_elements(readable, return_dtype=pl.String, skip_nulls=True)
    if transform.startswith("map:"):
        mapping = semconv.VALUE_MAPS[transform[4:]]
        return value.str.to_lowercase().replace_strict(
            mapping, default=None, return_dtype=pl.String
        )
    raise ValueError(f"unknown semconv transform {transform!r}")


_TRANSFORMS = sorted({r.transform for r in _EXACT_RULES if r.transform is not None})


def _exact(long: pl.LazyFrame) -> pl.LazyFrame:
    """Candidates from exact-key rules, each value passed through its rule's transform.

    Only the transforms some value needs are run (each is a pass over the batch), and the
    ``text`` transform, which runs Python per value, only sees values that could be JSON:
    :func:`readable` returns any value without ``[``, ``{`` or ``"`` as it is.
    """
    joined = long.join(_RULE_FRAME.lazy(), on="key", how="inner").collect()
    present = set(joined.get_column("transform").drop_nulls().unique().to_list())
    parts = [joined.filter(pl.col("transform").is_null())]
    for transform in _TRANSFORMS:
        if transform not in present:
            continue
        part = joined.filter(pl.col("transform") == transform)
        if transform == "text":
            maybe_json = pl.col("value").str.contains(r'[\[{"]')
            parts.append(part.filter(~maybe_json))
            part = part.filter(maybe_json)
        parts.append(part.with_columns(_transform_expr(transform).alias("value")))
    return pl.concat([p.lazy().select("row", "column", "priority", "value") for p in parts])


def _indexed(long: pl.LazyFrame) -> pl.LazyFrame:
    """Candidates from ``{n}`` rules: values of all indices joined in index order."""
    few = long.filter(pl.col("key").str.contains(_ANY_INDEXED))
    parts = []
    for rule, regex in zip(_INDEXED_RULES, _INDEX_REGEXES, strict=True):
        priority = _PRIORITY[(rule.column, rule.key, rule.transform)]
        groups = rule.key.count(semconv.INDEX_PLACEHOLDER)
        indices = [f"index{g}" for g in range(1, groups + 1)]
        part = (
            few.filter(pl.col("key").str.contains(regex))
            .with_columns(
                pl.col("key").str.extract(regex, g).cast(pl.Int64).alias(name)
                for g, name in enumerate(indices, start=1)
            )
            .group_by("row")
            .agg(pl.col("value").sort_by(indices).str.join("\n"))
            .select(
                "row",
                pl.lit(rule.column).alias("column"),
                pl.lit(priority, pl.Int32).alias("priority"),
                "value",
            )
        )
        parts.append(part)
    return pl.concat(parts)


def _resource(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Candidates from resource attributes: few keys, so looked up directly."""
    row = pl.int_range(pl.len(), dtype=pl.UInt32).alias("row")
    parts = [
        raw.select(
            row,
            pl.lit(rule.column).alias("column"),
            pl.lit(_PRIORITY[(rule.column, rule.key, rule.transform)], pl.Int32).alias("priority"),
            pl.col("resource_attributes").map.get(rule.key[len(_RESOURCE) :]).alias("value"),
        )
        for rule in _RESOURCE_RULES
    ]
    return pl.concat(parts)


def _promoted(raw: pl.DataFrame) -> pl.DataFrame:
    """One row per raw row: every promoted column as a string (null when absent)."""
    long = _long(raw.lazy()).collect().lazy()
    candidates = (
        pl.concat([_exact(long), _indexed(long), _resource(raw.lazy())])
        .filter(pl.col("value").is_not_null())
        .sort("priority")
        .collect()
    )
    wide = pl.DataFrame({"row": pl.Series(range(raw.height), dtype=pl.UInt32)})
    if candidates.height:
        # Sorted by priority, so "first" per (row, column) is the highest-priority name.
        pivot = candidates.pivot(
            on="column", index="row", values="value", aggregate_function="first"
        )
        wide = wide.join(pivot, on="row", how="left", maintain_order="left")
    missing = [c for c in semconv.PROMOTED_COLUMNS if c not in wide.columns]
    return wide.with_columns(pl.lit(None, pl.String).alias(c) for c in missing)


def normalize(raw: pl.DataFrame) -> pl.DataFrame:
    """Canonical spans (exactly :data:`~pyflare_cli.schema.POLARS_SCHEMA`) from a raw frame."""
    if raw.height == 0:
        return pl.DataFrame(schema=POLARS_SCHEMA)
    promoted = _promoted(raw).drop("row")

    def integer(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)

    frame = pl.concat([raw, promoted], how="horizontal").with_columns(
        *(integer(c).alias(c) for c in semconv.INT_COLUMNS),
        pl.col("reported_cost_usd").cast(pl.Float64, strict=False),
        pl.col("service_name").fill_null(UNKNOWN_SERVICE),
        pl.coalesce("response_model", "request_model").alias("model"),
        (pl.col("end_time") - pl.col("start_time")).dt.total_nanoseconds().alias("duration_ns"),
        pl.col("embedding").str.json_decode(pl.List(pl.Float32)),
        pl.coalesce(
            "error_message",
            pl.when(pl.col("status_code") == "error").then(pl.col("status_message")),
        ).alias("error_message"),
        # Langfuse's ERROR level is an error even when the OTel status says nothing.
        pl.when(pl.col("level") == "error")
        .then(pl.lit("error"))
        .otherwise(pl.col("status_code"))
        .alias("status_code"),
        # The system instructions are the first thing the model read.
        pl.when(pl.col("system_instructions").is_not_null())
        .then(pl.concat_str("system_instructions", "input_text", separator="\n", ignore_nulls=True))
        .otherwise(pl.col("input_text"))
        .alias("input_text"),
    )
    frame = frame.with_columns(
        pl.coalesce(
            "total_tokens",
            pl.when(
                pl.col("input_tokens").is_not_null() | pl.col("output_tokens").is_not_null()
            ).then(pl.col("input_tokens").fill_null(0) + pl.col("output_tokens").fill_null(0)),
        ).alias("total_tokens")
    )
    return frame.select(pl.col(c).cast(POLARS_SCHEMA[c]) for c in COLUMNS)
