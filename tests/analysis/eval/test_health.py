"""The health score: each part's formula, re-normalised weights, and an injected
slowdown or error burst found in the group that has it (and only there)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from pyflare_cli.analysis.eval import health
from pyflare_cli.analysis.eval.summary import with_groups

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NO_DRIFT = pl.LazyFrame(schema=health.DRIFT)


def spans_of(
    make_spans: Callable[..., pl.DataFrame],
    rng: np.random.Generator,
    models: dict[str, tuple[int, float, float]],
) -> pl.DataFrame:
    """``models``: name -> (spans, error share, median latency in ms)."""
    rows = []
    for model, (n, errors, ms) in models.items():
        for i in range(n):
            rows.append(
                {
                    "span_id": f"{model}-{i}",
                    "start_time": T0 + timedelta(seconds=i),
                    "ms": float(rng.lognormal(np.log(ms), 0.3)),
                    "model": model,
                    "ai_kind": "llm",
                    "status_code": "error" if rng.random() < errors else "ok",
                }
            )
    return make_spans(*rows)


def report(
    current: pl.DataFrame,
    baseline: pl.DataFrame,
    scores: pl.LazyFrame | None = None,
    drift: pl.LazyFrame = NO_DRIFT,
) -> dict[str, dict[str, object]]:
    scored = (
        scores
        if scores is not None
        else pl.LazyFrame(
            schema={
                "evaluator": pl.String,
                "score": pl.Float64,
                "label": pl.String,
                "model": pl.String,
            }
        )
    )
    table = health.health(
        health.operations(current.lazy(), "model"),
        health.operations(baseline.lazy(), "model"),
        health.quality(scored, "model", {}),
        drift,
        "model",
    ).collect()
    return {row["model"]: row for row in table.iter_rows(named=True)}


@pytest.mark.parametrize("seed", range(5))
def test_an_injected_slowdown_and_error_burst_are_found_where_they_are(
    make_spans: Callable[..., pl.DataFrame], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    base = {"a": (200, 0.0, 100.0), "b": (200, 0.0, 100.0), "c": (200, 0.0, 100.0)}
    now = {"a": (200, 0.0, 100.0), "b": (200, 0.0, 300.0), "c": (200, 0.2, 100.0)}
    rows = report(spans_of(make_spans, rng, now), spans_of(make_spans, rng, base))
    assert rows["a"]["latency"] == 1.0 and rows["a"]["errors"] == 1.0
    assert rows["a"]["status"] == "healthy"
    assert rows["b"]["latency"] == 0.0  # three times slower than its own baseline
    assert rows["c"]["errors"] == 0.0  # 20% errors: twice the budget
    assert rows["b"]["health"] < rows["a"]["health"] and rows["c"]["health"] < rows["a"]["health"]


def test_the_formula_and_the_weights_of_the_parts_present(
    make_spans: Callable[..., pl.DataFrame],
) -> None:
    rng = np.random.default_rng(0)
    current = spans_of(make_spans, rng, {"m": (100, 0.0, 100.0), "few": (5, 0.0, 100.0)})
    current = current.with_columns(
        status_code=pl.when(pl.col("span_id").is_in([f"m-{i}" for i in range(5)]))
        .then(pl.lit("error"))
        .otherwise(pl.col("status_code"))
    )
    baseline = current.with_columns(duration_ns=pl.col("duration_ns") * 2)  # now 2x faster
    scores = pl.LazyFrame(
        {
            "evaluator": ["f", "f", "f", "f", "tox"],
            "score": [None] * 5,
            "label": ["pass", "pass", "fail", "fail", "safe"],
            "model": ["m"] * 5,
        },
        schema_overrides={"score": pl.Float64},
    )
    drift = pl.LazyFrame({"group": ["m"], "drifted": [1], "tested": [4]})
    rows = report(current, baseline, scores, drift)
    m = rows["m"]
    assert m["errors"] == pytest.approx(1 - 0.05 / 0.10)
    assert m["latency"] == 1.0
    assert m["drift"] == pytest.approx(0.75)
    assert m["quality"] == pytest.approx((0.5 + 1.0) / 2)  # mean of the evaluators' rates
    expected = (0.3 * 0.5 + 0.2 * 1.0 + 0.2 * 0.75 + 0.3 * 0.75) / 1.0
    assert m["health"] == pytest.approx(expected)
    few = rows["few"]  # too few spans for a latency baseline, no drift, no scores
    assert few["latency"] is None and few["drift"] is None and few["quality"] is None
    assert few["health"] == pytest.approx(few["errors"])
    assert health.below(pl.DataFrame([m, few]), "model", 0.8) == [
        f"model=m: health {expected:.3f} < 0.8"
    ]


def test_latency_part_is_linear_between_its_bounds(
    make_spans: Callable[..., pl.DataFrame],
) -> None:
    rng = np.random.default_rng(1)
    baseline = spans_of(make_spans, rng, {"m": (50, 0.0, 100.0)})
    current = baseline.with_columns(duration_ns=(pl.col("duration_ns") * 1.6).cast(pl.Int64))
    part = report(current, baseline)["m"]["latency"]
    assert part == pytest.approx(0.5, abs=1e-6)


def test_quality_reads_scores_grouped_by_the_graded_model(
    make_spans: Callable[..., pl.DataFrame],
) -> None:
    spans = make_spans(
        {"span_id": "s", "trace_id": "t", "start_time": T0, "model": "m", "ai_kind": "llm"}
    )
    scores = pl.LazyFrame(
        {"trace_id": ["t"], "span_id": ["s"], "evaluator": ["x"], "score": [0.2],
         "label": [None]},
        schema_overrides={"label": pl.String},
    )  # fmt: skip
    grouped = with_groups(scores, spans.lazy(), ["model"])
    threshold = {"x": health.Threshold("x", minimum=0.5)}
    row = health.quality(grouped, "model", threshold).collect().row(0, named=True)
    assert row == {"group": "m", "evaluators": 1, "pass_rate": 0.0}
