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
import fcntl
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from pyflare_cli.errors import UsageError
from pyflare_cli.sources.otlp_wire import varint

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
    _sealing: list[_Segment] = field(default_factory=list)
    """Taken out of ``_open`` by :meth:`seal`, not yet fsynced, closed and renamed."""
    _seq: int = 0
    _written: int = 0
    _synced: int = 0
    _failed: int = 0
    """Tickets up to this one were in a segment whose fsync failed: never acknowledged."""
    _lock: asyncio.Lock | None = None
    _owner_fd: int | None = None
    unflushed: int = 0
    """Bytes appended and not yet deleted by the flusher (open and sealed segments)."""

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # A second receiver on this spool would seal, flush and delete segments the first
        # is still appending to (and acknowledging from): refuse to start instead. The
        # folder itself is locked (flock), until close(); a crash releases it.
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError(f"{self.folder} is in use by another pyflare receive") from None
        self._owner_fd = fd
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
            # Unbuffered: each record is written at once, so a failed write can be undone.
            handle = open(path, "ab", buffering=0)  # noqa: SIM115
            segment = _Segment(kind, path, handle, time.monotonic())
            self._open[kind] = segment
        if kind == "pb":
            record = varint(len(payload)) + payload
        else:
            record = payload.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n"
        try:
            _write_all(segment.handle, record)
        except OSError:
            # Cut the partial record off, so later records are not framed after torn bytes.
            os.ftruncate(segment.handle.fileno(), segment.size)
            raise
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
            self._check_not_failed(ticket)
            upto = self._written
            handles = [s.handle for s in (*self._sealing, *self._open.values())]
            try:
                await asyncio.get_running_loop().run_in_executor(None, _flush_and_sync, handles)
            except OSError:
                # After a failed fsync the kernel may report later ones as good: never
                # write to these segments again; new requests start new segments. Every
                # request written so far and not yet durable fails, not only this one.
                self._failed = self._written
                self._retire_open()
                raise
            self._synced = max(self._synced, upto)

    def _check_not_failed(self, ticket: int) -> None:
        if ticket <= self._failed:
            raise OSError("an fsync of the spool failed before this request was durable; retry it")

    def _retire_open(self) -> None:
        for segment in list(self._open.values()):
            segment.handle.close()
            os.replace(segment.path, segment.path.with_suffix(""))
            del self._open[segment.kind]

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
            # Take the segments out of ``_open`` before awaiting the fsync: a request
            # appended meanwhile goes to a new segment, which its own sync() covers.
            for segment in [s for s in self._open.values() if s.size]:
                self._sealing.append(self._open.pop(segment.kind))
            if not self._sealing:
                return []
            upto = self._written
            handles = [s.handle for s in self._sealing]
            try:
                await asyncio.get_running_loop().run_in_executor(None, _flush_and_sync, handles)
            except OSError:
                # What was acknowledged is on disk already; what was not is refused (its
                # sync() fails), and the segment still goes to the flusher as it is.
                self._failed = self._written
            else:
                self._synced = max(self._synced, upto)
            sealed = []
            for segment in self._sealing:
                segment.handle.close()
                final = segment.path.with_suffix("")
                os.replace(segment.path, final)
                sealed.append(final)
            self._sealing.clear()
            _sync_dir(self.folder)
            return sealed

    def close(self) -> None:
        """Close open handles without sealing (a crash-like stop; recover() seals them)."""
        for segment in (*self._sealing, *self._open.values()):
            segment.handle.close()
        self._open.clear()
        self._sealing.clear()
        if self._owner_fd is not None:
            os.close(self._owner_fd)  # releases the lock: another receiver may take over
            self._owner_fd = None

    def flushed(self, path: Path, size: int) -> None:
        """The flusher made ``path``'s spans visible and deleted it."""
        self.unflushed = max(0, self.unflushed - size)


def _write_all(handle: IO[bytes], data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = handle.write(view)
        if not written:
            raise OSError("short write to the spool")
        view = view[written:]


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
