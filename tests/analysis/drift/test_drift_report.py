"""Drift of one model: known answers on small inline frames (features, verdicts, concept, text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_series_equal

from pyflare_cli.analysis.drift.concept import ConceptPair
from pyflare_cli.analysis.drift.features import (
    NONE_CATEGORY,
    feature_frame,
    model_filter,
    oov_shares,
    parse_feature,
)
from pyflare_cli.analysis.drift.history import drift_history, magnitude, trend
from pyflare_cli.analysis.drift.model import DriftSettings, verdict
from pyflare_cli.analysis.drift.report import compare
from pyflare_cli.query.drift_samples import features_of

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def spans(n: int, seed: int, **columns: Any) -> pl.LazyFrame:
    """``n`` LLM spans of model m1, one a minute from T0, with defaults for every feature."""
    rng = np.random.default_rng(seed)
    base: dict[str, Any] = {
        "start_time": [T0 + timedelta(minutes=i) for i in range(n)],
        "model": ["m1"] * n,
        "request_model": ["m1"] * n,
        "ai_kind": ["llm"] * n,
        "input_tokens": rng.normal(1000, 100, n).round().astype(int),
        "output_tokens": rng.normal(200, 20, n).round().astype(int),
        "duration_ns": rng.normal(1e9, 1e8, n).round().astype(int),
        "cost_usd": rng.normal(0.01, 0.001, n),
        "provider": ["openai"] * n,
        "finish_reason": rng.choice(["stop", "length"], n, p=[0.9, 0.1]),
        "tool_name": [None] * n,
        "status_code": ["unset"] * n,
        "input_text": ["hello there"] * n,
        "output_text": ["fine thanks"] * n,
        "embedding": [None] * n,
        "attributes": [[] for _ in range(n)],
    }
    base.update(columns)
    base["total_tokens"] = np.asarray(base["input_tokens"]) + np.asarray(base["output_tokens"])
    schema = {
        "start_time": pl.Datetime("ns", "UTC"),
        "embedding": pl.List(pl.Float32),
        "attributes": pl.List(pl.Struct({"key": pl.String, "value": pl.String})),
        "tool_name": pl.String,
    }
    frame = pl.DataFrame(base, schema_overrides=schema)
    return frame.with_columns(pl.col("attributes").cast(pl.Map(pl.String, pl.String))).lazy()


NUMERIC = [parse_feature(n) for n in ("input_tokens", "output_tokens", "duration_ms")]


def run(ref: pl.LazyFrame, cur: pl.LazyFrame, names: list[str], **settings: Any) -> Any:
    features = [parse_feature(n) for n in names]
    pairs = settings.get("concept", ())
    frames = [features_of(f, features, pairs).collect() for f in (ref, cur)]
    return compare("m1", frames[0], frames[1], features, DriftSettings(**settings))


def row(report: Any, feature: str) -> dict[str, Any]:
    found = report.features.filter(pl.col("feature") == feature).to_dicts()
    assert found, f"no row for {feature}"
    return dict(found[0])


def test_identical_distributions_are_healthy() -> None:
    report = run(spans(600, 1), spans(600, 2), ["input_tokens", "output_tokens", "finish_reason"])
    assert report.verdict == "healthy" and report.drifted == 0 and report.tested == 3
    assert row(report, "input_tokens")["method"] == "ks"  # reference <= 1000 rows


def test_a_shifted_mean_drifts_and_the_share_decides_the_verdict() -> None:
    shifted = spans(600, 2, input_tokens=np.random.default_rng(3).normal(1100, 100, 600).round())
    report = run(spans(600, 1), shifted, ["input_tokens", "output_tokens", "finish_reason"])
    assert row(report, "input_tokens")["status"] == "drifted"
    assert report.drifted == 1 and report.verdict == "warning"
    strict = run(spans(600, 1), shifted, ["input_tokens", "output_tokens"], drift_share=0.5)
    assert strict.verdict == "drifted"  # 1 of 2 reaches 50%


def test_large_references_use_distances() -> None:
    shifted = spans(2000, 2, input_tokens=np.random.default_rng(3).normal(1030, 100, 2000))
    report = run(spans(2000, 1), shifted, ["input_tokens", "finish_reason"])
    tokens = row(report, "input_tokens")
    assert tokens["method"] == "wasserstein" and tokens["p_value"] is None
    assert 0.2 < tokens["score"] < 0.4 and tokens["status"] == "drifted"
    assert row(report, "finish_reason")["method"] == "jensenshannon"


def test_a_changed_category_mix_drifts() -> None:
    rng = np.random.default_rng(4)
    mix = rng.choice(["stop", "length", "tool"], 600, p=[0.5, 0.3, 0.2])
    report = run(spans(600, 1), spans(600, 2, finish_reason=mix), ["finish_reason"])
    reason = row(report, "finish_reason")
    assert reason["method"] == "chisquare" and reason["status"] == "drifted"
    assert reason["reference"].startswith("stop 9")


def test_missing_values_are_a_category() -> None:
    tools = [None] * 300 + ["search"] * 300
    report = run(spans(600, 1), spans(600, 2, tool_name=tools), ["tool_name"])
    tool = row(report, "tool_name")
    assert tool["status"] == "drifted" and NONE_CATEGORY in tool["reference"]
    assert tool["method"] == "z"  # two categories, small reference


def test_too_few_spans_is_insufficient_data_not_a_verdict() -> None:
    report = run(spans(600, 1), spans(10, 2), ["input_tokens", "finish_reason"])
    assert set(report.features.get_column("status")) == {"insufficient data"}
    assert report.verdict == "insufficient data" and report.tested == 0


def test_overrides_per_feature_and_for_all() -> None:
    report = run(
        spans(600, 1),
        spans(600, 2),
        ["input_tokens", "finish_reason"],
        method="psi",
        thresholds={"input_tokens": 0.5},
    )
    assert row(report, "input_tokens")["method"] == "psi"
    assert row(report, "input_tokens")["threshold"] == 0.5
    assert row(report, "finish_reason")["method"] == "psi"
    ks_everywhere = run(spans(600, 1), spans(600, 2), ["finish_reason"], method="ks")
    assert row(ks_everywhere, "finish_reason")["method"] == "z"  # ks does not fit categories


def test_bonferroni_divides_p_value_thresholds() -> None:
    names = ["input_tokens", "output_tokens", "finish_reason"]
    report = run(spans(600, 1), spans(600, 2), names, correction="bonferroni")
    assert report.correction == "bonferroni"
    assert set(report.features.get_column("threshold")) == {0.05 / 3}


def test_numeric_attribute_and_categorical_attribute_are_told_apart() -> None:
    n = 600
    ref = spans(n, 1, attributes=[[("score", str(i % 7)), ("tier", "free")] for i in range(n)])
    tiers = ["pro" if i % 2 else "free" for i in range(n)]
    cur = spans(
        n, 2, attributes=[[("score", str(i % 7 + 3)), ("tier", t)] for i, t in enumerate(tiers)]
    )
    ref = ref.with_columns(pl.col("attributes").cast(pl.Map(pl.String, pl.String)))
    report = run(ref, cur, ["attr.score", "attr.tier"])
    score, tier = row(report, "attr.score"), row(report, "attr.tier")
    assert score["kind"] == "numerical" and score["status"] == "drifted"
    assert tier["kind"] == "categorical" and tier["status"] == "drifted"


def test_rotated_embeddings_drift_and_same_ones_do_not() -> None:
    rng = np.random.default_rng(5)

    def vectors(angle: float, n: int) -> list[list[float]]:
        centre = np.array([np.cos(angle), np.sin(angle), 0.0])
        return (centre + rng.normal(0, 0.1, (n, 3))).tolist()

    ref = spans(200, 1, embedding=vectors(0.0, 200))
    same = run(ref, spans(200, 2, embedding=vectors(0.0, 200)), ["embedding"])
    rotated = run(ref, spans(200, 2, embedding=vectors(np.pi / 3, 200)), ["embedding"])
    assert row(same, "embedding")["status"] == "ok"
    moved = row(rotated, "embedding")
    assert moved["status"] == "drifted" and moved["method"] == "mmd" and moved["p_value"] < 0.01
    assert "cosine distance 0.5" in moved["current"]  # 1 - cos(60 degrees)


def test_oov_is_leave_one_out_in_the_reference() -> None:
    reference = pl.Series(["a b", "a c", "b c", None, "a z"])
    current = pl.Series(["a b", "new word", "a new", ""])
    ref, cur = oov_shares(reference, current)
    assert_series_equal(ref, pl.Series("oov", [0.0, 0.0, 0.0, None, 0.5]))
    assert_series_equal(cur, pl.Series("oov", [0.0, 1.0, 0.5, None]))


def test_new_vocabulary_drifts_the_oov_descriptor() -> None:
    words = [f"word{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(40)]
    rng = np.random.default_rng(6)
    same = [" ".join(rng.choice(words, 8)) for _ in range(300)]
    other = [" ".join(rng.choice(words, 4)) + " novel unseen fresh" for _ in range(300)]
    ref = spans(300, 1, input_text=same)
    report_same = run(ref, spans(300, 2, input_text=list(reversed(same))), ["prompt.oov"])
    report_new = run(ref, spans(300, 2, input_text=other), ["prompt.oov"])
    assert row(report_same, "prompt.oov")["status"] == "ok"
    assert row(report_new, "prompt.oov")["status"] == "drifted"


def test_non_ascii_share() -> None:
    frame = feature_frame(
        spans(3, 1, input_text=["abcd", "ab\u00e9\u00e9", None]),
        [parse_feature("prompt.non_ascii")],
    ).collect()
    assert frame.get_column("prompt.non_ascii").to_list() == [0.0, 0.5, None]


def test_concept_drift_is_the_outcome_given_the_input() -> None:
    n = 1000
    rng = np.random.default_rng(7)
    tokens = rng.normal(1000, 200, n).round()
    ref_status = np.where(rng.random(n) < 0.02, "error", "unset")
    # Same inputs; errors now come with long prompts: P(error | tokens) changed.
    cur_status = np.where((tokens > 1150) & (rng.random(n) < 0.5), "error", "unset")
    pair = (ConceptPair("input_tokens"),)
    ref = spans(n, 1, input_tokens=tokens, status_code=ref_status)
    changed = run(ref, spans(n, 2, input_tokens=tokens, status_code=cur_status), [], concept=pair)
    concept = row(changed, "error | input_tokens")
    assert concept["status"] == "drifted" and concept["drift_type"] == "concept"
    # Inputs shift but the error rate per input stays: not concept drift.
    shifted = rng.normal(1300, 200, n).round()
    still = np.where(rng.random(n) < 0.02, "error", "unset")
    same = run(ref, spans(n, 2, input_tokens=shifted, status_code=still), [], concept=pair)
    assert row(same, "error | input_tokens")["status"] == "ok"


def test_model_filter_takes_request_names_and_skips_agents() -> None:
    frame = pl.DataFrame(
        {
            "model": ["m1-2025", "m1", "m2", "m1"],
            "request_model": ["m1", None, "m2", None],
            "ai_kind": ["llm", "agent", "llm", None],
        }
    )
    assert frame.filter(model_filter("m1")).height == 2


def test_verdict_rules() -> None:
    assert verdict(0, 0, 0.5) == "insufficient data"
    assert verdict(0, 4, 0.5) == "healthy"
    assert verdict(1, 4, 0.5) == "warning"
    assert verdict(2, 4, 0.5) == "drifted"


def test_history_scores_each_period_and_finds_the_trend() -> None:
    n = 24 * 60 * 4
    growth = np.repeat([1000.0, 1050.0, 1100.0, 1150.0], 24 * 60)
    rng = np.random.default_rng(8)
    cur = spans(n, 2, input_tokens=growth + rng.normal(0, 100, n))
    ref = features_of(spans(2000, 1), NUMERIC, ()).collect()
    table, trends = drift_history(
        "m1", ref, features_of(cur, NUMERIC, ()).collect(), NUMERIC, DriftSettings(), "day"
    )
    assert table.get_column("period").n_unique() == 4
    tokens = table.filter(pl.col("feature") == "input_tokens")
    assert tokens.get_column("method").unique().to_list() == ["wasserstein"]
    scores = tokens.get_column("score").to_list()
    assert scores == sorted(scores)
    assert dict(trends.iter_rows())["input_tokens"] == "increasing"


def test_welch_and_slope_p_values_agree_with_scipy() -> None:
    from scipy import stats

    from pyflare_cli.analysis.drift.history import slope_p_value
    from pyflare_cli.analysis.rca.stats import samples_p_value

    rng = np.random.default_rng(9)
    a, b = rng.normal(0, 1, 40), rng.normal(0.3, 2, 70)
    expected = stats.ttest_ind(a, b, equal_var=False).pvalue
    assert samples_p_value(a, b, binary=False) == pytest.approx(expected, abs=1e-12)
    x = np.arange(12, dtype=np.float64)
    y = 0.1 * x + rng.normal(0, 0.5, 12)
    fit = stats.linregress(x, y)
    slope, p_value = slope_p_value(x, y)
    assert slope == pytest.approx(fit.slope, abs=1e-12)
    assert p_value == pytest.approx(fit.pvalue, abs=1e-12)


def test_trend_and_magnitude() -> None:
    assert trend([0.1, 0.2]) == "n/a"
    assert trend([0.1, 0.1, 0.1, 0.1]) == "stable"
    assert trend([0.4, 0.3, 0.2, 0.1]) == "decreasing"
    assert magnitude("ks", 0.001) == pytest.approx(3.0)
    assert magnitude("psi", 0.2) == 0.2
    assert magnitude(None, None) is None


def test_bonferroni_can_flip_a_verdict() -> None:
    rng = np.random.default_rng(10)
    mild = spans(600, 2, input_tokens=rng.normal(1022, 100, 600).round())
    names = ["input_tokens", "output_tokens", "finish_reason", "duration_ms", "cost_usd"]
    plain = run(spans(600, 1), mild, names)
    corrected = run(spans(600, 1), mild, names, correction="bonferroni")
    p = row(plain, "input_tokens")["p_value"]
    assert 0.05 / 5 < p <= 0.05, p  # drifted alone, not after dividing by five tests
    assert row(plain, "input_tokens")["status"] == "drifted"
    assert row(corrected, "input_tokens")["status"] == "ok"


def test_nan_embeddings_are_dropped_not_fatal() -> None:
    rng = np.random.default_rng(11)
    vectors = rng.normal(0, 1, (200, 3)).tolist()
    broken = [[float("nan"), 0.0, 0.0] if i % 10 == 0 else v for i, v in enumerate(vectors)]
    report = run(spans(200, 1, embedding=vectors), spans(200, 2, embedding=broken), ["embedding"])
    assert row(report, "embedding")["status"] == "ok"


def test_a_feature_that_vanishes_has_drifted() -> None:
    cur = spans(600, 2).with_columns(pl.lit(None, pl.Int64).alias("output_tokens"))
    report = run(spans(600, 1), cur, ["output_tokens", "input_tokens"])
    gone = row(report, "output_tokens")
    assert gone["status"] == "drifted" and gone["method"] == "presence"
    assert gone["current"] == "set on 0% of spans"


def test_concept_without_any_error_is_insufficient_data() -> None:
    pair = (ConceptPair("input_tokens"),)
    report = run(spans(600, 1), spans(600, 2), [], concept=pair)
    assert row(report, "error | input_tokens")["status"] == "insufficient data"


def test_the_reference_decides_an_attributes_type() -> None:
    ref = spans(600, 1, attributes=[[("score", str(i % 9))] for i in range(600)])
    cur = spans(40, 2, attributes=[[("score", "high")] for _ in range(40)])
    report = run(ref, cur, ["attr.score"])
    score = row(report, "attr.score")
    assert score["kind"] == "numerical" and score["n_current"] == 0


def test_a_step_change_is_an_increasing_trend() -> None:
    assert trend([0.1, 0.1, 5.0, 9.0], ["ok", "ok", "drifted", "drifted"]) == "increasing"
    assert trend([9.0, 5.0, 0.1, 0.1], ["drifted", "drifted", "ok", "ok"]) == "decreasing"
    assert trend([0.1, 0.1, 0.1, 0.1], ["ok", "ok", "ok", "ok"]) == "stable"
