"""Every convention's evaluation results in one table, linked to the span they grade."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from pyflare_cli.analysis.eval.gate import check, parse_threshold
from pyflare_cli.analysis.eval.scores import all_scores, empty_scores
from pyflare_cli.analysis.eval.summary import summarise, with_groups
from pyflare_cli.schema import POLARS_SCHEMA, empty_frame

T0 = datetime(2026, 11, 20, tzinfo=UTC)
EVENT = "gen_ai.evaluation.result"


def span(span_id: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(POLARS_SCHEMA)
    row.update(trace_id="t", span_id=span_id, start_time=T0, end_time=T0, events=[], links=[])
    row.update(attributes={}, resource_attributes={})
    row.update(values)
    return row


def frame(*rows: dict[str, object]) -> pl.LazyFrame:
    return pl.concat([empty_frame(), pl.DataFrame(list(rows), schema=POLARS_SCHEMA)]).lazy()


def test_every_convention_lands_in_one_table() -> None:
    result = {
        "gen_ai.evaluation.name": "faithfulness",
        "gen_ai.evaluation.score.value": "0.25",
        "gen_ai.evaluation.score.label": "fail",
        "gen_ai.evaluation.explanation": "invented a date",
    }
    spans = frame(
        span("answer", model="gpt-4o"),
        # an evaluator span with the event and the same attributes: one result, for the link
        span(
            "judge",
            ai_kind="evaluator",
            model="judge-model",
            attributes=result,
            events=[{"time": T0, "name": EVENT, "attributes": result}],
            links=[{"trace_id": "t", "span_id": "answer", "attributes": {}}],
        ),
        span(
            "self",
            attributes={"gen_ai.evaluation.name": "toxicity", "gen_ai.evaluation.score.value": "0"},
        ),
        span("phx", attributes={"eval.relevance.label": "relevant", "eval.relevance.score": "1"}),
    )
    scores = all_scores(spans, empty_scores()).collect().sort("evaluator")
    assert scores.select("span_id", "evaluator", "score", "label", "source").rows() == [
        ("answer", "faithfulness", 0.25, "fail", "otel_event"),
        ("phx", "relevance", 1.0, "relevant", "phoenix"),
        ("self", "toxicity", 0.0, None, "otel_attributes"),
    ]
    grouped = with_groups(scores.lazy(), spans, ["model"]).collect().sort("evaluator")
    assert grouped.get_column("model").to_list()[0] == "gpt-4o"  # the graded span's model


def test_gate_fails_per_group_and_closed_on_missing() -> None:
    scores = pl.LazyFrame(
        {
            "evaluator": ["f"] * 4,
            "model": ["a", "a", "b", "b"],
            "score": [0.9, 0.8, 0.2, 0.4],
            "label": [None] * 4,
        },
        schema_overrides={"label": pl.String},
    )
    bounds = [parse_threshold("f=0.5", "--min"), parse_threshold("tox=0.1", "--max")]
    table = summarise(scores, ["model"], {b.evaluator: b for b in bounds}).collect()
    result = check(table, bounds, ["model"])
    assert result.missing == ("tox",)
    assert len(result.failures) == 1 and result.failures[0].startswith("f model=b: mean 0.3")
    assert table.filter(pl.col("model") == "a").get_column("pass_rate").item() == 1.0
