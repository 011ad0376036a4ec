"""Daily spend series and their forecasts: trend, weekly rhythm, intervals, edge cases."""

from __future__ import annotations

import math
import warnings
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from pyflare_cli.analysis.cost.forecast import (
    FORECAST_SCHEMA,
    WEEKLY_MIN_DAYS,
    NotEnoughHistory,
    Skipped,
    backtest,
    daily_series,
    forecast_daily,
    forecast_groups,
    forecast_total,
)

MONDAY = date(2026, 11, 2)
WEEKLY = np.array([1.0, 1.1, 1.2, 1.1, 1.0, 0.5, 0.4])
"""A weekday rhythm, Monday first: weekends at half."""


def _history(dollars: list[float] | np.ndarray, start: date = MONDAY) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "day": [start + timedelta(days=i) for i in range(len(dollars))],
            "cost_micros": [round(float(d) * 1_000_000) for d in dollars],
        },
        schema={"day": pl.Date, "cost_micros": pl.Int64},
    )


def _spans(rows: list[tuple[str, float | None, str | None]]) -> pl.LazyFrame:
    """Spans from (ISO start time, dollars or None, service)."""
    return pl.LazyFrame(
        {
            "start_time": [datetime.fromisoformat(t).replace(tzinfo=UTC) for t, _, _ in rows],
            "cost_micros": [None if c is None else round(c * 1_000_000) for _, c, _ in rows],
            "service_name": [s for _, _, s in rows],
        },
        schema={
            "start_time": pl.Datetime("ns", "UTC"),
            "cost_micros": pl.Int64,
            "service_name": pl.String,
        },
    )


def _days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


# daily_series ------------------------------------------------------------------------


def test_daily_series_sums_per_utc_day_and_fills_gaps_with_zero() -> None:
    spans = _spans(
        [
            ("2026-11-02T00:00:00", 1.0, "api"),
            ("2026-11-02T23:59:59.999999", 2.5, "api"),
            ("2026-11-02T12:00:00", None, "api"),  # unpriced: not counted
            ("2026-11-03T00:00:00", 0.25, "api"),
            ("2026-11-06T08:00:00", 4.0, "api"),
        ]
    )
    expected = pl.DataFrame(
        {"day": _days(date(2026, 11, 2), 5), "cost_micros": [3_500_000, 250_000, 0, 0, 4_000_000]},
        schema={"day": pl.Date, "cost_micros": pl.Int64},
    )
    assert_frame_equal(daily_series(spans, None).collect(), expected)


def test_daily_series_per_group_fills_between_each_groups_own_first_and_last_day() -> None:
    spans = _spans(
        [
            ("2026-11-02T10:00:00", 1.0, "api"),
            ("2026-11-04T10:00:00", 2.0, "api"),
            ("2026-11-04T11:00:00", 3.0, "api"),
            ("2026-11-03T10:00:00", 5.0, "batch"),
            ("2026-11-03T10:00:00", 0.5, None),
            ("2026-11-05T10:00:00", None, None),
        ]
    )
    expected = pl.DataFrame(
        {
            "service_name": ["api", "api", "api", "batch", None, None, None],
            "day": [
                *_days(date(2026, 11, 2), 3),
                date(2026, 11, 3),
                *_days(date(2026, 11, 3), 3),
            ],
            "cost_micros": [1_000_000, 0, 5_000_000, 5_000_000, 500_000, 0, 0],
        },
        schema={"service_name": pl.String, "day": pl.Date, "cost_micros": pl.Int64},
    )
    assert_frame_equal(daily_series(spans, "service_name").collect(), expected)


def test_daily_series_of_no_spans_is_empty() -> None:
    empty = _spans([])
    assert daily_series(empty, None).collect().schema == {
        "day": pl.Date,
        "cost_micros": pl.Int64,
    }
    assert daily_series(empty, "service_name").collect().height == 0


# forecast_daily ----------------------------------------------------------------------


def test_pure_linear_trend_is_continued_exactly_with_a_zero_width_interval() -> None:
    history = _history([10.0 + 2.0 * i for i in range(28)])
    result = forecast_daily(history, 5)
    assert result.schema == FORECAST_SCHEMA
    assert result.get_column("day").to_list() == _days(MONDAY + timedelta(days=28), 5)
    expected = [10.0 + 2.0 * i for i in range(28, 33)]
    for column in ("forecast_usd", "lower_usd", "upper_usd"):
        assert result.get_column(column).to_list() == pytest.approx(expected, abs=1e-6)


