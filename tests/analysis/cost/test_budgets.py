"""Budgets: calendar periods in a time zone, exact micro-dollar spend, projection, status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pyflare_cli.analysis.cost.budgets import (
    STATUS_SCHEMA,
    Budget,
    Period,
    breaches,
    evaluate_budgets,
    first_needed,
    period_bounds,
)

NOW = datetime(2025, 5, 10, 12, tzinfo=UTC)  # a Saturday, noon UTC
USD = 1_000_000


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime."""
    return (moment - utc(1970, 1, 1)) // timedelta(microseconds=1) * 1_000


def spans(*rows: tuple[datetime | int, int | None, str | None]) -> pl.LazyFrame:
    """Spans of (start as a datetime or epoch ns, cost_micros, model)."""
    starts = [ns(s) if isinstance(s, datetime) else s for s, _, _ in rows]
    return pl.LazyFrame(
        {
            "start_time": pl.Series(starts, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
            "cost_micros": pl.Series([c for _, c, _ in rows], dtype=pl.Int64),
            "model": pl.Series([m for _, _, m in rows], dtype=pl.String),
            "request_model": pl.Series([None] * len(rows), dtype=pl.String),  # model: reads both
        }
    )


def budget(period: Period = "day", limit_usd: int = 100, **fields: Any) -> Budget:
    return Budget(
        name=fields.pop("name", "b"), period=period, limit_micros=limit_usd * USD, **fields
    )


def row(frame: pl.LazyFrame, one: Budget, now: datetime = NOW, **kw: Any) -> dict[str, Any]:
    result = evaluate_budgets(frame, [one], now, **kw)
    assert result.height == 1
    return result.row(0, named=True)


# --- period bounds ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "now", "tz", "start", "end"),
    [
        ("day", NOW, "UTC", utc(2025, 5, 10), utc(2025, 5, 11)),
        ("day", utc(2025, 5, 10), "UTC", utc(2025, 5, 10), utc(2025, 5, 11)),
        # weeks start on Monday: a Sunday night and the Monday it ends at
        ("week", utc(2025, 5, 11, 23, 59, 59), "UTC", utc(2025, 5, 5), utc(2025, 5, 12)),
        ("week", utc(2025, 5, 12), "UTC", utc(2025, 5, 12), utc(2025, 5, 19)),
        ("week", utc(2024, 12, 31), "UTC", utc(2024, 12, 30), utc(2025, 1, 6)),
        # month ends: leap and common February, 31-day months, December
        ("month", utc(2024, 2, 29, 23, 59), "UTC", utc(2024, 2, 1), utc(2024, 3, 1)),
        ("month", utc(2025, 2, 14), "UTC", utc(2025, 2, 1), utc(2025, 3, 1)),
        ("month", utc(2025, 1, 31, 23, 59), "UTC", utc(2025, 1, 1), utc(2025, 2, 1)),
        ("month", utc(2025, 3, 31), "UTC", utc(2025, 3, 1), utc(2025, 4, 1)),
        ("month", utc(2025, 4, 30, 12), "UTC", utc(2025, 4, 1), utc(2025, 5, 1)),
        ("month", utc(2025, 12, 31, 12), "UTC", utc(2025, 12, 1), utc(2026, 1, 1)),
        # Europe/Paris: local midnight is 23:00Z in winter, 22:00Z in summer
        (
            "day",
            utc(2025, 3, 29, 22, 59),
            "Europe/Paris",
            utc(2025, 3, 28, 23),
            utc(2025, 3, 29, 23),
        ),
        ("day", utc(2025, 3, 29, 23), "Europe/Paris", utc(2025, 3, 29, 23), utc(2025, 3, 30, 22)),
        (
            "day",
            utc(2025, 10, 26, 12),
            "Europe/Paris",
            utc(2025, 10, 25, 22),
            utc(2025, 10, 26, 23),
        ),
        ("month", utc(2025, 3, 31, 21), "Europe/Paris", utc(2025, 2, 28, 23), utc(2025, 3, 31, 22)),
        ("month", utc(2025, 3, 31, 22), "Europe/Paris", utc(2025, 3, 31, 22), utc(2025, 4, 30, 22)),
        # America/Los_Angeles: still February there at 07:00Z on 1 March
        (
            "month",
            utc(2025, 3, 1, 7),
            "America/Los_Angeles",
            utc(2025, 2, 1, 8),
            utc(2025, 3, 1, 8),
        ),
        (
            "week",
            utc(2025, 3, 9, 12),
            "America/Los_Angeles",
            utc(2025, 3, 3, 8),
            utc(2025, 3, 10, 7),
        ),
        (
            "day",
            utc(2025, 11, 2, 12),
            "America/Los_Angeles",
            utc(2025, 11, 2, 7),
            utc(2025, 11, 3, 8),
        ),
        # Santiago skips its local midnight: the day starts when the clocks jump to 01:00
        ("day", utc(2024, 9, 8, 12), "America/Santiago", utc(2024, 9, 8, 4), utc(2024, 9, 9, 3)),
    ],
)
def test_period_bounds(
    period: Period, now: datetime, tz: str, start: datetime, end: datetime
) -> None:
    assert period_bounds(period, now, tz) == (start, end)


