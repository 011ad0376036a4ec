"""The ``budgets`` section of pyflare.yaml: defaults, exact limits, errors naming file and key."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from pyflare_cli.analysis.cost.budgets import Budget
from pyflare_cli.config.budgets import parse_budgets
from pyflare_cli.errors import UsageError

FILE = "pyflare.yaml"
EXAMPLE = """\
budgets:
  - name: monthly-total
    period: month
    limit_usd: 500
    warn_at: 0.8
  - name: gpt-4o-daily
    where: "model:gpt-4o*"
    period: day
    limit_usd: 20.25
    timezone: Europe/Paris
"""


def budgets_of(text: str) -> tuple[Budget, ...]:
    return parse_budgets(yaml.safe_load(text)["budgets"], FILE)


def test_the_documented_example() -> None:
    assert budgets_of(EXAMPLE) == (
        Budget(name="monthly-total", period="month", limit_micros=500_000_000, warn_at=0.8),
        Budget(
            name="gpt-4o-daily",
            period="day",
            limit_micros=20_250_000,
            where="model:gpt-4o*",
            timezone="Europe/Paris",
        ),
    )


def test_defaults_and_exact_limits() -> None:
    (one,) = parse_budgets([{"name": "b", "period": "week", "limit_usd": 0.000001}], FILE)
    assert (one.warn_at, one.where, one.timezone, one.limit_micros) == (0.8, None, "UTC", 1)
    (two,) = parse_budgets([{"name": "b", "period": "day", "limit_usd": 0.1, "warn_at": 1}], FILE)
    assert (two.limit_micros, two.limit_usd, two.warn_at) == (100_000, 0.1, 1.0)


def test_absent_or_empty_section_means_no_budgets() -> None:
    assert parse_budgets(None, FILE) == ()
    assert parse_budgets([], FILE) == ()


def test_a_blank_where_is_every_span() -> None:
    (one,) = parse_budgets([{"name": "b", "period": "day", "limit_usd": 1, "where": " "}], FILE)
    assert one.where is None


GOOD: dict[str, Any] = {"name": "b", "period": "day", "limit_usd": 20}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"name": "b"}, "budgets must be a list of budgets"),
        (["b"], "budgets[0] must be a mapping with a name, period and limit_usd"),
        ([GOOD | {"limit": 3}], "budgets[0].limit is not a known key; use name, period, "),
        ([{"name": "b", "period": "day"}], "budgets[0].limit_usd is missing"),
        ([{"period": "day", "limit_usd": 1}], "budgets[0].name is missing"),
        ([GOOD | {"name": ""}], "budgets[0].name must be a non-empty text, not ''"),
        ([GOOD | {"name": 7}], "budgets[0].name must be a non-empty text, not 7"),
        (
            [GOOD, GOOD | {"period": "week"}],
            "budgets[1].name 'b' is already the name of budgets[0]",
        ),
        ([GOOD | {"period": "year"}], "budgets[0].period 'year' is not one of day, week, month"),
        ([GOOD | {"period": "Day"}], "budgets[0].period 'Day' is not one of day, week, month"),
        ([GOOD | {"limit_usd": 0}], "budgets[0].limit_usd must be a number of USD greater than 0"),
        ([GOOD | {"limit_usd": -5}], "budgets[0].limit_usd must be a number of USD greater than 0"),
        ([GOOD | {"limit_usd": "20"}], "budgets[0].limit_usd must be a number of USD"),
        ([GOOD | {"limit_usd": True}], "budgets[0].limit_usd must be a number of USD"),
        ([GOOD | {"limit_usd": float("inf")}], "budgets[0].limit_usd must be a number of USD"),
        ([GOOD | {"limit_usd": 0.0000001}], "budgets[0].limit_usd 1e-07 is finer than a micro"),
        ([GOOD | {"warn_at": 0}], "budgets[0].warn_at must be a share of the limit above 0"),
        ([GOOD | {"warn_at": 1.5}], "budgets[0].warn_at must be a share of the limit above 0"),
        ([GOOD | {"warn_at": "80%"}], "budgets[0].warn_at must be a share of the limit above 0"),
        ([GOOD | {"timezone": "Mars/Olympus"}], "budgets[0].timezone 'Mars/Olympus' is not a"),
        ([GOOD | {"timezone": "../etc/passwd"}], "budgets[0].timezone '../etc/passwd' is not a"),
        ([GOOD | {"timezone": ""}], "budgets[0].timezone '' is not a known time zone"),
        ([GOOD | {"timezone": 1}], "budgets[0].timezone must be a time zone name, not 1"),
        ([GOOD | {"where": 3}], "budgets[0].where must be a search query text, not 3"),
        (
            [GOOD | {"where": "modle:gpt-4o"}],
            "budgets[0].where: unknown field 'modle' at 1:1; did you mean 'model'?",
        ),
        ([GOOD | {"where": "(model:a"}], "budgets[0].where: "),
    ],
)
def test_errors_name_the_file_and_the_key(section: Any, message: str) -> None:
    with pytest.raises(UsageError, match="^" + re.escape(f"{FILE}: {message}")) as caught:
        parse_budgets(section, FILE)
    assert "\n" not in caught.value.message
