"""Fixture stores for the TUI tests, all built deterministically (fixed seed and clock)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tui_support import NOW, demo_store, synthetic_trace, write_spans

from pyflare_cli.config.file import Config
from pyflare_cli.tui import PyflareApp, create_app

SAVED = {"slow errors": "status:error duration:>1s", "gpt": "model:gpt-4o*"}


@pytest.fixture(scope="session")
def tui_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of demo traffic (about 3,000 spans) plus the fixture trace."""
    return demo_store(tmp_path_factory.mktemp("tui") / ".pyflare")


@pytest.fixture(scope="session")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic trace of 2,000 spans (``ab…ab``)."""
    root = tmp_path_factory.mktemp("big") / ".pyflare"
    write_spans(root, synthetic_trace(2000), "synthetic")
    return root


@pytest.fixture
def make_app(tui_store: Path) -> Callable[..., PyflareApp]:
    """``make_app(store=tui_store, **create_app options)`` with the fixed clock and config."""

    def make(store: Path | None = None, **options: Any) -> PyflareApp:
        options.setdefault("config", Config(saved_queries=SAVED))
        return create_app(store or tui_store, now=NOW, **options)

    return make