def test_a_short_history_continues_the_trend_without_weekday_terms() -> None:
    history = _history([50.0 - 3.0 * i for i in range(7)])
    result = forecast_daily(history, 3)
    assert result.get_column("forecast_usd").to_list() == pytest.approx([29, 26, 23], abs=1e-6)


def test_weekly_rhythm_and_trend_are_recovered_on_the_right_weekdays() -> None:
    def spend(i: int) -> float:
        return 100.0 * float(WEEKLY[i % 7]) + 1.5 * i

    start = MONDAY + timedelta(days=3)  # the history starts on a Thursday
    history = _history([spend(i + 3) for i in range(21)], start)
    result = forecast_daily(history, 14)
    assert result.get_column("day")[0] == date(2026, 11, 26)
    expected = [spend(i + 3) for i in range(21, 35)]
    assert result.get_column("forecast_usd").to_list() == pytest.approx(expected, abs=1e-6)


def test_weekday_terms_start_at_ten_days() -> None:
    rhythm = [100.0 * WEEKLY[i % 7] for i in range(WEEKLY_MIN_DAYS)]
    weekly = forecast_daily(_history(rhythm), 7)
    assert weekly.get_column("forecast_usd").to_list() == pytest.approx(
        list(100.0 * np.roll(WEEKLY, -3)), abs=1e-6
    )
    trend_only = forecast_daily(_history(rhythm[:-1]), 7)
    spread = trend_only.get_column("upper_usd") - trend_only.get_column("lower_usd")
    assert spread.to_numpy().min() > 50  # the weekly swing is in the error, not in the forecast


def test_prediction_interval_is_the_textbook_one_for_a_trend() -> None:
    values = [10.0, 12.0, 11.0, 15.0, 14.0, 18.0, 16.0]
    result = forecast_daily(_history(values), 2, level=0.9)
    x, y = np.arange(7.0), np.array(values)
    slope, intercept = np.polyfit(x, y, 1)
    s = math.sqrt(((y - intercept - slope * x) ** 2).sum() / 5)
    sxx = ((x - x.mean()) ** 2).sum()
    for row, x0 in zip(result.iter_rows(named=True), (7.0, 8.0), strict=True):
        mean = intercept + slope * x0
        half = stats.t.ppf(0.95, 5) * s * math.sqrt(1 + 1 / 7 + (x0 - x.mean()) ** 2 / sxx)
        assert row["forecast_usd"] == pytest.approx(mean)
        assert row["lower_usd"] == pytest.approx(mean - half)
        assert row["upper_usd"] == pytest.approx(mean + half)


def test_interval_widens_with_noise_with_distance_and_with_level() -> None:
    rng = np.random.default_rng(11)
    base = np.array([100.0 * WEEKLY[i % 7] + i for i in range(28)])
    shocks = rng.standard_normal(28)

    def width(noise: float, level: float = 0.8) -> np.ndarray:
        result = forecast_daily(_history(base + noise * shocks), 28, level=level)
        return (result.get_column("upper_usd") - result.get_column("lower_usd")).to_numpy()

    quiet, loud = width(1.0), width(5.0)
    assert (loud > quiet).all()
    assert loud == pytest.approx(5 * quiet, rel=1e-3)  # same shocks, scaled
    assert (quiet[7:] > quiet[:-7]).all()  # the same weekday a week further out
    assert (width(1.0, level=0.95) > quiet).all()


def test_forecast_and_bounds_are_never_negative() -> None:
    falling = forecast_daily(_history([30.0 - 2.0 * i for i in range(14)]), 20)
    rng = np.random.default_rng(5)
    tiny = forecast_daily(_history(np.abs(rng.normal(0.01, 0.02, 21))), 30)
    for result in (falling, tiny):
        for column in ("forecast_usd", "lower_usd", "upper_usd"):
            assert result.get_column(column).to_numpy().min() >= 0
    assert falling.get_column("forecast_usd").tail(5).to_list() == [0.0] * 5
    assert tiny.get_column("lower_usd").to_numpy().min() == 0.0


