"""Price rules: which model names a price applies to, from where, and since when.

Prices are kept as integer micro-dollars per million tokens, so that a span's cost is an
exact integer number of micro-dollars (``tokens * rate // 1_000_000``, rounded half up)
and sums are exact. Rules come from three sources, tried in this order:

1. ``prices:`` in ``pyflare.yaml`` (exact name, prefix or regex; optional provider and
   effective-from date),
2. a LiteLLM ``model_prices_and_context_window.json`` given with ``--prices``,
3. the ``genai-prices`` package (offline, pinned with pyflare).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pyflare_cli.errors import UsageError

Match = Literal["exact", "prefix", "regex"]
MICROS = 1_000_000
RATE_KEYS = ("input", "output", "cache_read", "cache_write", "reasoning")


@dataclass(frozen=True)
class Rates:
    """Micro-dollars per million tokens: $2.50 per million tokens is ``2_500_000``.

    ``reasoning`` defaults to ``output`` and the cache rates to ``input`` when a source
    does not price them separately.
    """

    input: int
    output: int
    cache_read: int
    cache_write: int
    reasoning: int

    def per_million_usd(self) -> dict[str, float]:
        return {key: getattr(self, key) / MICROS for key in RATE_KEYS}


@dataclass(frozen=True)
class PriceRule:
    """One price and the model names it applies to."""

    pattern: str
    match: Match
    rates: Rates
    source: str
    provider: str | None = None
    effective_from: date | None = None

    def matches(self, provider: str | None, model: str) -> bool:
        if self.provider is not None and (provider or "").lower() != self.provider.lower():
            return False
        name = model.lower()
        if self.match == "exact":
            return name == self.pattern.lower()
        if self.match == "prefix":
            return name.startswith(self.pattern.lower())
        return re.search(self.pattern, model, re.IGNORECASE) is not None

    def describe(self) -> str:
        where = {"exact": "name", "prefix": "prefix", "regex": "regex"}[self.match]
        text = f"{self.source}: {where} {self.pattern!r}"
        if self.provider:
            text += f" (provider {self.provider})"
        if self.effective_from:
            text += f" from {self.effective_from.isoformat()}"
        return text


def usd_per_million_to_micros(value: Any, where: str) -> int:
    """``2.5`` ($ per million tokens) -> 2_500_000 micro-dollars per million tokens."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise UsageError(f"{where}: {value!r} is not a price in USD per million tokens") from None
    if amount < 0 or not amount.is_finite():
        raise UsageError(f"{where}: {value!r} is not a price in USD per million tokens")
    return int((amount * MICROS).to_integral_value())


def complete_rates(rates: dict[str, int]) -> Rates:
    """Fill the rates a source left out: cache at the input rate, reasoning at output."""
    return Rates(
        input=rates["input"],
        output=rates["output"],
        cache_read=rates.get("cache_read", rates["input"]),
        cache_write=rates.get("cache_write", rates["input"]),
        reasoning=rates.get("reasoning", rates["output"]),
    )


def litellm_rules(data: Any, where: str) -> tuple[PriceRule, ...]:
    """Rules from LiteLLM's ``model_prices_and_context_window.json`` (USD per token)."""
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected LiteLLM's JSON object of model names")
    rules = []
    for name, entry in data.items():
        if not isinstance(entry, dict) or name == "sample_spec":
            continue
        if "input_cost_per_token" not in entry or "output_cost_per_token" not in entry:
            continue

        rates = {
            key: _per_token(entry, column, f"{where}: {name}.{column}")
            for key, column in (
                ("input", "input_cost_per_token"),
                ("output", "output_cost_per_token"),
                ("cache_read", "cache_read_input_token_cost"),
                ("cache_write", "cache_creation_input_token_cost"),
                ("reasoning", "output_cost_per_reasoning_token"),
            )
        }
        present = {k: v for k, v in rates.items() if v is not None}
        if "input" not in present or "output" not in present:
            continue
        rules.append(PriceRule(str(name), "exact", complete_rates(present), f"LiteLLM {where}"))
    return tuple(rules)


def _per_token(entry: dict[str, Any], column: str, where: str) -> int | None:
    value = entry.get(column)
    if value is None:
        return None
    return usd_per_million_to_micros(Decimal(str(value)) * MICROS, where)
