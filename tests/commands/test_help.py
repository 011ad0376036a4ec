"""Every command has --help text with an example and a page in docs/ (sqlite-utils style)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from cli_support import invoke

from pyflare_cli import __version__
from pyflare_cli.main import app

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        path = (*prefix, name)
        if getattr(command, "commands", None):
            found.extend(_commands(command, path))
        else:
            found.append(path)
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_expected_commands_exist() -> None:
    assert {" ".join(c) for c in COMMANDS} >= {
        "ingest",
        "traces",
        "trace show",
        "query",
        "demo",
        "store info",
        "store compact",
        "store prune",
    }


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_an_example(command: tuple[str, ...]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"pyflare {' '.join(command)}" in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_command_is_documented(command: tuple[str, ...]) -> None:
    text = "\n".join(p.read_text() for p in DOCS.glob("*.md"))
    assert f"pyflare {' '.join(command)}" in text


def test_version_and_no_args() -> None:
    assert invoke("--version").stdout.strip() == f"pyflare {__version__}"
    result = invoke()
    assert "ingest" in result.stdout and "traces" in result.stdout


def test_unknown_command_and_option_exit_2() -> None:
    assert invoke("frobnicate").exit_code == 2
    assert invoke("traces", "--bogus").exit_code == 2