@pytest.mark.parametrize("days", [0, 1, 6])
def test_short_history_raises_naming_the_days(days: int) -> None:
    with pytest.raises(NotEnoughHistory) as raised:
        forecast_daily(_history([1.0] * days), 7)
    assert isinstance(raised.value, ValueError)
    assert (raised.value.days, raised.value.needed) == (days, 7)
    have = {0: "no days", 1: "1 day", 6: "6 days"}[days]
    assert str(raised.value) == (
        f"There is spend history for {have}; a forecast needs at least 7 days."
    )


def test_min_days_is_the_callers_but_never_below_three() -> None:
    with pytest.raises(NotEnoughHistory, match="at least 14 days"):
        forecast_daily(_history([1.0] * 13), 7, min_days=14)
    assert forecast_daily(_history([1.0] * 3), 2, min_days=1).height == 2
    with pytest.raises(NotEnoughHistory, match="at least 3 days"):
        forecast_daily(_history([1.0] * 2), 2, min_days=1)


def test_zero_spend_forecasts_zero_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for days in (7, 28):
            result = forecast_daily(_history([0.0] * days), 10)
            assert result.height == 10
            for column in ("forecast_usd", "lower_usd", "upper_usd"):
                assert result.get_column(column).to_list() == [0.0] * 10


def test_missing_days_count_as_zero_spend() -> None:
    full = _history([5.0, 0.0, 7.0, 6.0, 0.0, 0.0, 8.0, 9.0, 6.0, 7.0, 8.0, 9.0])
    gappy = full.filter(pl.col("cost_micros") > 0)
    assert_frame_equal(forecast_daily(gappy, 4), forecast_daily(full, 4))


def test_one_row_per_horizon_day_and_bad_arguments() -> None:
    history = _history([3.0] * 10)
    assert forecast_daily(history, 1).height == 1
    assert forecast_daily(history, 90).get_column("day").diff().drop_nulls().unique().to_list() == [
        timedelta(days=1)
    ]
    with pytest.raises(ValueError, match="horizon_days"):
        forecast_daily(history, 0)
    with pytest.raises(ValueError, match="level"):
        forecast_daily(history, 7, level=1.0)


# forecast_total ----------------------------------------------------------------------


def test_total_sums_the_daily_forecasts_with_a_narrower_interval_than_summed_bounds() -> None:
    rng = np.random.default_rng(3)
    history = _history([100.0 * WEEKLY[i % 7] + 10 * rng.standard_normal() for i in range(28)])
    daily = forecast_daily(history, 30)
    total = forecast_total(history, 30)
    assert total.days == 30
    assert total.forecast_usd == pytest.approx(daily.get_column("forecast_usd").sum())
    assert total.lower_usd < total.forecast_usd < total.upper_usd
    summed_bounds = daily.select(pl.col("upper_usd").sum() - pl.col("lower_usd").sum()).item()
    assert total.upper_usd - total.lower_usd < summed_bounds


def test_total_of_a_spend_falling_to_zero_still_brackets_its_forecast() -> None:
    total = forecast_total(_history([30.0 - 2.0 * i for i in range(14)]), 30)
    assert 0 <= total.lower_usd <= total.forecast_usd <= total.upper_usd
    assert total.forecast_usd == pytest.approx(sum(max(30.0 - 2.0 * i, 0) for i in range(14, 44)))


# forecast_groups ---------------------------------------------------------------------


def _grouped(**series: pl.DataFrame) -> pl.DataFrame:
    return pl.concat(
        [frame.select(pl.lit(name).alias("model"), pl.all()) for name, frame in series.items()]
    )


def test_a_single_group_is_forecast_like_its_series() -> None:
    history = _history([10.0 + i for i in range(14)])
    result = forecast_groups(_grouped(gpt=history), "model", 7)
    assert result.skipped == []
    expected = forecast_daily(history, 7).select(pl.lit("gpt").alias("model"), pl.all())
    assert_frame_equal(result.forecasts, expected)


def test_groups_share_the_forecast_days_and_short_ones_are_skipped() -> None:
    steady = _history([10.0] * 21)
    stopped = _history([4.0] * 14)  # no spend in the last 7 days of the series
    young = _history([1.0] * 3, MONDAY + timedelta(days=18))
    result = forecast_groups(_grouped(steady=steady, stopped=stopped, young=young), "model", 7)
    assert result.skipped == [Skipped("young", 3, 7)]
    forecasts = result.forecasts
    assert forecasts.get_column("model").unique(maintain_order=True).to_list() == [
        "steady",
        "stopped",
    ]
    first_days = forecasts.group_by("model").agg(pl.col("day").min()).get_column("day")
    assert first_days.unique().to_list() == [MONDAY + timedelta(days=21)]
    padded = pl.concat([stopped, _history([0.0] * 7, MONDAY + timedelta(days=14))])
    assert_frame_equal(
        forecasts.filter(pl.col("model") == "stopped").drop("model"), forecast_daily(padded, 7)
    )


