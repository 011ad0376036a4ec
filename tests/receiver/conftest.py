"""Start real receivers on free loopback ports; stop them after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from receiver_support import Running

from pyflare_cli.receiver.server import ReceiverConfig


@pytest.fixture
def start_receiver(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start receivers with ``ReceiverConfig`` overrides; all are stopped at the end."""
    started: list[Running] = []
    base = ReceiverConfig(
        root=tmp_path / "store",
        http="127.0.0.1:0",
        grpc="127.0.0.1:0",
        flush_interval=0.1,
        workers=1,
    )

    def start(**overrides: object) -> Running:
        running = Running(replace(base, **overrides))  # type: ignore[arg-type]
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
