"""A request appended while a seal is fsyncing must still be fsynced before its answer.

``Spool.seal`` awaited its fsync in a thread with the segments still open for appends; a
request appended meanwhile went into the segment after the fsync, was written (not
fsynced) by ``close()``, and its ``sync`` then fsynced only the *new* open segments and
returned: acknowledged, but not on disk (lost on power failure or a kernel crash).
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import IO

import pytest

import pyflare_cli.receiver.spool as spool_module
from pyflare_cli.receiver.spool import OPEN_SUFFIX, Spool


def test_review_an_append_during_a_seal_is_durable_when_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    durable: dict[str, int] = {}  # segment name -> its size at its last fsync
    in_seal = threading.Event()
    resume = threading.Event()
    real = spool_module._flush_and_sync

    def tracking(handles: list[IO[bytes]]) -> None:
        real(handles)
        for handle in handles:
            name = os.path.basename(os.readlink(f"/proc/self/fd/{handle.fileno()}"))
            durable[name.removesuffix(OPEN_SUFFIX)] = os.fstat(handle.fileno()).st_size
        if not in_seal.is_set():  # the seal's fsync: let a request in right after it
            in_seal.set()
            assert resume.wait(10)

    monkeypatch.setattr(spool_module, "_flush_and_sync", tracking)
    spool = Spool(tmp_path / "spool")

    async def scenario() -> None:
        spool.append("pb", b"\x0a\x00")
        sealing = asyncio.create_task(spool.seal())
        await asyncio.get_running_loop().run_in_executor(None, in_seal.wait, 10)
        ticket = spool.append("pb", b"\x0a\x02\x0a\x00")  # arrives during the seal's fsync
        resume.set()
        await sealing
        await spool.sync(ticket)  # the request is answered once this returns

    asyncio.run(scenario())
    spool.close()
    on_disk = {p.name.removesuffix(OPEN_SUFFIX): p.stat().st_size for p in spool.folder.glob("0*")}
    assert on_disk == durable, "acknowledged bytes that no fsync covered"
