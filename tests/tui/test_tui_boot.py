"""``pyflare tui`` in a terminal paints its first frame with Textual alone: the config,
Polars, the store and the analysis modules load in a worker after it (issue 19)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_support import FIXTURE_TRACE, NOW_ISO, ROOT, drive

from pyflare_cli.tui.app import StartScreen, start_app
from pyflare_cli.tui.screens.trace_list import TraceListScreen
from pyflare_cli.tui.screens.waterfall import WaterfallScreen


def test_the_app_module_loads_no_data_library() -> None:
    code = (
        "import sys, pyflare_cli.tui.app, pyflare_cli.commands.tui\n"
        "heavy = [m for m in ('polars', 'numpy', 'pyarrow', 'pyflare_cli.query.spans',"
        " 'pyflare_cli.analysis.traces.tree', 'pyflare_cli.config.file') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_list_screen_loads_no_trace_tree() -> None:
    """The first page waits for the list's modules only: NumPy and the trace tree behind
    the waterfall load after it (TraceListScreen.prepare_views)."""
    code = (
        "import sys, pyflare_cli.tui.screens.trace_list, pyflare_cli.tui.model.data\n"
        "heavy = [m for m in ('numpy', 'pyarrow', 'pyflare_cli.analysis.traces.tree',"
        " 'pyflare_cli.tui.screens.waterfall') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_first_frame_then_the_list(tui_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYFLARE_NOW", NOW_ISO)
    app = start_app(tui_store, where="status:error")
    assert not hasattr(app, "source")

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, TraceListScreen) and screen.total > 0
        assert screen.query_text == "status:error"
        assert not any(isinstance(s, StartScreen) for s in pilot.app.screen_stack)

    drive(app, scenario)


def test_a_trace_opens_after_the_first_frame(
    tui_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYFLARE_NOW", NOW_ISO)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, WaterfallScreen) and screen.model is not None

    drive(start_app(tui_store, trace_id=FIXTURE_TRACE[:8]), scenario)


def test_a_bad_config_found_after_the_first_frame_exits_2(tui_store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "pyflare.yaml"
    bad.write_text("prices: [\n")
    app = start_app(tui_store, config=bad)

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.pause()

    drive(app, scenario)
    assert app.return_code == 2
    assert app.boot_error is not None and "pyflare.yaml" in app.boot_error
