"""Run the pyflare CLI in-process, the way the command tests and docs tests need it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from pyflare_cli.main import app

NOW = "2026-11-20T12:00:00+00:00"
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
FIXTURE_TRACE = "5b8efff798038103d269b633813fc60c"


def invoke(*args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> Result:
    """Run ``pyflare ARGS`` in-process with a fixed now; stderr is kept apart from stdout."""
    runner = CliRunner()
    return runner.invoke(app, list(args), env={"PYFLARE_NOW": NOW, **(env or {})}, input=input)
