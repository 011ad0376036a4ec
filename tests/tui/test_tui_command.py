"""``pyflare tui``: options reach the app factory; usage errors exit 2 before the app starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from tui_support import NOW_ISO
from typer.testing import CliRunner, Result

from pyflare_cli.commands import tui as command
from pyflare_cli.main import PyflareGroup
from pyflare_cli.tui import PyflareApp


def run(*args: str) -> Result:
    app = typer.Typer(cls=PyflareGroup, pretty_exceptions_enable=False, rich_markup_mode="markdown")
    command.register(app)

    @app.callback()
    def root() -> None:
        """pyflare"""

    return CliRunner().invoke(app, ["tui", *args], env={"PYFLARE_NOW": NOW_ISO})


def test_help_has_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and "pyflare tui --where" in result.output
    for option in ("--where", "--since", "--follow", "--store", "--config", "TRACE_ID"):
        assert option in result.output


def test_needs_a_terminal(tui_store: Path) -> None:
    result = run("--store", str(tui_store))
    assert result.exit_code == 2
    assert "needs a terminal" in result.output


def test_bad_since_and_config_exit_2(tui_store: Path, tmp_path: Path) -> None:
    assert run("--store", str(tui_store), "--since", "yesterday-ish").exit_code == 2
    missing = tmp_path / "missing.yaml"
    assert run("--store", str(tui_store), "--config", str(missing)).exit_code == 2


def test_options_reach_the_app(tui_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[PyflareApp] = []

    clock: list[str] = []

    def fake_run(self: PyflareApp, *args: Any, **kwargs: Any) -> None:
        assert self.boot is not None  # in a terminal, the session loads after the first frame
        self.source, self.history = self.boot()
        started.append(self)
        clock.append(self.now().isoformat())  # $PYFLARE_NOW is honoured

    monkeypatch.setattr(command, "is_terminal", lambda: True)
    monkeypatch.setattr(PyflareApp, "run", fake_run)
    result = run(
        "5b8efff7",
        "--store",
        str(tui_store),
        "--where",
        "status:error",
        "--since",
        "7d",
        "--follow",
    )
    assert result.exit_code == 0, result.output
    (app,) = started
    assert (app.trace_id, app.where, app.follow) == ("5b8efff7", "status:error", True)
    assert app.source.root == tui_store and app.source.since == "7d"
    assert clock == [NOW_ISO]
    assert app.history.path == tui_store / ".cache" / "tui-history.json"
