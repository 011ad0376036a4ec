"""bench --peers' answer check: DuckDB's (day, model) totals against pyflare's cost JSON.
A ratio is only worth printing when both computed the same thing, so the check must see
a total that differs by one micro-dollar, a row only one side has, and agree otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from pyflare_cli.bench.peers import cost_totals_differ

DAY1 = datetime(2026, 12, 1, tzinfo=UTC)
DAY2 = datetime(2026, 12, 2, tzinfo=UTC)


def _ours(*rows: tuple[str, str, float | None]) -> dict[str, Any]:
    return {"rows": [{"period": p, "model": m, "cost_usd": c} for p, m, c in rows]}


def _theirs(*rows: tuple[datetime, str, int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"period": pl.Datetime("us", "UTC"), "model": pl.String, "cost_micros": pl.Int64},
        orient="row",
    )


OURS = _ours(
    ("2026-12-01T00:00:00Z", "gpt-4o", 1.234567),
    ("2026-12-02T00:00:00Z", "gpt-4o", 0.5),
    ("2026-12-02T00:00:00Z", "unpriced", None),
)


def test_equal_totals_agree() -> None:
    theirs = _theirs((DAY1, "gpt-4o", 1_234_567), (DAY2, "gpt-4o", 500_000))
    assert cost_totals_differ(OURS, theirs) == (3, 0)


def test_one_micro_dollar_off_differs() -> None:
    theirs = _theirs((DAY1, "gpt-4o", 1_234_568), (DAY2, "gpt-4o", 500_000))
    assert cost_totals_differ(OURS, theirs) == (3, 1)


def test_a_row_only_one_side_has_differs() -> None:
    theirs = _theirs((DAY1, "gpt-4o", 1_234_567))
    assert cost_totals_differ(OURS, theirs) == (3, 1)
    extra = _theirs((DAY1, "gpt-4o", 1_234_567), (DAY2, "gpt-4o", 500_000), (DAY2, "x", 7))
    assert cost_totals_differ(OURS, extra) == (4, 1)