def test_groups_sort_with_null_last_and_empty_series_give_empty_forecasts() -> None:
    series = pl.concat(
        [
            _history([2.0] * 7).select(pl.lit(None, pl.String).alias("model"), pl.all()),
            _history([1.0] * 7).select(pl.lit("b").alias("model"), pl.all()),
            _history([3.0] * 7).select(pl.lit("a").alias("model"), pl.all()),
        ]
    )
    result = forecast_groups(series, "model", 2)
    assert result.forecasts.get_column("model").to_list() == ["a", "a", "b", "b", None, None]
    assert result.forecasts.get_column("forecast_usd").to_list() == pytest.approx(
        [3, 3, 1, 1, 2, 2]
    )
    empty = forecast_groups(series.clear(), "model", 2)
    assert empty.forecasts.height == 0
    assert empty.forecasts.columns == ["model", *FORECAST_SCHEMA]


# backtest ----------------------------------------------------------------------------


def test_backtest_coverage_is_near_the_level_on_series_with_known_noise() -> None:
    rng = np.random.default_rng(2026)
    days = np.arange(42)
    coverage: list[float] = []
    mape: list[float] = []
    for _ in range(200):
        spend = 200.0 * WEEKLY[days % 7] + 1.0 * days + 15.0 * rng.standard_normal(42)
        result = backtest(_history(spend), 14, level=0.8)
        assert (result.days_fit, result.days_tested, result.days_in_mape) == (28, 14, 14)
        coverage.append(result.coverage)
        assert result.mape is not None
        mape.append(result.mape)
    assert 0.75 <= float(np.mean(coverage)) <= 0.85
    assert 0.05 <= float(np.mean(mape)) <= 0.15  # noise of 15 on 80-240 a day


def test_backtest_of_an_exact_series_is_perfect() -> None:
    result = backtest(_history([100.0 * WEEKLY[i % 7] + 2 * i for i in range(35)]), 7)
    assert result.coverage == 1.0
    assert result.mape == pytest.approx(0.0, abs=1e-9)
    assert (result.level, result.days_fit, result.days_tested) == (0.8, 28, 7)


def test_backtest_mape_skips_days_without_spend() -> None:
    spend = [10.0] * 14 + [0.0, 12.0, 0.0, 8.0]
    result = backtest(_history(spend), 4)
    assert result.days_in_mape == 2
    assert result.mape == pytest.approx((0.2 / 1.2 + 0.25) / 2)
    assert result.coverage == 0.0
    none_spent = backtest(_history([0.0] * 14), 7)
    assert none_spent.mape is None
    assert none_spent.coverage == 1.0


def test_backtest_needs_enough_days_before_the_holdout() -> None:
    with pytest.raises(NotEnoughHistory, match="for 5 days; a forecast needs at least 7"):
        backtest(_history([1.0] * 12), 7)
    with pytest.raises(ValueError, match="holdout_days"):
        backtest(_history([1.0] * 12), 0)


def test_backtest_counts_missing_days_as_zero_spend() -> None:
    full = _history([10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 0.0, 18.0, 19.0, 0.0, 21.0])
    gappy = full.filter(pl.col("cost_micros") > 0)
    assert backtest(gappy, 5) == backtest(full, 5)
    assert backtest(full, 5).days_fit == 7


def test_quantile_is_scipy_stats_t_ppf_exactly() -> None:
    from pyflare_cli.analysis.cost.forecast import _quantile

    for level in (0.5, 0.8, 0.9, 0.95, 0.99):
        for dof in (1, 2, 3, 5, 13, 30, 100, 1000):
            assert _quantile(level, dof) == float(stats.t.ppf(0.5 + level / 2, dof))


def test_forecast_does_not_import_scipy_stats() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pyflare_cli.analysis.cost.forecast as f; "
        "f._quantile(0.8, 5); print('scipy.stats' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "False"
