"""A real receiver on 127.0.0.1 in a background thread, for the receiver tests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path

import polars as pl

from pyflare_cli.receiver.server import Receiver, ReceiverConfig
from pyflare_cli.store.scan import scan_spans


class Running:
    """A receiver serving on free ports until :meth:`stop`."""

    def __init__(self, config: ReceiverConfig) -> None:
        self.receiver = Receiver(config)
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"receiver did not start: {self._error}")

    def _main(self) -> None:
        async def serve() -> None:
            self._stop = asyncio.Event()
            await self.receiver.run(self._stop, ready=self._ready.set)

        try:
            self._loop.run_until_complete(serve())
        except BaseException as exc:  # surfaced by stop() and the start-up wait
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    @property
    def root(self) -> Path:
        return self.receiver.config.root

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.receiver.grpc_port}"

    def stop(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            # A server that failed closes its loop: then join and raise its error below.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        if self._error is not None:
            raise self._error

    def stored(self, at_least: int = 0, timeout: float = 60.0) -> pl.DataFrame:
        """The spans in the store, waiting until at least ``at_least`` are there."""
        deadline = time.monotonic() + timeout
        while True:
            frame = scan_spans(self.root).collect()
            if frame.height >= at_least or time.monotonic() > deadline:
                return frame
            time.sleep(0.05)
