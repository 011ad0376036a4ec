"""A small real store shared by the command tests: demo traffic plus the fixture trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import FIXTURES, invoke


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Ten days of demo traffic (about 4,000 spans) and the hand-written fixture trace."""
    root = tmp_path_factory.mktemp("store") / ".pyflare"
    result = invoke("demo", "--spans", "4000", "--days", "10", "--store", str(root))
    assert result.exit_code == 0, result.output
    result = invoke("ingest", str(FIXTURES / "otlp" / "trace.json"), "--store", str(root))
    assert result.exit_code == 0, result.output
    yield root


@pytest.fixture(scope="session")
def incident_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Four days of demo traffic: enough calls per model and per slice for a day-long
    window, with the demo's incidents (rag-api 2.0.0, longer Claude prompts, ...) in it."""
    root = tmp_path_factory.mktemp("incidents") / ".pyflare"
    result = invoke("demo", "--spans", "30000", "--days", "4", "--store", str(root))
    assert result.exit_code == 0, result.output
    yield root
