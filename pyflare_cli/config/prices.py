"""The ``prices`` section of ``pyflare.yaml``: price rules that come before genai-prices.

Each rule names a model (exact name, prefix or regex), optionally a provider and the date
it takes effect, and its prices in USD per million tokens; see
:mod:`pyflare_cli.analysis.cost.price_rules` for how rules are matched and applied.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pyflare_cli.analysis.cost.price_rules import (
    RATE_KEYS,
    PriceRule,
    complete_rates,
    usd_per_million_to_micros,
)
from pyflare_cli.errors import UsageError

_RULE_KEYS = {"model", "prefix", "regex", "provider", "effective_from", *RATE_KEYS}


def parse_price_rules(section: Any, where: str) -> tuple[PriceRule, ...]:
    """The ``prices:`` section of ``pyflare.yaml``: a list of rules (see module doc)."""
    if section is None:
        return ()
    if not isinstance(section, list):
        raise UsageError(f"{where}: prices must be a list of rules")
    rules = []
    for index, item in enumerate(section):
        at = f"{where}: prices[{index}]"
        if not isinstance(item, dict):
            raise UsageError(f"{at} must be a mapping")
        unknown = sorted(set(item) - _RULE_KEYS)
        if unknown:
            raise UsageError(f"{at}.{unknown[0]} is not a known key; use {sorted(_RULE_KEYS)}")
        kinds = [k for k in ("model", "prefix", "regex") if k in item]
        if len(kinds) != 1:
            raise UsageError(f"{at} needs exactly one of model, prefix or regex")
        kind = kinds[0]
        pattern = str(item[kind])
        if kind == "regex":
            try:
                re.compile(pattern)
            except re.error as exc:
                raise UsageError(f"{at}.regex {pattern!r} does not compile: {exc}") from None
        if "input" not in item or "output" not in item:
            raise UsageError(f"{at} needs input and output prices (USD per million tokens)")
        rates = {
            key: usd_per_million_to_micros(item[key], f"{at}.{key}")
            for key in RATE_KEYS
            if key in item
        }
        effective = item.get("effective_from")
        if effective is not None and not isinstance(effective, date):
            try:
                effective = date.fromisoformat(str(effective))
            except ValueError:
                raise UsageError(f"{at}.effective_from {effective!r} is not a date") from None
        rules.append(
            PriceRule(
                pattern=pattern,
                match="exact" if kind == "model" else kind,  # type: ignore[arg-type]
                rates=complete_rates(rates),
                source="pyflare.yaml",
                provider=str(item["provider"]) if item.get("provider") else None,
                effective_from=effective,
            )
        )
    return tuple(rules)
