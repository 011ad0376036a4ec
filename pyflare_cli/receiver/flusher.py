"""Move sealed spool segments into the store, in order, and delete each once it is visible.

Runs in its own thread with one long-lived :class:`~pyflare_cli.ingest.pipeline.Ingestor`, whose
worker processes decode big segments on every core. A segment is ingested exactly like a
file given to ``pyflare ingest`` (same decoder, normalisation, redaction, dead letters),
and recorded in the catalog by its digest, so replaying a segment that was committed but
not yet deleted before a crash adds nothing.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyflare_cli.ingest.pipeline import Ingestor
from pyflare_cli.ingest.redaction import RedactionConfig
from pyflare_cli.ingest.sampling import SamplingConfig
from pyflare_cli.sources.opening import Format

SEGMENT_LABEL = "pyflare receive"


@dataclass(frozen=True)
class FlushResult:
    """One segment moved into the store (or kept, with the error, when it could not be)."""

    segment: str
    size: int
    spans: int
    dead_lettered: int
    seconds: float
    error: str | None = None
    removed: bool = True
    """Whether the segment left the spool (ingested, or moved to the dead letters)."""


class Flusher:
    """A thread that ingests the segments :meth:`submit` hands it, oldest first."""

    def __init__(
        self,
        root: Path,
        on_flush: Callable[[FlushResult], None],
        redaction: RedactionConfig | None = None,
        sampling: SamplingConfig | None = None,
        workers: int | None = None,
    ) -> None:
        self._queue: queue.Queue[Path | None] = queue.Queue()
        self._on_flush = on_flush
        self._settings = (root, redaction, sampling, workers)
        self._thread = threading.Thread(target=self._run, name="pyflare-flusher", daemon=True)
        self._thread.start()

    def submit(self, segment: Path) -> None:
        self._queue.put(segment)

    def drain_and_stop(self) -> None:
        """Flush everything submitted so far, then stop the thread and its workers."""
        self._queue.put(None)
        self._thread.join()

    def pending(self) -> int:
        return self._queue.qsize()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _ingestor(self) -> Ingestor:
        root, redaction, sampling, workers = self._settings
        ingestor = Ingestor(root, redaction=redaction, sampling=sampling)
        if workers is not None:
            ingestor.workers = workers
        return ingestor

    def _run(self) -> None:
        # The ingestor (and its SQLite catalog) lives and dies on this thread. Nothing may
        # end the thread but the drain: a store that cannot be opened (a corrupt catalog)
        # is reported for each segment, which stays in the spool and comes back later.
        ingestor: Ingestor | None = None
        try:
            while True:
                segment = self._queue.get()
                if segment is None:
                    return
                try:
                    if ingestor is None:
                        ingestor = self._ingestor()
                    result = self._flush(ingestor, segment)
                except Exception as exc:
                    error = f"cannot open the store: {type(exc).__name__}: {exc}"
                    result = FlushResult(segment.name, 0, 0, 0, 0.0, error, removed=False)
                if not result.removed and ingestor is not None:
                    # The error may have broken the ingestor for good (a worker process
                    # that died breaks its pool): take a fresh one for what follows.
                    ingestor.close()
                    ingestor = None
                with contextlib.suppress(Exception):
                    self._on_flush(result)
        finally:
            if ingestor is not None:
                ingestor.close()

    def _flush(self, ingestor: Ingestor, segment: Path) -> FlushResult:
        started = time.perf_counter()
        size = 0
        try:
            size = segment.stat().st_size
            fmt = Format.OTLP_PROTO_STREAM if segment.suffix == ".pb" else Format.OTLP_JSONL
            label = f"{SEGMENT_LABEL} {segment.name}"
            report = ingestor.ingest([str(segment)], label=label, fmt=fmt)
            (result,) = report.files
            seconds = time.perf_counter() - started
            if result.status == "failed" and result.retryable:
                # An OS error (EMFILE, ENOMEM, EAGAIN...) says nothing about the segment:
                # keep it, to be submitted again; only content goes to the dead letters.
                return FlushResult(segment.name, size, 0, 0, seconds, result.error, removed=False)
            if result.status == "failed":
                # Nothing of it could be read (a torn, never-acknowledged tail, say): keep
                # the segment as a dead letter with the reason rather than delete it.
                _dead_letter_segment(ingestor, segment, result.error or "unreadable")
                return FlushResult(segment.name, size, 0, 0, seconds, result.error)
            segment.unlink()
        except Exception as exc:  # the thread must outlive any one segment
            error = f"{type(exc).__name__}: {exc}"
            removed = not segment.exists()
            return FlushResult(segment.name, size, 0, 0, 0.0, error, removed=removed)
        return FlushResult(segment.name, size, result.spans, result.dead_lettered, seconds)


def _dead_letter_segment(ingestor: Ingestor, segment: Path, reason: str) -> None:
    folder = ingestor.layout.dead_letter_partition(ingestor.today.date())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"spool-{segment.stem}-{uuid.uuid4().hex[:8]}{segment.suffix}"
    os.replace(segment, target)
    target.with_name(target.name + ".reason").write_text(reason + "\n")
