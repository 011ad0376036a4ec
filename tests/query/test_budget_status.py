"""Budget status from the store: `pyflare cost budget` and budget alert rules project alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pyflare_cli.analysis.cost.budgets import Budget
from pyflare_cli.main import app
from pyflare_cli.query.budgets import budget_status, history_start

NOW = "2026-11-20T12:00:00+00:00"
Pyflare = Callable[..., Result]


@pytest.fixture(scope="module")
def short_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of demo traffic: under the 7 days the projection's rate looks back."""
    root = tmp_path_factory.mktemp("short") / ".pyflare"
    args = ["demo", "--spans", "3000", "--days", "2", "--store", str(root)]
    result = CliRunner().invoke(app, args, env={"PYFLARE_NOW": NOW})
    assert result.exit_code == 0, result.output
    return root


def _config(tmp_path: Path, limit_usd: float) -> Path:
    config = tmp_path / f"pyflare-{limit_usd}.yaml"
    config.write_text(f"budgets:\n  - {{name: monthly, period: month, limit_usd: {limit_usd}}}\n")
    return config


def _cost_budget(pyflare: Pyflare, store: Path, config: Path) -> dict[str, Any]:
    result = pyflare("cost", "budget", "--store", str(store), "--config", str(config),
                     "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert isinstance(row, dict)
    return row


def test_cost_budget_and_a_budget_alert_project_alike_on_a_short_history(
    pyflare: Pyflare, short_store: Path, tmp_path: Path
) -> None:
    wide = _cost_budget(pyflare, short_store, _config(tmp_path, 1_000_000))
    spent, projected = wide["spent_usd"], wide["projected_usd"]
    assert 0 < spent < projected
    # A limit between what is spent and what is projected: the status is "projected" only
    # for a projection at the rate of the two days the store holds.
    limit = round((spent + projected) / 2, 2)
    config = _config(tmp_path, limit)
    assert _cost_budget(pyflare, short_store, config)["status"] == "projected"
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        "groups:\n  - name: spend\n    rules:\n      - alert: MonthlyOnTrack\n"
        "        budget: {name: monthly, status: [projected]}\n"
    )
    result = pyflare("alert", "check", "--rules", str(rules), "--config", str(config),
                     "--store", str(short_store), "--no-notify", "--format", "json")  # fmt: skip
    alerts = json.loads(result.stdout)["alerts"]
    firing = {a["alertname"]: a for a in alerts if a["state"] == "firing"}
    assert "MonthlyOnTrack" in firing, result.output
    assert firing["MonthlyOnTrack"]["value"] == pytest.approx(spent)


def test_the_rate_is_taken_over_the_history_the_store_holds(short_store: Path) -> None:
    now = datetime.fromisoformat(NOW) + timedelta(hours=1)  # after every span
    first = history_start(short_store)
    assert first is not None and now - first < timedelta(days=7)
    (row,) = budget_status(short_store, [Budget("m", "month", 10**12)], now).iter_rows(named=True)
    # the store's two days are all in this month and all in the rate's window
    spent, us = row["spent_micros"], timedelta(microseconds=1)
    rate_us = (now - first) // us
    assert row["projected_micros"] == spent + spent * ((row["period_end"] - now) // us) // rate_us
