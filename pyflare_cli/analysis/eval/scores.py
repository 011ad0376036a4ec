"""Every convention's evaluation results in one table: who graded which span, and how.

Scores reach pyflare in several shapes; this module reads them all into :data:`SCORES`
(one row per result: ``trace_id``, ``span_id`` of the evaluated span, ``time``,
``evaluator``, ``score``, ``label``, ``explanation``, ``source``):

- ``otel_event``: the OTel GenAI ``gen_ai.evaluation.result`` span event with
  ``gen_ai.evaluation.name``, ``.score.value``, ``.score.label`` and ``.explanation``.
- ``otel_attributes``: the same attributes set on the span itself, when the span has no
  such event (an event and attributes of one span are one result, not two).
- ``phoenix``: Phoenix/OpenInference evaluations exported with spans as
  ``eval.<name>.score``, ``eval.<name>.label``, ``eval.<name>.explanation`` (what
  ``TraceDataset.get_spans_dataframe(include_evaluations=True)`` writes).
- ``pyflare``: the results of ``pyflare eval run``, kept in the store's evaluations dataset.

An evaluator span (``ai_kind`` evaluator) that links to another span grades the linked
span, as evaluation jobs that run apart from the traffic do.
"""

from __future__ import annotations

import polars as pl

EVENT = "gen_ai.evaluation.result"
NAME = "gen_ai.evaluation.name"
SCORE = "gen_ai.evaluation.score.value"
LABEL = "gen_ai.evaluation.score.label"
EXPLANATION = "gen_ai.evaluation.explanation"
PHOENIX_KEY = r"^eval\.(.+)\.(score|label|explanation)$"

SCORES = pl.Schema(
    {
        "trace_id": pl.String(),
        "span_id": pl.String(),
        "time": pl.Datetime("ns", "UTC"),
        "evaluator": pl.String(),
        "score": pl.Float64(),
        "label": pl.String(),
        "explanation": pl.String(),
        "source": pl.String(),
    }
)
COLUMNS = tuple(SCORES)
CARRIER_START = "carrier_start"


def _number(expr: pl.Expr) -> pl.Expr:
    """A score from attribute text: ``0.8``, ``"0.8"``, ``true``/``false`` (1/0); else null."""
    text = expr.str.strip_chars().str.strip_chars('"').str.to_lowercase()
    return (
        pl.when(text == "true")
        .then(pl.lit(1.0))
        .when(text == "false")
        .then(pl.lit(0.0))
        .otherwise(text.cast(pl.Float64, strict=False))
    )


def _target() -> list[pl.Expr]:
    """The evaluated span: the first link of an evaluator span, else the span itself."""
    linked = (pl.col("ai_kind") == "evaluator") & (pl.col("links").list.len() > 0)
    first = pl.col("links").list.first()
    return [
        pl.when(linked)
        .then(first.struct.field("trace_id"))
        .otherwise(pl.col("trace_id"))
        .alias("trace_id"),
        pl.when(linked)
        .then(first.struct.field("span_id"))
        .otherwise(pl.col("span_id"))
        .alias("span_id"),
    ]


def _has_event() -> pl.Expr:
    return pl.col("events").list.eval(pl.element().struct.field("name") == EVENT).list.any()


def _result(attributes: pl.Expr, time: pl.Expr, source: str) -> list[pl.Expr]:
    return [
        pl.col("trace_id"),
        pl.col("span_id"),
        time.alias("time"),
        attributes.map.get(NAME).alias("evaluator"),
        _number(attributes.map.get(SCORE)).alias("score"),
        attributes.map.get(LABEL).alias("label"),
        attributes.map.get(EXPLANATION).alias("explanation"),
        pl.lit(source).alias("source"),
    ]


def otel_event_scores(spans: pl.LazyFrame) -> pl.LazyFrame:
    """One row per ``gen_ai.evaluation.result`` event."""
    return (
        spans.filter(_has_event())
        .select(*_target(), pl.col("events"), pl.col("start_time").alias(CARRIER_START))
        .explode("events")
        .filter(pl.col("events").struct.field("name") == EVENT)
        .select(
            *_result(
                pl.col("events").struct.field("attributes"),
                pl.col("events").struct.field("time"),
                "otel_event",
            ),
            pl.col(CARRIER_START),
        )
        .filter(pl.col("evaluator").is_not_null())
    )


def otel_attribute_scores(spans: pl.LazyFrame) -> pl.LazyFrame:
    """One row per span carrying ``gen_ai.evaluation.*`` attributes and no result event."""
    return (
        spans.filter(pl.col("attributes").map.get(NAME).is_not_null() & ~_has_event())
        .select(
            *_target(),
            pl.col("attributes"),
            pl.col("end_time"),
            pl.col("start_time").alias(CARRIER_START),
        )
        .select(
            *_result(pl.col("attributes"), pl.col("end_time"), "otel_attributes"),
            pl.col(CARRIER_START),
        )
    )


def phoenix_scores(spans: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (span, name) of Phoenix's ``eval.<name>.<score|label|explanation>``."""
    entries = (
        spans.select(
            *_target(),
            pl.col("end_time"),
            pl.col("start_time").alias(CARRIER_START),
            pl.col("attributes").map.entries().alias("kv"),
        )
        .filter(
            pl.col("kv")
            .list.eval(pl.element().struct.field("key").str.starts_with("eval."))
            .list.any()
        )
        .explode("kv")
        .unnest("kv")
        .filter(pl.col("key").str.contains(PHOENIX_KEY))
        .with_columns(
            pl.col("key").str.extract(PHOENIX_KEY, 1).alias("evaluator"),
            pl.col("key").str.extract(PHOENIX_KEY, 2).alias("field"),
        )
    )

    def field(name: str) -> pl.Expr:
        return pl.col("value").filter(pl.col("field") == name).first()

    return (
        entries.group_by("trace_id", "span_id", "evaluator", maintain_order=True)
        .agg(
            pl.col("end_time").first().alias("time"),
            pl.col(CARRIER_START).first(),
            _number(field("score")).alias("score"),
            field("label").str.strip_chars('"').alias("label"),
            field("explanation").alias("explanation"),
            pl.lit("phoenix").alias("source"),
        )
        .select(*COLUMNS, CARRIER_START)
    )


def empty_scores() -> pl.LazyFrame:
    return pl.LazyFrame(schema=SCORES)


def carried_scores(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Every result carried by ``spans``: :data:`SCORES`'s columns and ``carrier_start``,
    the start of the span that carries it (the window a result belongs to)."""
    parts = [otel_event_scores(spans), otel_attribute_scores(spans), phoenix_scores(spans)]
    schema = pl.Schema({**SCORES, CARRIER_START: pl.Datetime("ns", "UTC")})
    return pl.concat([p.select(schema.names()).cast(schema) for p in parts], how="vertical")


def scores_in_spans(spans: pl.LazyFrame) -> pl.LazyFrame:
    """Every evaluation result carried by ``spans``, in :data:`SCORES`'s columns."""
    return carried_scores(spans).select(COLUMNS)


def all_scores(spans: pl.LazyFrame, own: pl.LazyFrame) -> pl.LazyFrame:
    """The results in ``spans`` and pyflare's own (``own``, in :data:`SCORES`'s columns)."""
    return pl.concat([scores_in_spans(spans), own.select(COLUMNS).cast(SCORES)])
