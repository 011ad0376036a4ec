"""Conditions over spans: thresholds, changes, anomalies and patterns, with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from pyflare_cli.alerting.engine.evaluate import Sample, evaluate_pattern, evaluate_windowed
from pyflare_cli.alerting.rules.model import Anomaly, Change, Measure, Pattern, Rule, Threshold

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
MIN = timedelta(minutes=1)


def spans(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    """Spans from minimal rows: ``ago`` (minutes before NOW) and any column."""
    full = []
    for given in rows:
        row = {k: v for k, v in given.items() if k != "ago"}
        ago = given["ago"]
        full.append(
            {
                "start_time": NOW - timedelta(minutes=ago),
                "status_code": "unset",
                "model": "m1",
                "request_model": None,
                "service_name": "api",
                "name": "chat",
                "ai_kind": "llm",
                "duration_ns": 1_000_000_000,
                "cost_usd": 0.01,
                "error_type": None,
                "error_message": None,
                "status_message": None,
                **row,
            }
        )
    return pl.DataFrame(
        full,
        schema_overrides={"start_time": pl.Datetime("ns", "UTC"), "request_model": pl.String},
    ).lazy()


def rule(name: str, condition: Any, window: int = 5) -> Rule:
    return Rule(name=name, group="g", condition=condition, window=window * MIN)


def samples(frame: pl.LazyFrame, r: Rule) -> list[Sample]:
    return evaluate_windowed(frame, [r], NOW)[r.name]


def by_label(found: list[Sample], label: str) -> dict[str, Sample]:
    return {s.labels[label]: s for s in found}


def test_error_rate_per_model_in_the_window_only() -> None:
    frame = spans(
        [{"ago": 1, "model": "a", "status_code": "error"}, {"ago": 2, "model": "a"}]
        + [{"ago": 3, "model": "b"}] * 3
        + [{"ago": 9, "model": "b", "status_code": "error"}]  # outside the 5-minute window
    )
    r = rule("E", Threshold(Measure("error_rate", by=("model",)), ">", 0.1))
    found = by_label(samples(frame, r), "model")
    assert found["a"].value == 0.5 and found["a"].active
    assert found["b"].value == 0.0 and not found["b"].active


def test_window_bounds_are_start_inclusive_end_exclusive() -> None:
    frame = spans([{"ago": 5}, {"ago": 0}, {"ago": 2.5}])  # now - 5m counts, now does not
    (count,) = samples(frame, rule("C", Threshold(Measure("count"), ">=", 2)))
    assert count.value == 2 and count.active


def test_an_empty_window_counts_zero_but_has_no_average() -> None:
    frame = spans([{"ago": 30}])
    (count,) = samples(frame, rule("C", Threshold(Measure("count"), "<", 1)))
    assert count.value == 0 and count.active  # "no traffic" can fire
    assert samples(frame, rule("A", Threshold(Measure("avg", "duration"), ">", 0))) == []


def test_rate_quantile_sum_and_where() -> None:
    rows = [{"ago": 1, "duration_ns": ms * 1_000_000} for ms in (100, 200, 300, 400, 500)]
    frame = spans([*rows, {"ago": 1, "ai_kind": "tool", "duration_ns": 9000000000}])
    (rate,) = samples(frame, rule("R", Threshold(Measure("rate"), ">", 0)))
    assert rate.value == pytest.approx(6 / 5)
    p90 = Measure("quantile", "duration", quantile=0.9, where="type:llm")
    (q,) = samples(frame, rule("Q", Threshold(p90, ">", 450)))
    assert q.value == pytest.approx(460.0) and q.active
    (total,) = samples(frame, rule("S", Threshold(Measure("sum", "cost"), ">=", 0.06)))
    assert total.value == pytest.approx(0.06) and total.active


def test_change_ratio_and_delta_against_the_previous_window() -> None:
    frame = spans([{"ago": 7}] * 2 + [{"ago": 2}] * 5)
    ratio = rule("Up", Change(Measure("count"), "ratio", ">=", 2))
    (found,) = samples(frame, ratio)
    assert found.value == 2.5 and found.active
    delta = rule("Delta", Change(Measure("count"), "delta", ">", 5))
    (d,) = samples(frame, delta)
    assert d.value == 3 and not d.active
    from_nothing = spans([{"ago": 2}] * 5)
    (none,) = samples(from_nothing, ratio)
    assert none.value is None and not none.active


@pytest.mark.parametrize("method", ["stddev", "mad"])
def test_anomaly_against_the_last_windows(method: str) -> None:
    history = [{"ago": 5 * w + 1} for w in range(1, 7) for _ in range(10 + w % 2)]
    spike = [{"ago": 1}] * 40
    r = rule("A", Anomaly(Measure("count"), windows=6, method=method, k=3, direction="above"))
    (high,) = samples(spans(history + spike), r)
    assert high.value == 40 and high.active
    normal = [{"ago": 1}] * 10
    (calm,) = samples(spans(history + normal), r)
    assert calm.value == 10 and not calm.active
    low = rule("L", Anomaly(Measure("count"), windows=6, method=method, k=3, direction="below"))
    (dropped,) = samples(spans([*history, {"ago": 1}]), low)
    assert dropped.active


def test_anomaly_needs_three_windows_of_history() -> None:
    r = rule("A", Anomaly(Measure("avg", "duration"), windows=6))
    (found,) = samples(spans([{"ago": 1}, {"ago": 6}]), r)
    assert not found.active


def test_pattern_regex_counts_error_messages_per_label() -> None:
    errors = [
        {"ago": 1, "status_code": "error", "error_type": "RateLimitError",
         "error_message": f"Rate limit reached, retry in {i}ms", "service_name": svc}
        for i, svc in enumerate(["api", "api", "api", "rag"])
    ]  # fmt: skip
    frame = spans([*errors, {"ago": 1}])
    r = rule("P", Pattern("(?i)rate limit", None, 3, by=("service",)))
    found = by_label(evaluate_pattern(frame, r, r.condition, NOW), "service")  # type: ignore[arg-type]
    assert found["api"].value == 3 and found["api"].active
    assert found["rag"].value == 1 and not found["rag"].active


def test_pattern_by_mined_template() -> None:
    errors = [
        {"ago": 1, "status_code": "error", "error_type": "APITimeoutError",
         "error_message": f"Request to 10.0.0.{i} timed out after {i}s"}
        for i in range(4)
    ]  # fmt: skip
    r = rule("T", Pattern(None, "APITimeoutError: Request to <IP> timed out after *", 4))
    (found,) = evaluate_pattern(spans(errors), r, r.condition, NOW)  # type: ignore[arg-type]
    assert found.value == 4 and found.active
