"""The receiver's write-ahead spool: acknowledged requests are on disk before the answer.

Requests are appended to an open segment per encoding (``.pb``: varint-framed
``ExportTraceServiceRequest`` messages, the stream format ``pyflare ingest`` reads;
``.jsonl``: one OTLP/JSON document per line). :meth:`Spool.sync` is a group commit:
concurrent requests share one fsync. Segments are sealed (fsynced, closed, renamed) by
size or age and handed to the flusher, which ingests them into the store and deletes a
segment only once its spans are visible. After a crash, open segments are sealed and
replayed; a torn last record was never acknowledged (its fsync never returned), and
ingest dead-letters it with the reason.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from pyflare_cli.demo.otlp_files import varint

Kind = Literal["pb", "jsonl"]
OPEN_SUFFIX = ".open"


@dataclass
class _Segment:
    kind: Kind
    path: Path
    handle: IO[bytes]
    opened: float
    size: int = 0


@dataclass
class Spool:
    """Segments under ``folder``; ``max_bytes`` bounds what is not yet flushed."""

    folder: Path
    segment_bytes: int = 64 << 20
    max_bytes: int = 1 << 30
    _open: dict[str, _Segment] = field(default_factory=dict)
    _seq: int = 0
    _written: int = 0
    _synced: int = 0
    _lock: asyncio.Lock | None = None
    unflushed: int = 0
    """Bytes appended and not yet deleted by the flusher (open and sealed segments)."""

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        names = [p.name.split("-", 1)[0] for p in self.folder.iterdir()]
        self._seq = max((int(n) for n in names if n.isdigit()), default=0)

    def recover(self) -> list[Path]:
        """Seal the segments a crash left open; return every sealed segment, oldest first."""
        for path in self.folder.glob(f"*{OPEN_SUFFIX}"):
            os.replace(path, path.with_suffix(""))
        sealed = self.sealed()
        self.unflushed = sum(p.stat().st_size for p in sealed)
        return sealed

    def sealed(self) -> list[Path]:
        return sorted(
            p for p in self.folder.iterdir() if p.suffix in (".pb", ".jsonl") and p.is_file()
        )

    def full(self) -> bool:
        return self.unflushed >= self.max_bytes

    def append(self, kind: Kind, payload: bytes) -> int:
        """Write one request; returns the ticket to pass to :meth:`sync`."""
        segment = self._open.get(kind)
        if segment is None:
            self._seq += 1
            path = self.folder / f"{self._seq:012d}-{os.getpid()}.{kind}{OPEN_SUFFIX}"
            segment = _Segment(kind, path, open(path, "ab"), time.monotonic())  # noqa: SIM115
            self._open[kind] = segment
        if kind == "pb":
            record = varint(len(payload)) + payload
        else:
            record = payload.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n"
        segment.handle.write(record)
        segment.size += len(record)
        self.unflushed += len(record)
        self._written += 1
        return self._written

    async def sync(self, ticket: int) -> None:
        """Return once the request with ``ticket`` is on disk (one fsync serves many)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._synced >= ticket:
                return
            upto = self._written
            handles = [s.handle for s in self._open.values()]
            await asyncio.get_running_loop().run_in_executor(None, _flush_and_sync, handles)
            self._synced = max(self._synced, upto)

    def due(self, max_age: float) -> bool:
        """Whether an open segment is big or old enough to seal."""
        now = time.monotonic()
        return any(
            s.size >= self.segment_bytes or (s.size and now - s.opened >= max_age)
            for s in self._open.values()
        )

    async def seal(self) -> list[Path]:
        """Close every open segment that has data; return the sealed paths."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            segments = [s for s in self._open.values() if s.size]
            if not segments:
                return []
            upto = self._written
            handles = [s.handle for s in segments]
            await asyncio.get_running_loop().run_in_executor(None, _flush_and_sync, handles)
            self._synced = max(self._synced, upto)
            sealed = []
            for segment in segments:
                segment.handle.close()
                final = segment.path.with_suffix("")
                os.replace(segment.path, final)
                sealed.append(final)
                del self._open[segment.kind]
            _sync_dir(self.folder)
            return sealed

    def close(self) -> None:
        """Close open handles without sealing (a crash-like stop; recover() seals them)."""
        for segment in self._open.values():
            segment.handle.close()
        self._open.clear()

    def flushed(self, path: Path, size: int) -> None:
        """The flusher made ``path``'s spans visible and deleted it."""
        self.unflushed = max(0, self.unflushed - size)


def _flush_and_sync(handles: list[IO[bytes]]) -> None:
    for handle in handles:
        handle.flush()
        os.fsync(handle.fileno())


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
