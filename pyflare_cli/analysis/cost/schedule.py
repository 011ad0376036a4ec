"""A model's price schedule: which rates apply to a call, by date, time of day and size.

Prices are not one number per model. genai-prices knows that a model's price changed on
a date, that some providers charge less off-peak (a daily UTC window) and that long
prompts cross a tier (claude-sonnet-4-5 and gemini-2.5-pro charge every token of a call
with more than 200k input tokens at the long-context rate). A schedule is a list of
*bands* that never overlap: each says from when until when, in which window of the day
and for which input size its rates apply, so every call falls in exactly one band and the
cost of a whole store is one join and one filter (see :mod:`pricing`).

The bands of a genai-prices model are built by asking the package itself which price is
in force at a representative instant of each date interval and day window
(``ModelInfo.get_prices``), and which tier a representative input size falls in, so
pyflare follows genai-prices' own rules (the last active conditional price wins; a tier
applies when the call's input tokens exceed its start, to all tokens of the call).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pyflare_cli.analysis.cost.price_rules import Rates

RATE_SCALE = 10**12
"""Token rates are kept as USD per million tokens x 10^12 (atto-dollars per token)."""
REQUEST_SCALE = 10**18
"""A per-request fee is kept as USD x 10^18 (atto-dollars)."""
DAY_US = 86_400_000_000


@dataclass(frozen=True)
class BandRates:
    """Atto-dollars per token (and per request): exact for every price genai-prices lists."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    reasoning: int
    request: int = 0

    @classmethod
    def from_rates(cls, rates: Rates) -> BandRates:
        """Configured rates (micro-dollars per million tokens) at this finer scale."""
        up = RATE_SCALE // 10**6
        return cls(
            rates.input * up,
            rates.output * up,
            rates.cache_read * up,
            rates.cache_write * up,
            rates.reasoning * up,
        )

    def per_million_usd(self) -> dict[str, Decimal]:
        out = {
            f.name: Decimal(getattr(self, f.name)) / RATE_SCALE
            for f in fields(self)
            if f.name != "request"
        }
        if self.request:
            out["request"] = Decimal(self.request) / REQUEST_SCALE
        return out


@dataclass(frozen=True)
class Band:
    """One price in force: its rates and where they apply (None: no bound)."""

    rates: BandRates | None
    """None: no price is known here (before a model's first dated price)."""
    source: str
    since: datetime | None = None
    until: datetime | None = None
    day_from_us: int | None = None
    """Start of the daily UTC window, microseconds after midnight (inclusive)."""
    day_to_us: int | None = None
    """End of the daily UTC window (exclusive)."""
    above: int | None = None
    """The band applies to calls with more input tokens than this (a tier's start)."""
    upto: int | None = None
    """... and at most this many."""

    def conditions(self) -> str:
        """When this band applies, in words: '' when always."""
        parts = []
        if self.since is not None:
            parts.append(f"from {self.since.date().isoformat()}")
        if self.until is not None:
            parts.append(f"until {self.until.date().isoformat()}")
        if self.day_from_us is not None and self.day_to_us is not None:
            parts.append(f"{_clock(self.day_from_us)}-{_clock(self.day_to_us)} UTC")
        if self.above is not None and self.above >= 0:
            parts.append(f"input > {self.above:,} tokens")
        elif self.upto is not None:
            parts.append(f"input <= {self.upto:,} tokens")
        return ", ".join(parts)


def _clock(us: int) -> str:
    minutes = us // 60_000_000
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _scaled(price: Decimal, scale: int) -> int:
    return int((Decimal(price) * scale).to_integral_value())


_TOKEN_KEYS = {
    "input": ("input_mtok",),
    "output": ("output_mtok",),
    # A unit without its own price stays inside its parent (genai-prices' leaf values).
    "cache_read": ("cache_read_mtok", "input_mtok"),
    "cache_write": ("cache_write_mtok", "input_mtok"),
    "reasoning": ("output_reasoning_mtok", "output_mtok"),
}


def _value(model_price: Any, key: str) -> Any:
    return model_price.__dict__.get(key)


