"""Running pyflare in-process with a fixed now, and recording the windows commands read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner, Result

import pyflare_cli.query.spans as spans_module
from pyflare_cli.main import app

NOW = "2026-11-20T12:00:00+00:00"

Pyflare = Callable[..., Result]


@pytest.fixture
def pyflare() -> Pyflare:
    """``pyflare(*args, now=NOW)``: run the CLI in-process; stderr is kept apart."""

    def run(*args: str, now: str = NOW) -> Result:
        return CliRunner().invoke(app, list(args), env={"PYFLARE_NOW": now})

    return run


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[datetime | None, datetime | None]]:
    """The ``[since, until)`` of every span load through :func:`query.spans.load_spans`."""
    seen: list[tuple[datetime | None, datetime | None]] = []
    real = spans_module.scan_spans

    def recording(
        root: Path, since: Any = None, until: Any = None, reads: Any = None
    ) -> pl.LazyFrame:
        seen.append((since, until))
        return real(root, since, until, reads)

    monkeypatch.setattr(spans_module, "scan_spans", recording)
    return seen
