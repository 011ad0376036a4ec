"""Start-up: `--version`, `--help` and every command's `--help` import no heavy library, and
the root help, listed from main.COMMANDS without importing the commands, says what the
commands themselves say."""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from pyflare_cli.analysis.cost.report import DIMENSIONS
from pyflare_cli.analysis.traces.summary import TRACE_SORTS
from pyflare_cli.commands import cost, traces
from pyflare_cli.main import COMMANDS, app, load_commands

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "polars",
    "numpy",
    "pyarrow",
    "scipy",
    "textual",
    "grpc",
    "google.protobuf",
    "genai_prices",
    "httpx",
    "uvicorn",
    "yaml",
)
LISTED = [
    *("ingest", "receive", "traces", "query", "rca", "tui", "demo"),
    *("store", "trace", "cost", "drift", "alert", "stats", "sessions", "session", "users"),
    *("tools", "metrics", "eval", "report", "bench"),
]
"""The order `pyflare --help` listed the commands in before they were loaded lazily."""

PROBE = """
import json, sys
from pyflare_cli.main import app
heavy = tuple(sys.argv[1].split(","))
seen = {}
for args in json.loads(sys.argv[2]):
    try:
        app(args, prog_name="pyflare", standalone_mode=False)
    except SystemExit:
        pass
    for name in heavy:
        if name in sys.modules and name not in seen:
            seen[name] = " ".join(args)
print(json.dumps({"modules": sorted(sys.modules), "first_seen": seen}))
"""


def _probe(*invocations: list[str]) -> dict[str, object]:
    """Run the invocations one after another in a fresh interpreter; the modules they left."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), json.dumps(invocations)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _paths(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group path below ``group``, groups included."""
    found = []
    for name, command in getattr(group, "commands", {}).items():
        path = (*prefix, name)
        found.append(path)
        found.extend(_paths(command, path))
    return found


def _first_paragraph(text: str | None) -> str:
    return inspect.cleandoc(text or "").split("\n\n")[0].replace("\n", " ").strip()


def test_version_imports_no_command() -> None:
    modules = _probe(["--version"])["modules"]
    assert isinstance(modules, list)
    assert not [m for m in modules if m.startswith("pyflare_cli.commands")]
    assert not [m for m in modules if m.split(".")[0] in {h.split(".")[0] for h in HEAVY}]
    assert "rich" not in modules


def test_root_help_imports_no_command() -> None:
    modules = _probe(["--help"])["modules"]
    assert isinstance(modules, list)
    assert not [m for m in modules if m.startswith("pyflare_cli.commands")]


def test_no_help_imports_a_heavy_library() -> None:
    paths = _paths(typer.main.get_command(app))
    assert ("cost", "budget") in paths and ("alert", "silence", "add") in paths
    invocations = [["--version"], ["--help"], *[[*path, "--help"] for path in paths]]
    first_seen = _probe(*invocations)["first_seen"]
    assert first_seen == {}, f"imported by: {first_seen}"


def test_root_help_lists_every_command_with_its_own_help() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from pyflare_cli.main import app; app(prog_name='pyflare')", "-h"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = [
        line.strip("│ ").split(None, 1)
        for line in done.stdout.split("Commands")[1].splitlines()
        if line.startswith("│")
    ]
    assert [name for name, _ in rows] == LISTED
    registered: dict[str, str] = {}
    for module in dict.fromkeys(module for module, _ in COMMANDS.values()):
        for name, command in load_commands(module).items():
            registered[name] = _first_paragraph(command.short_help or command.help)
    assert sorted(registered) == sorted(LISTED) == sorted(COMMANDS)
    assert {name: COMMANDS[name][1] for name in registered} == registered
    shown = dict((name, text.strip()) for name, text in rows)
    assert shown["query"] == "Run read-only SQL over the store; the table is spans."
    assert shown["demo"] == registered["demo"]


@pytest.mark.parametrize(
    ("named", "source"),
    [(cost.DIMENSIONS, tuple(DIMENSIONS)), (traces.SORTS, tuple(TRACE_SORTS))],
    ids=["cost dimensions", "trace sorts"],
)
def test_names_in_help_match_the_analysis(named: tuple[str, ...], source: tuple[str, ...]) -> None:
    assert named == source


EVAL_MODULES = ("pyflare_cli.query.eval_scores", "pyflare_cli.query.evaluations")


def test_reading_spans_with_a_warm_price_cache_imports_no_pricing_package_or_evals(
    demo_store: Path, tmp_path: Path
) -> None:
    """`traces` and `cost` pay for genai-prices only when the store's price cache misses,
    and for the evaluation readers only when a query has an ``eval.`` term."""
    store = tmp_path / "store"
    shutil.copytree(demo_store, store, ignore=shutil.ignore_patterns(".cache", ".lock"))
    cost_args = ["cost", "--by", "model", "--every", "day", "--since", "3650d"]
    cold = _probe([*cost_args, "--store", str(store), "--format", "json"])["modules"]
    assert isinstance(cold, list)
    assert "genai_prices" in cold  # the probe sees the package when the cache is cold
    warm = _probe(
        [*cost_args, "--store", str(store), "--format", "json"],
        ["traces", "--since", "3650d", "--store", str(store), "--format", "json"],
        ["traces", "--since", "3650d", "--where", "model:gpt*", "--store", str(store)],
    )["modules"]
    assert isinstance(warm, list)
    assert "genai_prices" not in warm
    assert not [m for m in warm if m in EVAL_MODULES], [m for m in warm if m in EVAL_MODULES]
    scored = _probe(
        ["traces", "--since", "3650d", "--where", "eval.relevance:<0.5", "--store", str(store)]
    )["modules"]
    assert isinstance(scored, list)
    assert "pyflare_cli.query.eval_scores" in scored
