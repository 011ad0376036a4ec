"""Fixtures of the notification tests: the fake receivers' server, recorded sleeps, notifiers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from notify_support import Receivers, Server, handler

from pyflare_cli.alerting.notify.notifier import Notifier
from pyflare_cli.alerting.notify.targets import Target


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    state = Receivers()
    server = Server(("127.0.0.1", 0), handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def notifier(tmp_path: Path, sleeps: list[float]) -> Iterator[Callable[..., Notifier]]:
    made: list[Notifier] = []

    def make(*targets: Target) -> Notifier:
        made.append(Notifier(tmp_path / "alerts", targets, sleep=sleeps.append))
        return made[-1]

    yield make
    for one in made:
        one.close()
