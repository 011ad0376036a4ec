"""The heavy analyses (rca, drift, report) tell Polars' jemalloc to give freed pages back
before Polars loads: at a million spans this lowered `rca --metric latency`'s peak from
347-389 to 334-343 MB and `drift --all-models`' from 417-474 to 373-379 MB (docs/benchmarks.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyflare_cli.memory import JEMALLOC_CONF

PROBE = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: print('CONF=' + str(os.environ.get('_RJEM_MALLOC_CONF')),"
    " file=sys.stderr))\n"
    "from pyflare_cli.main import run\n"
    "sys.argv = ['pyflare', *sys.argv[1:]]\n"
    "run()\n"
)


def _conf_after(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("CONF=")]
    assert lines, done.stderr
    return lines[-1].removeprefix("CONF=")


@pytest.mark.parametrize(
    "args",
    [["rca"], ["rca", "--metric", "latency"], ["drift", "--all-models"], ["report"]],
    ids=["rca", "rca-latency", "drift", "report"],
)
def test_heavy_commands_set_jemalloc_before_polars(args: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    missing = str(tmp_path / "no-store")
    conf = _conf_after([*args, "--store", missing], env)
    # Polars puts its own defaults first if it loaded; the later options win
    assert conf == JEMALLOC_CONF or conf.endswith("," + JEMALLOC_CONF)


def test_the_users_own_jemalloc_setting_wins(tmp_path: Path) -> None:
    env = {**os.environ, "_RJEM_MALLOC_CONF": "dirty_decay_ms:10000"}
    missing = str(tmp_path / "no-store")
    conf = _conf_after(["rca", "--store", missing], env)
    assert conf.endswith("dirty_decay_ms:10000")
    assert JEMALLOC_CONF not in conf
