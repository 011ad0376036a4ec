"""Daily spend and its forecast: the statistics behind ``pyflare cost forecast``.

Two parts, as DESIGN.md asks. :func:`daily_series` is the relational part, lazy Polars
turning priced spans into one row per UTC day (per group) with gaps filled with zero
spend. The rest fits one small series in NumPy/SciPy.

The model is ordinary least squares on a linear trend plus day-of-week indicators, in
dollars. LLM spend is mostly a level that drifts (traffic grows, a model changes) with a
weekly rhythm, and a linear model says so with few parameters, fits in microseconds,
explains itself, and has an exact prediction interval: the residual standard error times
``sqrt(1 + x0' (X'X)^-1 x0)`` times a t quantile, which widens as the forecast day moves
away from the days fitted.

Weekday terms start at 10 days of history. Seven weekday levels and a trend fit 7-8 days
exactly, leaving no error to measure, and 9 days with a single degree of freedom, so
before 10 days the model keeps only the trend and the weekly swing widens the interval.
From 10 days on, simulated backtests halve the error on a weekly series (MAPE 0.30 ->
0.13) at the cost of about 2 points on a series without a weekly rhythm, with coverage
near nominal in both.

Dollars, not a transformed scale: sqrt or log1p extrapolate a trend quadratically or
exponentially, so a spend growing without noise from $10 to $64 a day over four weeks is
over-forecast within 30 days by up to 45 % (sqrt) or 3.7x (log1p). They backtest the same
on flat and weekly series and only cover better when the noise grows with the level, where
the dollar interval comes out somewhat narrow (see docs/cost.md). Forecasts and bounds are
clipped at 0.

Everything is in UTC days and nothing here reads the clock: the forecast starts the day
after the last day of history, so the caller decides which days are complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import special

MICROS_PER_USD = 1_000_000
WEEKLY_MIN_DAYS = 10
"""History needed for day-of-week terms: 8 parameters and two degrees of freedom left."""

FORECAST_SCHEMA = {
    "day": pl.Date,
    "forecast_usd": pl.Float64,
    "lower_usd": pl.Float64,
    "upper_usd": pl.Float64,
}
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)

Floats = NDArray[np.float64]


class NotEnoughHistory(ValueError):
    """The series is too short to forecast."""

    def __init__(self, days: int, needed: int) -> None:
        self.days = days
        self.needed = needed
        have = "no days" if days == 0 else f"{days} day" + ("" if days == 1 else "s")
        super().__init__(
            f"There is spend history for {have}; a forecast needs at least {needed} days."
        )


def daily_series(costs: pl.LazyFrame, by: str | None = None) -> pl.LazyFrame:
    """Spend per UTC day (per value of ``by``): ``[by,] day, cost_micros``.

    ``costs`` has ``start_time`` (UTC) and ``cost_micros`` (null when a span is unpriced);
    ``cost_micros`` is the day's sum over priced spans. Days without spans between a
    group's first and last day are zero rows, so each series is contiguous. A null ``by``
    value is a group of its own.
    """
    keys = [by] if by else []
    daily = costs.group_by(*keys, pl.col("start_time").dt.date().alias("day")).agg(
        pl.col("cost_micros").sum().cast(pl.Int64)
    )
    span = [pl.col("day").min().alias("first"), pl.col("day").max().alias("last")]
    bounds = daily.group_by(keys).agg(span) if keys else daily.select(span)
    grid = bounds.select(
        *keys, pl.date_ranges("first", "last", interval="1d").alias("day")
    ).explode("day")
    return (
        grid.join(daily, on=[*keys, "day"], how="left", nulls_equal=True)
        .with_columns(pl.col("cost_micros").fill_null(0))
        .sort([*keys, "day"], nulls_last=True)
    )


@dataclass(frozen=True)
class _Fit:
    origin: int
    """The first history day, in days since 1970-01-01."""
    days: int
    weekly: bool
    beta: Floats
    xtx_inv: Floats
    sigma: float
    dof: int


def _design(origin: int, t: NDArray[np.int64], weekly: bool) -> Floats:
    columns = [np.ones(len(t)), t.astype(np.float64)]
    if weekly:
        weekday = (origin + t + _EPOCH_WEEKDAY) % 7
        columns += [(weekday == d).astype(np.float64) for d in range(1, 7)]
    return np.column_stack(columns)


def _dollars(history: pl.DataFrame) -> tuple[int, Floats]:
    """The first day and the daily dollars from it to the last day (missing days are 0)."""
    if history.height == 0:
        return 0, np.zeros(0)
    epoch_days = history.get_column("day").cast(pl.Date).cast(pl.Int64).to_numpy()
    micros = history.get_column("cost_micros").fill_null(0).cast(pl.Float64).to_numpy()
    origin = int(epoch_days.min())
    dollars = np.zeros(int(epoch_days.max()) - origin + 1)
    np.add.at(dollars, epoch_days - origin, micros / MICROS_PER_USD)
    return origin, dollars


def _fit(origin: int, y: Floats, min_days: int) -> _Fit:
    needed = max(min_days, 3)  # a trend and a residual error need three days at least
    if len(y) < needed:
        raise NotEnoughHistory(len(y), needed)
    weekly = len(y) >= WEEKLY_MIN_DAYS
    x = _design(origin, np.arange(len(y)), weekly)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    dof = len(y) - x.shape[1]
    residuals = y - x @ beta
    sigma = float(np.sqrt(residuals @ residuals / dof))
    xtx_inv = np.linalg.pinv(x.T @ x).astype(np.float64)
    return _Fit(origin, len(y), weekly, beta.astype(np.float64), xtx_inv, sigma, dof)


def _check(days: int, level: float, name: str = "horizon_days") -> None:
    if days < 1:
        raise ValueError(f"{name} must be at least 1, not {days}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")


def _future(fit: _Fit, horizon_days: int) -> Floats:
    return _design(fit.origin, np.arange(fit.days, fit.days + horizon_days), fit.weekly)


def _predict(fit: _Fit, horizon_days: int, level: float) -> tuple[Floats, Floats, Floats]:
    """Point forecast, lower and upper bound for each of the next ``horizon_days``."""
    x0 = _future(fit, horizon_days)
    mean = x0 @ fit.beta
    leverage = np.einsum("ij,jk,ik->i", x0, fit.xtx_inv, x0)
    half = _quantile(level, fit.dof) * fit.sigma * np.sqrt(1.0 + leverage)
    zero = np.zeros_like(mean)
    return np.maximum(mean, zero), np.maximum(mean - half, zero), np.maximum(mean + half, zero)


def _quantile(level: float, dof: int) -> float:
    """Student's t quantile: ``scipy.special.stdtrit``, which is what ``stats.t.ppf``
    calls, without importing ``scipy.stats`` (0.7 s at command time)."""
    return float(special.stdtrit(dof, 0.5 + level / 2))


def forecast_daily(
    history: pl.DataFrame, horizon_days: int, *, level: float = 0.8, min_days: int = 7
) -> pl.DataFrame:
    """Spend forecast for the ``horizon_days`` after the last day of ``history``.

    ``history`` is one series, ``day`` and ``cost_micros`` (see :func:`daily_series`;
    missing days count as zero spend). Returns ``day, forecast_usd, lower_usd, upper_usd``,
    one row per day, the bounds a ``level`` prediction interval for that day's spend.
    The daily bounds are not to be summed into bounds of a total: see
    :func:`forecast_total`. Raises :class:`NotEnoughHistory` below ``min_days`` days.
    """
    _check(horizon_days, level)
    fit = _fit(*_dollars(history), min_days)
    forecast, lower, upper = _predict(fit, horizon_days, level)
    first = date(1970, 1, 1) + timedelta(days=fit.origin + fit.days)
    return pl.DataFrame(
        {
            "day": pl.date_range(first, first + timedelta(days=horizon_days - 1), eager=True),
            "forecast_usd": forecast,
            "lower_usd": lower,
            "upper_usd": upper,
        },
        schema=FORECAST_SCHEMA,
    )


@dataclass(frozen=True)
class Total:
    """Forecast spend over a whole horizon, with its prediction interval."""

    days: int
    forecast_usd: float
    lower_usd: float
    upper_usd: float


def forecast_total(
    history: pl.DataFrame, horizon_days: int, *, level: float = 0.8, min_days: int = 7
) -> Total:
    """Total spend over the next ``horizon_days``, e.g. to hold against a budget.

    The forecast is the sum of :func:`forecast_daily`'s; the interval comes from the
    variance of the sum (the days share one fitted trend, so their errors are
    correlated), which the sum of the daily bounds would overstate.
    """
    _check(horizon_days, level)
    fit = _fit(*_dollars(history), min_days)
    daily, _, _ = _predict(fit, horizon_days, level)
    x0 = _future(fit, horizon_days)
    mean = float((x0 @ fit.beta).sum())
    summed = x0.sum(axis=0)
    spread = fit.sigma * np.sqrt(horizon_days + summed @ fit.xtx_inv @ summed)
    half = _quantile(level, fit.dof) * float(spread)
    forecast = float(daily.sum())
    # Clipping negative days at zero can move the point above the unclipped sum.
    lower = min(max(mean - half, 0.0), forecast)
    return Total(horizon_days, forecast, lower, max(mean + half, forecast))


@dataclass(frozen=True)
class Skipped:
    """A group left out of :func:`forecast_groups` for too short a history."""

    group: object
    days: int
    needed: int


@dataclass(frozen=True)
class GroupForecasts:
    """Forecasts of several series: ``[by,] day, forecast_usd, lower_usd, upper_usd``."""

    forecasts: pl.DataFrame
    skipped: list[Skipped]


def forecast_groups(
    series: pl.DataFrame,
    by: str,
    horizon_days: int,
    *,
    level: float = 0.8,
    min_days: int = 7,
) -> GroupForecasts:
    """:func:`forecast_daily` for each value of ``by`` in ``series`` (``by, day, cost_micros``).

    Every group is forecast from the same day: the day after the last day of the whole
    ``series``. A group whose spend stopped earlier is extended with zero-spend days up to
    that last day, since it spent nothing on them. Groups with fewer than ``min_days``
    days are left out and listed in ``skipped``. Groups come out sorted, null last.
    """
    _check(horizon_days, level)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {by: series.schema[by]}
    schema.update(FORECAST_SCHEMA)
    if series.height == 0:
        return GroupForecasts(pl.DataFrame(schema=schema), [])
    last = series.get_column("day").max()
    frames, skipped = [], []
    for (group,), part in sorted(
        series.partition_by(by, as_dict=True).items(),
        key=lambda item: (item[0][0] is None, item[0][0]),
    ):
        own = part.select("day", "cost_micros")
        padded = pl.concat([own, pl.DataFrame([[last], [0]], schema=own.schema, orient="col")])
        try:
            forecast = forecast_daily(padded, horizon_days, level=level, min_days=min_days)
        except NotEnoughHistory as short:
            skipped.append(Skipped(group, short.days, short.needed))
            continue
        frames.append(forecast.select(pl.lit(group, series.schema[by]).alias(by), pl.all()))
    forecasts = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return GroupForecasts(forecasts, skipped)


@dataclass(frozen=True)
class Backtest:
    """How a forecast fitted on the start of a series did on the days after it.

    ``coverage`` is the share of tested days whose actual spend fell inside the interval
    (compare it with the level). ``mape`` is the mean absolute percentage error as a
    fraction (0.08 is 8 %), over the tested days with non-zero spend only, since a
    percentage of zero is undefined; it is None when every tested day spent nothing.
    """

    level: float
    coverage: float
    mape: float | None
    days_fit: int
    days_tested: int
    days_in_mape: int


def backtest(
    history: pl.DataFrame, holdout_days: int, *, level: float = 0.8, min_days: int = 7
) -> Backtest:
    """Fit on all but the last ``holdout_days`` of ``history`` and score the forecast.

    A day is inside the interval to the micro-dollar, the resolution of the costs.
    """
    _check(holdout_days, level, "holdout_days")
    origin, dollars = _dollars(history)
    days_fit = max(len(dollars) - holdout_days, 0)
    fit = _fit(origin, dollars[:days_fit], min_days)
    forecast, lower, upper = _predict(fit, holdout_days, level)
    actual = dollars[days_fit:]
    tolerance = 0.5 / MICROS_PER_USD
    inside = (actual >= lower - tolerance) & (actual <= upper + tolerance)
    spent = actual > 0
    errors = np.abs(forecast[spent] - actual[spent]) / actual[spent]
    return Backtest(
        level=level,
        coverage=float(inside.mean()),
        mape=float(errors.mean()) if spent.any() else None,
        days_fit=days_fit,
        days_tested=holdout_days,
        days_in_mape=int(spent.sum()),
    )
