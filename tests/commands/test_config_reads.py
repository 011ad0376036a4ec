"""A command run reads pyflare.yaml once, however many of its parts (prices, budgets, drift
settings, alert rules) come from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_support import ROOT, invoke

from pyflare_cli.config import file as config_file

RULES = ROOT / "docs" / "examples" / "alerts.yaml"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every ``load_config`` call of the run, by its argument."""
    calls: list[object] = []
    real = config_file.load_config

    def counting(option: str | Path | None) -> config_file.Config:
        calls.append(option)
        return real(option)

    monkeypatch.setattr(config_file, "load_config", counting)
    return calls


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "pyflare.yaml"
    path.write_text(
        "budgets:\n  - name: monthly\n    limit_usd: 50\n    period: month\n"
        f"alerts:\n  rules: {RULES}\n"
    )
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("cost", "--by", "model"),
        ("cost", "check", "--budget", "monthly", "--max-total", "1000"),
        ("cost", "budget"),
        ("cost", "forecast"),
        ("drift", "--all-models"),
        ("drift", "history", "--model", "gpt-4o"),
        ("alert", "check", "--no-notify"),
        ("alert", "watch", "--max-runs", "1", "--interval", "1s"),
        ("rca",),
    ],
    ids=" ".join,
)
def test_a_run_reads_the_config_once(
    args: tuple[str, ...], reads: list[object], config: Path, demo_store: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo_store, store)
    result = invoke(*args, "--config", str(config), "--store", str(store))
    assert result.exit_code in (0, 1, 2), result.output
    assert reads == [config], result.output


def test_alert_rules_reads_the_config_once(reads: list[object], config: Path) -> None:
    result = invoke("alert", "rules", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert reads == [config]