def test_dst_days_last_23_and_25_hours() -> None:
    def hours(day: datetime, tz: str) -> float:
        start, end = period_bounds("day", day, tz)
        return (end - start) / timedelta(hours=1)

    assert hours(utc(2025, 3, 30, 12), "Europe/Paris") == 23
    assert hours(utc(2025, 10, 26, 12), "Europe/Paris") == 25
    assert hours(utc(2025, 3, 9, 20), "America/Los_Angeles") == 23
    assert hours(utc(2025, 11, 2, 20), "America/Los_Angeles") == 25
    assert hours(utc(2025, 7, 1), "Europe/Paris") == 24


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", "America/Los_Angeles", "America/Santiago"])
@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_periods_tile_time_without_gap_or_overlap(period: Period, tz: str) -> None:
    moment, stop = utc(2024, 1, 1), utc(2025, 1, 8)
    while moment < stop:
        start, end = period_bounds(period, moment, tz)
        assert start <= moment < end
        assert start.tzinfo == UTC and end.tzinfo == UTC
        local = start.astimezone(ZoneInfo(tz))
        assert (local.hour, local.minute) in ((0, 0), (1, 0))  # 01:00 when midnight is skipped
        if period == "month":
            assert local.day == 1
        if period == "week":
            assert local.weekday() == 0
        assert period_bounds(period, end, tz)[0] == end  # the next period starts at this end
        moment += timedelta(hours=5, minutes=17)


def test_naive_now_is_utc_and_tzinfo_objects_are_accepted() -> None:
    naive = datetime(2025, 5, 10, 12)
    assert period_bounds("day", naive) == (utc(2025, 5, 10), utc(2025, 5, 11))
    assert period_bounds("day", NOW, ZoneInfo("Asia/Tokyo")) == (
        utc(2025, 5, 9, 15),
        utc(2025, 5, 10, 15),
    )


def test_unknown_period_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown period 'year'"):
        period_bounds("year", NOW)  # type: ignore[arg-type]


# --- spend in the period ----------------------------------------------------------------


def test_spend_is_an_exact_integer_sum() -> None:
    # Ten $0.10 spans: a float sum would give 0.9999999999999999.
    frame = spans(*[(NOW - timedelta(minutes=i), 100_000, "m") for i in range(10)], (NOW, 1, "m"))
    result = row(frame, budget())
    assert result["spent_micros"] == 1_000_001
    assert result["spent_usd"] == 1.000001
    assert result["unpriced_spans"] == 0


def test_day_boundaries_to_the_nanosecond() -> None:
    midnight, next_midnight = ns(utc(2025, 5, 10)), ns(utc(2025, 5, 11))
    frame = spans(
        (midnight - 1, 1, "m"),  # 23:59:59.999999999 the day before: out
        (midnight, 10, "m"),  # 00:00 today: in
        (next_midnight - 1, 100, "m"),  # 23:59:59.999999999 today: in
        (next_midnight, 1_000, "m"),  # 00:00 tomorrow: out
    )
    assert row(frame, budget())["spent_micros"] == 110


