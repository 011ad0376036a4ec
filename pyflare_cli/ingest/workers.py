"""Decode, treat and write tasks as temporary parts, inline or in worker processes.

Why its own module: this is the half of ingest that runs away from the main process, with
its own concerns (spawning a pool with one Polars thread per worker, workers that die with
their parent, in-order results, and parts of abandoned tasks deleted). What a worker returns
is committed by :mod:`pyflare_cli.ingest.pipeline`, which alone touches the catalog.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pyflare_cli.ingest.redaction import RedactionConfig, redact
from pyflare_cli.sources.decoding import decode
from pyflare_cli.sources.opening import UnreadableInput
from pyflare_cli.sources.raw import DeadLetter
from pyflare_cli.sources.tasks import Task
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.writer import SpanWriter

if TYPE_CHECKING:
    from pyflare_cli.ingest.sampling import SamplingConfig


@dataclass
class TaskOutcome:
    """What one decoded task left behind: temporary parts to commit, and its tallies."""

    parts: list[tuple[Path, Path]]
    rows: int
    trace_ids: pl.Series
    dead: list[DeadLetter]
    skipped: int
    size: int
    sampled_out: int = 0


@dataclass(frozen=True)
class Treatment:
    """What happens to decoded spans before they are written: redaction, then sampling."""

    redaction: RedactionConfig | None = None
    sampling: SamplingConfig | None = None

    def apply(self, spans: pl.DataFrame) -> pl.DataFrame:
        if self.redaction is not None:
            spans = redact(spans, self.redaction)
        if self.sampling is not None:
            from pyflare_cli.ingest.sampling import apply_sampling

            spans = apply_sampling(spans, self.sampling)
        return spans


def process_task(task: Task, root: Path, treatment: Treatment, owner: int) -> TaskOutcome:
    """Decode, treat and write one task as temporary parts (runs in a worker process).

    ``owner`` is the pid of the ingest's main process, which commits the parts.
    """
    decoded = decode(task)
    spans = treatment.apply(decoded.spans)
    sampled_out = decoded.spans.height - spans.height if treatment.sampling else 0
    writer = SpanWriter(StoreLayout(root), owner=owner)
    try:
        writer.write(spans)
    except BaseException:
        writer.abort()  # the parts written before the error: the main process never sees them
        raise
    return TaskOutcome(
        parts=list(writer.pending),
        rows=writer.rows,
        trace_ids=spans.get_column("trace_id").unique(),
        dead=decoded.dead,
        skipped=decoded.skipped,
        size=task.size,
        sampled_out=sampled_out,
    )


class Decoder:
    """Runs :func:`process_task` inline, or in worker processes, yielding in task order."""

    def __init__(self, workers: int, root: Path, treatment: Treatment) -> None:
        self.workers = workers
        self.root = root
        self.treatment = treatment
        self._pool: ProcessPoolExecutor | None = None

    def close(self) -> None:
        """Stop the worker processes (started on first parallel use, then kept)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _start_pool(self) -> ProcessPoolExecutor:
        # One Polars thread per worker: the workers already use every core.
        previous = os.environ.get("POLARS_MAX_THREADS")
        os.environ["POLARS_MAX_THREADS"] = "1"
        try:
            return ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("spawn"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
        finally:
            if previous is None:
                del os.environ["POLARS_MAX_THREADS"]
            else:
                os.environ["POLARS_MAX_THREADS"] = previous

    def run(self, tasks: Iterator[Task], parallel: bool) -> Iterator[TaskOutcome]:
        if not parallel or self.workers <= 1:
            for task in tasks:
                yield process_task(task, self.root, self.treatment, os.getpid())
            return
        if self._pool is None:
            self._pool = self._start_pool()
        in_flight: list[Future[TaskOutcome]] = []
        try:
            for task in tasks:
                future = self._pool.submit(
                    process_task, task, self.root, self.treatment, os.getpid()
                )
                in_flight.append(future)
                if len(in_flight) > self.workers:
                    yield in_flight.pop(0).result()
        except UnreadableInput:
            # The rest of the input cannot be cut: the tasks already submitted still go in
            # (their parts are written; dropping them would lose spans and leave temp files).
            for future in in_flight:
                yield future.result()
            raise
        except BaseException:
            # The file is refused as a whole: the tasks still running must not leave parts.
            _discard(in_flight)
            raise
        try:
            while in_flight:
                yield in_flight.pop(0).result()
        except BaseException:
            _discard(in_flight)
            raise


def _discard(futures: list[Future[TaskOutcome]]) -> None:
    """Cancel ``futures``, wait for those already running and delete the parts they wrote."""
    for future in futures:
        if future.cancel():
            continue
        try:
            outcome = future.result()
        except BaseException:
            continue
        for temporary, _final in outcome.parts:
            temporary.unlink(missing_ok=True)


def die_with_parent(parent: int) -> None:
    """Worker start-up: exit when ``parent`` is gone (SIGKILLed, say), not live on as an orphan.

    A killed receiver's decode workers (hundreds of MB each) kept each other alive through
    the pool's pipes; a daemon thread here notices the new parent and ends the process.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="pyflare-parent-watch", daemon=True).start()
