"""Decode worker processes die with their receiver.

After a SIGKILL of ``pyflare receive``, two decode workers of ~200 MB each lived on: the
pool's pipes kept them waiting for work that would never come.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from ports import free_port
from test_crash_safety import _request, _start

from pyflare_cli.sources.otlp_wire import varint
from pyflare_cli.store.scan import scan_spans


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found |= {int(child) for child in text}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_workers_exit_when_the_receiver_is_killed(tmp_path: Path) -> None:
    store, port = tmp_path / "store", free_port()
    # A segment over 4 MB left by an earlier run: its replay starts the worker processes.
    spool = store / "spool"
    spool.mkdir(parents=True)
    with open(spool / "000000000001-1.pb", "wb") as handle:
        for index in range(1, 3501):
            body, _ = _request(index)
            handle.write(varint(len(body)) + body)
    assert (spool / "000000000001-1.pb").stat().st_size > 4 << 20
    receiver = _start(store, port, "0.1")
    deadline = time.monotonic() + 120
    while scan_spans(store).collect().height < 14000 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert scan_spans(store).collect().height == 14000
    workers = _children(receiver.pid)
    assert len(workers) >= 2, workers  # the pool (and its resource tracker) is running
    os.kill(receiver.pid, signal.SIGKILL)
    receiver.wait(10)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