def test_week_starts_monday_and_month_ends() -> None:
    monday = utc(2025, 5, 5)
    frame = spans(
        (ns(monday) - 1, 1, "m"),  # Sunday 4 May 23:59:59.999999999
        (monday, 10, "m"),
        (utc(2025, 5, 1), 100, "m"),  # same month, previous week
        (utc(2025, 4, 30, 23, 59, 59, 999999), 1_000, "m"),
    )
    assert row(frame, budget("week"))["spent_micros"] == 10
    assert row(frame, budget("month"))["spent_micros"] == 111

    february = spans(
        (utc(2024, 1, 31, 23, 59, 59, 999999), 1, "m"),
        (utc(2024, 2, 1), 10, "m"),
        (utc(2024, 2, 29, 23, 59, 59, 999999), 100, "m"),
        (utc(2024, 3, 1), 1_000, "m"),
    )
    result = row(february, budget("month"), now=utc(2024, 2, 29, 12))
    assert (result["spent_micros"], result["period_end"]) == (110, utc(2024, 3, 1))
    january = row(february, budget("month"), now=utc(2024, 1, 31, 23, 59, 59))
    assert (january["spent_micros"], january["period_start"]) == (1, utc(2024, 1, 1))


def test_a_paris_day_across_the_spring_dst_change() -> None:
    now = utc(2025, 3, 30, 12)
    frame = spans(
        (utc(2025, 3, 29, 22, 59, 59), 1, "m"),  # 23:59:59 CET on the 29th
        (utc(2025, 3, 29, 23), 10, "m"),  # 00:00 CET on the 30th
        (utc(2025, 3, 30, 21, 59, 59), 100, "m"),  # 23:59:59 CEST on the 30th
        (utc(2025, 3, 30, 22), 1_000, "m"),  # 00:00 CEST on the 31st
    )
    paris = row(frame, budget(timezone="Europe/Paris"), now)
    assert paris["spent_micros"] == 110
    assert paris["period_end"] - paris["period_start"] == timedelta(hours=23)
    assert paris["timezone"] == "Europe/Paris"
    assert row(frame, budget(), now)["spent_micros"] == 1_100  # the UTC day


def test_los_angeles_month() -> None:
    now = utc(2025, 3, 1, 7)  # 23:00 PST on 28 February
    frame = spans(
        (utc(2025, 2, 1, 7, 59, 59), 1, "m"),  # 31 January, local
        (utc(2025, 2, 1, 8), 10, "m"),
        (utc(2025, 3, 1, 7, 59, 59), 100, "m"),
        (utc(2025, 3, 1, 8), 1_000, "m"),  # 1 March, local
    )
    assert row(frame, budget("month", timezone="America/Los_Angeles"), now)["spent_micros"] == 110


def test_where_scopes_the_budget_and_unpriced_spans_are_counted() -> None:
    frame = spans(
        (NOW - timedelta(hours=1), 2_000_000, "gpt-4o"),
        (NOW - timedelta(hours=2), 3_000_000, "gpt-4o-mini"),
        (NOW - timedelta(hours=3), None, "gpt-4o"),  # unpriced, in scope
        (NOW - timedelta(hours=4), 7_000_000, "claude-sonnet-4"),
        (NOW - timedelta(hours=5), None, "claude-sonnet-4"),  # unpriced, out of scope
        (NOW - timedelta(days=2), None, "gpt-4o"),  # unpriced, out of the period
    )
    budgets = [budget(name="gpt", where="model:gpt-4o*"), budget(name="all")]
    result = evaluate_budgets(frame, budgets, NOW)
    assert result.select("name", "scope", "spent_micros", "unpriced_spans").rows() == [
        ("gpt", "model:gpt-4o*", 5_000_000, 1),
        ("all", "all", 12_000_000, 2),
    ]


def test_a_where_on_cost_uses_the_micro_dollars() -> None:
    frame = spans((NOW, 20_000, "m"), (NOW, 5_000, "m"), (NOW, None, "m"))
    assert row(frame, budget(where="cost:>0.01"))["spent_micros"] == 20_000


