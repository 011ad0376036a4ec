"""How `pyflare report` spends memory: the heavy sections (cost, errors, drift, rca) are
built first and the chart engine starts only after them, the rca report they share is
dropped once both are built, and the page keeps its order whatever the build order;
Polars' jemalloc is told to give freed pages back, unless the user said otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import NOW

from pyflare_cli.render.report.svg import ChartPool, to_svg
from pyflare_cli.report.build import HEAVY, SECTIONS, build_report
from pyflare_cli.report.model import Chart


def test_heavy_sections_are_built_before_the_chart_engine_starts(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyflare_cli.commands.report import _context

    monkeypatch.setenv("PYFLARE_NOW", NOW)
    ctx = _context(demo_store, "7d", None, None, None, 10, 6)
    events: list[str] = []
    names = list(SECTIONS)
    report = build_report(
        ctx,
        names,
        str(demo_store),
        ctx.now,
        events.append,
        lambda charts: events.extend(f"chart {c.key}" for c in charts),
        lambda: events.append("ready"),
    )
    built = [e.removeprefix("building ") for e in events if e.startswith("building ")]
    heavy = [n for n in names if n in HEAVY]
    assert built == heavy + [n for n in names if n not in HEAVY]
    first_ready = events.index("ready")
    assert first_ready == events.index("building overview") - 1
    assert all(events.index(f"building {n}") < first_ready for n in heavy)
    # every chart is handed over, and the page keeps the order asked for
    assert [s.key for s in report.sections] == names
    handed = {e.removeprefix("chart ") for e in events if e.startswith("chart ")}
    assert handed == {c.key for c in report.charts}
    assert "rca" not in ctx.memo  # the shared rca report is dropped once used


def test_light_sections_alone_start_the_engine_at_once(
    demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyflare_cli.commands.report import _context

    monkeypatch.setenv("PYFLARE_NOW", NOW)
    ctx = _context(demo_store, "7d", None, None, None, 10, 6)
    events: list[str] = []
    build_report(
        ctx, ["overview"], "s", ctx.now, events.append, ready=lambda: events.append("ready")
    )
    assert events[:2] == ["ready", "building overview"]


def test_a_pool_not_started_keeps_its_charts_until_asked() -> None:
    chart = Chart(
        "c",
        "bars",
        {
            "mark": "bar",
            "encoding": {"x": {"field": "k"}, "y": {"field": "v", "type": "quantitative"}},
        },
        [{"k": "a", "v": 1}, {"k": "b", "v": 2}],
    )
    pool = ChartPool(start=False)
    try:
        pool.submit([chart])
        assert not pool.started
        assert pool.svg(chart) == to_svg(chart)  # asking starts it
        assert pool.started
    finally:
        pool.close()


def _jemalloc_conf(env: dict[str, str], preload_polars: bool) -> dict[str, object]:
    code = (
        "import json, os, sys\n"
        + ("import polars\n" if preload_polars else "")
        + "from pyflare_cli.memory import configure_jemalloc\n"
        + "done = configure_jemalloc()\n"
        + "print(json.dumps({'done': done, 'conf': os.environ.get('_RJEM_MALLOC_CONF')}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    found: dict[str, object] = json.loads(out.stdout)
    return found


def test_jemalloc_is_told_to_return_pages_before_polars_loads() -> None:
    from pyflare_cli.memory import JEMALLOC_CONF

    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    assert _jemalloc_conf(env, False) == {"done": True, "conf": JEMALLOC_CONF}
    # too late once Polars is loaded (it has set its own): nothing that would not apply
    assert _jemalloc_conf(env, True)["done"] is False
    # the user's own setting wins
    mine = {**env, "_RJEM_MALLOC_CONF": "dirty_decay_ms:10000"}
    assert _jemalloc_conf(mine, False) == {"done": False, "conf": "dirty_decay_ms:10000"}
