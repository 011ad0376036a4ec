"""The ``budgets`` section of ``pyflare.yaml``: spending limits per calendar period.

```yaml
budgets:
  - name: monthly-total
    period: month          # day | week | month
    limit_usd: 500
    warn_at: 0.8           # default 0.8
  - name: gpt-4o-daily
    where: "model:gpt-4o*" # a search query; default: every span
    period: day
    limit_usd: 20
    timezone: Europe/Paris # default UTC; periods start at local midnight / Monday / 1st
```

Everything is checked when the file is loaded, before any span is read, so a typo in a
budget fails ``pyflare cost check --budget`` with exit code 2 and a message naming the file
and the key, rather than passing a gate it never evaluated. The limit becomes integer
micro-dollars, the unit of ``cost_micros``, so the gate compares integers; a limit finer than
a micro-dollar is an error rather than silently rounded. Evaluation is
:mod:`pyflare_cli.analysis.cost.budgets`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyflare_cli.analysis.cost.budgets import MICROS_PER_USD, PERIODS, Budget, Period
from pyflare_cli.analysis.search.compile import parse
from pyflare_cli.config.checks import is_number, known_keys
from pyflare_cli.errors import QuerySyntaxError, UsageError

_KEYS = ("name", "period", "limit_usd", "warn_at", "where", "timezone")
_REQUIRED = ("name", "period", "limit_usd")


def _name(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: {key} must be a non-empty text, not {value!r}")
    return value


def _period(value: Any, where: str, key: str) -> Period:
    for period in PERIODS:
        if value == period:
            return period
    raise UsageError(f"{where}: {key} {value!r} is not one of {', '.join(PERIODS)}")


def _limit_micros(value: Any, where: str, key: str) -> int:
    if not is_number(value) or value <= 0:
        raise UsageError(f"{where}: {key} must be a number of USD greater than 0, not {value!r}")
    try:
        micros = Decimal(str(value)) * MICROS_PER_USD
    except InvalidOperation:  # pragma: no cover - str() of a finite number always parses
        raise UsageError(f"{where}: {key} {value!r} is not a number") from None
    if micros != micros.to_integral_value():
        raise UsageError(f"{where}: {key} {value!r} is finer than a micro-dollar (0.000001)")
    return int(micros)


def _warn_at(value: Any, where: str, key: str) -> float:
    if not is_number(value) or not 0 < value <= 1:
        raise UsageError(
            f"{where}: {key} must be a share of the limit above 0 and at most 1, not {value!r}"
        )
    return float(value)


def _query(value: Any, where: str, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{where}: {key} must be a search query text, not {value!r}")
    try:
        parse(value)
    except QuerySyntaxError as exc:
        raise UsageError(f"{where}: {key}: {exc.message}") from None
    return value.strip() or None


def _timezone(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{where}: {key} must be a time zone name, not {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(
            f"{where}: {key} {value!r} is not a known time zone; use an IANA name such as "
            "UTC, Europe/Paris or America/Los_Angeles"
        ) from None
    return value


def _budget(item: Any, where: str, key: str) -> Budget:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: {key} must be a mapping with a name, period and limit_usd")
    known_keys(item, _KEYS, where, key)
    for name in _REQUIRED:
        if name not in item:
            raise UsageError(f"{where}: {key}.{name} is missing")
    return Budget(
        name=_name(item["name"], where, f"{key}.name"),
        period=_period(item["period"], where, f"{key}.period"),
        limit_micros=_limit_micros(item["limit_usd"], where, f"{key}.limit_usd"),
        warn_at=_warn_at(item.get("warn_at", 0.8), where, f"{key}.warn_at"),
        where=_query(item.get("where"), where, f"{key}.where"),
        timezone=_timezone(item.get("timezone", "UTC"), where, f"{key}.timezone"),
    )


def parse_budgets(section: Any, where: str) -> tuple[Budget, ...]:
    """The ``budgets`` section of the config file, validated, in file order; () when absent.

    Every error names the file (``where``) and the key at fault, e.g.
    ``pyflare.yaml: budgets[1].period 'year' is not one of day, week, month``.
    """
    if section is None:
        return ()
    if not isinstance(section, list):
        raise UsageError(f"{where}: budgets must be a list of budgets")
    budgets: list[Budget] = []
    first: dict[str, int] = {}
    for i, item in enumerate(section):
        budget = _budget(item, where, f"budgets[{i}]")
        if budget.name in first:
            raise UsageError(
                f"{where}: budgets[{i}].name {budget.name!r} is already the name of "
                f"budgets[{first[budget.name]}]"
            )
        first[budget.name] = i
        budgets.append(budget)
    return tuple(budgets)