def test_no_spans_and_no_budgets() -> None:
    empty = spans()
    result = row(empty, budget())
    assert (result["spent_micros"], result["projected_micros"], result["status"]) == (0, 0, "ok")
    assert_frame_equal(evaluate_budgets(empty, [], NOW), pl.DataFrame(schema=STATUS_SCHEMA))


def test_the_frame_has_one_row_per_budget_in_order_with_the_documented_schema() -> None:
    frame = spans((NOW - timedelta(hours=1), 30 * USD, "m"))
    budgets = [
        budget("month", 500, name="monthly-total"),
        budget("day", 20, name="gpt-4o-daily", where="model:m", timezone="Europe/Paris"),
    ]
    result = evaluate_budgets(frame, budgets, NOW)
    assert result.schema == pl.Schema(STATUS_SCHEMA)
    assert result["name"].to_list() == ["monthly-total", "gpt-4o-daily"]
    assert result["period_start"].to_list() == [utc(2025, 5, 1), utc(2025, 5, 9, 22)]
    assert result["limit_usd"].to_list() == [500.0, 20.0]
    assert result["share"].to_list() == [0.06, 1.5]
    assert result["status"].to_list() == ["ok", "exceeded"]


# --- projection and status --------------------------------------------------------------


def test_projection_extrapolates_the_last_7_days() -> None:
    # $7 over the last 7 days -> $1/day; 12 hours of today remain -> +$0.50.
    frame = spans(
        (NOW - timedelta(days=6, hours=23), 5 * USD, "m"),
        (NOW - timedelta(days=7, seconds=1), 100 * USD, "m"),  # older than 7 days: ignored
        (NOW - timedelta(hours=1), 2 * USD, "m"),  # today: in spent and in the rate
    )
    result = row(frame, budget("day", 10))
    assert result["spent_micros"] == 2 * USD
    assert result["projected_micros"] == 2_500_000
    assert result["projected_usd"] == 2.5
    # The week (Monday 5 to Monday 12 May) has spent $2; 1.5 days left at $1/day.
    assert row(frame, budget("week", 10))["projected_micros"] == 2 * USD + 1_500_000


def test_projection_rounds_down_to_a_micro_dollar() -> None:
    frame = spans((NOW - timedelta(hours=1), 1, "m"))  # 1 micro-dollar per week
    result = row(frame, budget("day", 10))
    assert result["projected_micros"] == 1  # + 1 x 12h / 168h, rounded down


def test_history_start_shortens_the_rate_window() -> None:
    frame = spans((NOW - timedelta(hours=1), 2 * USD, "m"))
    # The store holds 2 days: $2 over 2 days is $1/day, so +$0.50 for the 12 hours left.
    result = row(frame, budget("day", 10), history_start=NOW - timedelta(days=2))
    assert result["projected_micros"] == 2_500_000
    # Over the full 7 days it would be 2 x 12 / 168.
    assert row(frame, budget("day", 10))["projected_micros"] == 2 * USD + 2 * USD * 12 // 168
    # No history at all: no rate, the projection is what was spent.
    assert row(frame, budget("day", 10), history_start=NOW)["projected_micros"] == 2 * USD


@pytest.mark.parametrize(
    ("today", "earlier", "limit", "warn_at", "status"),
    [
        (1 * USD, 0, 10, 0.8, "ok"),
        (8 * USD, 0, 10, 0.8, "warn"),  # exactly 80%
        (8 * USD - 1, 0, 10, 0.8, "ok"),
        (5 * USD, 0, 10, 0.5, "warn"),
        (10 * USD, 0, 10, 0.8, "projected"),  # at the limit is not over it, yet
        (10 * USD + 1, 0, 10, 0.8, "exceeded"),
        (20 * USD, 0, 10, 0.8, "exceeded"),
        # $6 today + ($6 + $42) over 7 days -> $48/7d x 12h = $3.43 -> $9.43: ok
        (6 * USD, 42 * USD, 10, 0.8, "ok"),
        # $6 today + ($6 + $50) over 7 days -> $4 for the 12h left -> $10: not over
        (6 * USD, 50 * USD, 10, 0.8, "ok"),
        # ... one micro-dollar more of history -> projected over the limit
        (6 * USD, 50 * USD + 14, 10, 0.8, "projected"),
        # projected beats warn
        (9 * USD, 42 * USD, 10, 0.8, "projected"),
    ],
)
def test_status(today: int, earlier: int, limit: int, warn_at: float, status: str) -> None:
    frame = spans((NOW - timedelta(hours=1), today, "m"), (NOW - timedelta(days=3), earlier, "m"))
    result = row(frame, budget("day", limit, warn_at=warn_at))
    assert result["status"] == status
    assert result["share"] == today / (limit * USD)