def _at(price: Any, input_tokens: int) -> Decimal:
    """A price at a call of ``input_tokens``: the highest tier whose start it exceeds."""
    from genai_prices.types import TieredPrices

    if isinstance(price, TieredPrices):
        chosen = price.base
        for tier in sorted(price.tiers, key=lambda t: t.start):
            if input_tokens > tier.start:
                chosen = tier.price
        return Decimal(chosen)
    return Decimal(price)


def _thresholds(model_price: Any) -> list[int]:
    from genai_prices.types import TieredPrices

    keys = {key for keys in _TOKEN_KEYS.values() for key in keys} | {"requests_kcount"}
    starts = {
        tier.start
        for key in keys
        if isinstance(value := _value(model_price, key), TieredPrices)
        for tier in value.tiers
    }
    return sorted(starts)


def _rates(model_price: Any, input_tokens: int) -> BandRates:
    out: dict[str, int] = {}
    for name, keys in _TOKEN_KEYS.items():
        price = next((v for k in keys if (v := _value(model_price, k)) is not None), None)
        out[name] = 0 if price is None else _scaled(_at(price, input_tokens), RATE_SCALE)
    fee = _value(model_price, "requests_kcount")
    request = 0 if fee is None else _scaled(_at(fee, input_tokens) / 1000, REQUEST_SCALE)
    return BandRates(**out, request=request)


def _day_us(value: time) -> int:
    if value.tzinfo is not None:
        value = datetime.combine(date(1970, 1, 2), value).astimezone(UTC).time()
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 10**6 + value.microsecond


def genai_bands(info: Any, source: str) -> tuple[Band, ...]:
    """Non-overlapping bands that price every call of a genai-prices ``ModelInfo``."""
    from genai_prices.types import ModelPrice, StartDateConstraint, TimeOfDateConstraint

    conditional = [] if isinstance(info.prices, ModelPrice) else list(info.prices)
    dates = sorted(
        {
            c.constraint.start_date
            for c in conditional
            if isinstance(c.constraint, StartDateConstraint)
        }
    )
    cuts = {0, DAY_US}
    for c in conditional:
        if isinstance(c.constraint, TimeOfDateConstraint):
            cuts |= {_day_us(c.constraint.start_time), _day_us(c.constraint.end_time)}
    day = sorted(cuts)
    starts: list[datetime | None] = [None] + [datetime.combine(d, time(), UTC) for d in dates]
    bands: list[Band] = []
    for i, since in enumerate(starts):
        until = starts[i + 1] if i + 1 < len(starts) else None
        first_day = since or (
            (until - timedelta(days=1)) if until else datetime(2000, 1, 1, tzinfo=UTC)
        )
        segments: list[tuple[int, int, Any]] = []
        for lo, hi in itertools.pairwise(day):
            price = info.get_prices(first_day + timedelta(microseconds=lo))
            if segments and segments[-1][2] == price:
                segments[-1] = (segments[-1][0], hi, price)
            else:
                segments.append((lo, hi, price))
        whole_day = len(segments) == 1
        for lo, hi, price in segments:
            tiers = [-1, *_thresholds(price)]
            for j, above in enumerate(tiers):
                upto = tiers[j + 1] if j + 1 < len(tiers) else None
                bands.append(
                    Band(
                        _rates(price, above + 1),
                        source,
                        since,
                        until,
                        None if whole_day else lo,
                        None if whole_day else hi,
                        None if len(tiers) == 1 else above,
                        upto,
                    )
                )
    return tuple(bands)


def rule_bands(dated: list[tuple[datetime | None, BandRates, str]]) -> tuple[Band, ...]:
    """Bands of configured prices: each from its date (None: always) until the next one.

    Before the first dated price, when no undated one exists, a band without rates says
    that nothing is known there, so such calls are unpriced rather than dropped.
    """
    by_start: dict[datetime | None, tuple[BandRates, str]] = {}
    for since, rates, source in dated:
        by_start.setdefault(since, (rates, source))
    ordered = sorted(by_start.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0))
    bands: list[Band] = []
    if ordered and ordered[0][0] is not None:
        bands.append(Band(None, "no price before the first dated rule", None, ordered[0][0]))
    for i, (since, (rates, source)) in enumerate(ordered):
        until = ordered[i + 1][0] if i + 1 < len(ordered) else None
        bands.append(Band(rates, source, since, until))
    return tuple(bands)