# --- breach lines -----------------------------------------------------------------------


def status_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    base = {"name": "b", "period": "day", "unpriced_spans": 0, "projected_micros": 0}
    return pl.DataFrame([base | r for r in rows])


def test_breach_lines() -> None:
    frame = status_frame(
        [
            {
                "name": "gpt-4o-daily",
                "spent_micros": 23_100_000,
                "limit_micros": 20 * USD,
                "status": "exceeded",
            },
            {"name": "quiet", "spent_micros": 1, "limit_micros": 20 * USD, "status": "ok"},
            {
                "name": "monthly-total",
                "period": "month",
                "spent_micros": 400 * USD,
                "limit_micros": 500 * USD,
                "projected_micros": 612_345_678,
                "status": "projected",
            },
            {
                "name": "weekly",
                "period": "week",
                "spent_micros": 1_234_567_890,
                "limit_micros": 1_000 * USD,
                "unpriced_spans": 3,
                "status": "exceeded",
            },
            {"name": "near", "spent_micros": 17 * USD, "limit_micros": 20 * USD, "status": "warn"},
        ]
    )
    assert breaches(frame) == [
        "gpt-4o-daily: spent $23.10 of $20.00 (+$3.10, 116%) today",
        "weekly: spent $1,234.57 of $1,000.00 (+$234.57, 123%) this week; "
        "3 unpriced spans not counted",
    ]
    assert breaches(frame, ("projected", "warn")) == [
        "monthly-total: on track to spend $612.35 of $500.00 (+$112.35, 122%) this month",
        "near: spent $17.00 of $20.00 (85%) today",
    ]


def test_breaches_of_an_evaluated_frame() -> None:
    frame = spans((NOW, 23_100_000, "gpt-4o"), (NOW, None, "gpt-4o"))
    result = evaluate_budgets(frame, [budget("day", 20, name="gpt-4o-daily")], NOW)
    assert breaches(result) == [
        "gpt-4o-daily: spent $23.10 of $20.00 (+$3.10, 116%) today; 1 unpriced span not counted"
    ]
    assert breaches(result.with_columns(status=pl.lit("ok"))) == []


def test_only_spans_with_tokens_count_as_unpriced() -> None:
    from datetime import UTC, datetime

    from pyflare_cli.analysis.cost.budgets import Budget, evaluate_budgets

    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    spans = pl.DataFrame(
        {
            "start_time": [now] * 3,
            "cost_micros": [5, None, None],
            "input_tokens": [10, 10, None],  # priced, unpriced, a tool span without usage
            "output_tokens": [1, 1, None],
        },
        schema_overrides={"start_time": pl.Datetime("ns", "UTC"), "cost_micros": pl.Int64},
    ).lazy()
    status = evaluate_budgets(spans, [Budget("b", "day", 1_000_000)], now)
    assert status.item(0, "unpriced_spans") == 1


def test_first_needed_covers_every_period_and_the_rate_window() -> None:
    assert first_needed([], NOW) == NOW - timedelta(days=7)
    day = Budget("d", "day", USD)
    assert first_needed([day], NOW) == NOW - timedelta(days=7)
    month = Budget("m", "month", USD, timezone="Europe/Paris")
    assert first_needed([day, month], NOW) == utc(2025, 4, 30, 22)  # May 1st in Paris
