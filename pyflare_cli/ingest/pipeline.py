"""Ingest inputs into the store: expand paths, skip known sources, decode, redact, commit.

Each source commits atomically (all its spans or none) and is recorded by its sha256, so
ingesting the same file twice adds nothing. Records that cannot be read go to the dead
letters; a file that cannot be read at all is reported and the others still go in.
Decoding runs in worker processes (:mod:`pyflare_cli.ingest.workers`) when the input is big
enough to pay for them; this module commits what they wrote.
"""

from __future__ import annotations

import errno
import os
import sys
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import polars as pl
import zstandard
from google.protobuf.message import DecodeError

from pyflare_cli.errors import StoreWriteError
from pyflare_cli.ingest.inputs import STDIN, file_digest, spool_stdin
from pyflare_cli.ingest.redaction import RedactionConfig
from pyflare_cli.ingest.report import FileResult, IngestReport
from pyflare_cli.ingest.workers import Decoder, Treatment
from pyflare_cli.sources.opening import Format, UnreadableInput, sniff
from pyflare_cli.sources.raw import DeadLetter
from pyflare_cli.sources.tasks import split
from pyflare_cli.store.catalog import Catalog, SourceRecord
from pyflare_cli.store.dead_letter import DeadLetterWriter
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.writer import SpanWriter, recover

if TYPE_CHECKING:
    from pyflare_cli.ingest.sampling import SamplingConfig

STORE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})
"""Write errors that say the store is unusable, not that an input is unreadable."""
DATA_ERRORS: tuple[type[Exception], ...] = (
    EOFError,
    RecursionError,
    ValueError,
    zlib.error,
    zstandard.ZstdError,
    DecodeError,
)
"""What the decoders raise on a file's content (not the store's): that file alone is refused.

Anything else (a locked catalog, a bug) still stops the run, so that the receiver retries
and a defect is never reported as a bad input.
"""
PARALLEL_MIN_BYTES = 4 << 20
"""Below this much input, worker start-up costs more than it saves."""


Progress = Callable[[int], None]
"""Called with the number of input bytes just processed; per file, the calls add up to its size."""


class _FileProgress:
    """Reports one file's progress in bytes on disk: never more than its size, in total."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self.size = 0
        self._done = 0

    def __call__(self, processed: int) -> None:
        step = max(0, min(processed, self.size - self._done))
        if step and self._progress is not None:
            self._progress(step)
        self._done += step

    def finish(self) -> None:
        self(self.size - self._done)


@dataclass
class Ingestor:
    """Ingests sources into one store (see module docstring)."""

    root: Path
    redaction: RedactionConfig | None = None
    workers: int = field(default_factory=lambda: min(os.cpu_count() or 1, 4))
    today: datetime = field(default_factory=lambda: datetime.now(UTC))
    sampling: SamplingConfig | None = None

    def __post_init__(self) -> None:
        self.layout = StoreLayout(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.layout.catalog)
        recover(self.layout, self.catalog)
        self._decoder: Decoder | None = None

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
        self.catalog.close()

    def _decoder_for_run(self) -> Decoder:
        treatment = Treatment(self.redaction, self.sampling)
        decoder = self._decoder
        if decoder is None or decoder.workers != self.workers or decoder.treatment != treatment:
            if decoder is not None:
                decoder.close()
            decoder = self._decoder = Decoder(self.workers, self.root, treatment)
        return decoder

    def ingest(
        self,
        paths: list[str],
        progress: Progress | None = None,
        stdin: BinaryIO | None = None,
        label: str | None = None,
        fmt: Format | None = None,
    ) -> IngestReport:
        """Ingest every path; ``label`` names the source in the catalog instead of its path.

        ``fmt`` skips format detection, for callers that wrote the file themselves (the
        receiver's spool), where a torn or tiny file could otherwise look like text.
        """
        report = IngestReport()
        started = time.perf_counter()
        decoder = self._decoder_for_run()
        for item in paths:
            file_progress = _FileProgress(progress)
            try:
                result = self._ingest_one(item, decoder, file_progress, stdin, label, fmt)
            finally:
                file_progress.finish()
            report.files.append(result)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_one(
        self,
        item: str,
        decoder: Decoder,
        progress: _FileProgress,
        stdin: BinaryIO | None,
        label: str | None,
        known_format: Format | None = None,
    ) -> FileResult:
        spooled: Path | None = None
        result = FileResult(path=label or ("<stdin>" if item == STDIN else item))
        try:
            if item == STDIN:
                spooled = spool_stdin(stdin or sys.stdin.buffer, self.root / "tmp")
                path = spooled
            else:
                path = Path(item)
                if not path.is_file():
                    raise UnreadableInput("no such file")
            size = path.stat().st_size
            progress.size = size
            catalog_path = label or ("<stdin>" if item == STDIN else str(path.resolve()))
            seen = any(r.size == size for r in self.catalog.find_by_path(catalog_path))
            with ThreadPoolExecutor(1) as hasher:
                # Hash while decoding (hashlib releases the GIL): the digest is only needed
                # to commit. A file seen at this path and size is probably a re-run, so it
                # is hashed first, to skip it without decoding.
                digest = hasher.submit(file_digest, path)
                if seen and self._is_known(digest.result()[0], result):
                    return result
                fmt = known_format or sniff(path)
                result.format = fmt.value
                self._decode_and_commit(
                    path, fmt, digest, size, result, decoder, progress, catalog_path
                )
        except OSError as exc:
            if exc.errno in STORE_ERRNOS:
                raise StoreWriteError(
                    f"cannot write to the store {self.root}: {_reason(exc)}"
                ) from exc
            result.status = "failed"
            result.error = f"{result.path}: {_reason(exc)}"
            result.retryable = True
        except UnreadableInput as exc:
            result.status = "failed"
            result.error = f"{result.path}: {_reason(exc)}"
        except DATA_ERRORS as exc:
            # A file the decoders choke on (a truncated .gz, a broken .zst, JSON nested
            # past the recursion limit...) is refused alone; the run goes on.
            result.status = "failed"
            result.error = f"{result.path}: {_refusal(exc)}"
            result.spans = result.traces = result.dead_lettered = result.skipped = 0
        finally:
            if spooled is not None:
                spooled.unlink(missing_ok=True)
        return result

    def _is_known(self, sha: str, result: FileResult) -> bool:
        """Mark ``result`` a duplicate when a source with this digest is in the store."""
        known = self.catalog.find(sha)
        if known is None or known.state != "done":
            return False
        result.status, result.format = "duplicate", known.format
        return True

    def _decode_and_commit(
        self,
        path: Path,
        fmt: Format,
        digest: Future[tuple[str, int]],
        size: int,
        result: FileResult,
        decoder: Decoder,
        progress: _FileProgress,
        catalog_path: str,
    ) -> None:
        writer = SpanWriter(self.layout)
        dead = DeadLetterWriter(self.layout, result.path, self.today.date())
        trace_ids: list[pl.Series] = []
        parallel = size >= PARALLEL_MIN_BYTES
        try:
            try:
                for outcome in decoder.run(split(path, fmt, result.path), parallel):
                    writer.adopt(outcome.parts, outcome.rows)
                    trace_ids.append(outcome.trace_ids)
                    dead.write(outcome.dead)
                    result.skipped += outcome.skipped
                    result.sampled_out += outcome.sampled_out
                    if progress:
                        progress(outcome.size)
            except UnreadableInput as exc:
                if writer.rows == 0 and dead.count == 0:
                    raise
                dead.write([DeadLetter(result.path, "rest of the file", _reason(exc), exc.record)])
            result.spans = writer.rows
            result.dead_lettered = dead.count
            if writer.rows == 0 and result.skipped == result.sampled_out == 0:
                if dead.count:
                    # Not one record was a span: an unknown format, never "ingested".
                    raise UnreadableInput(
                        f"no span could be read ({dead.count} record(s) dead-lettered -> "
                        f"{dead.path})"
                    )
                raise UnreadableInput("no spans found")
            if trace_ids:
                result.traces = pl.concat(trace_ids).n_unique()
            sha = digest.result()[0]
            if self._is_known(sha, result):
                writer.abort()
                result.spans = result.traces = result.dead_lettered = result.skipped = 0
                return
            record = SourceRecord(
                sha256=sha,
                path=catalog_path,
                size=size,
                format=fmt.value,
                rows=writer.rows,
                dead_lettered=dead.count,
                ingested_at=self.today.isoformat(),
                state="committing",
                files=writer.final_names(),
            )
            if not writer.commit(self.catalog, record):
                self._is_known(sha, result)
                result.spans = result.traces = result.dead_lettered = result.skipped = 0
        except BaseException:
            writer.abort()
            raise
        finally:
            dead.close()
            if dead.count:
                result.dead_letter_file = str(dead.path)


def _refusal(exc: BaseException) -> str:
    """Why a file the decoders raised on is refused, in words a user can act on."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, EOFError):
        return f"truncated compressed data ({detail})"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply to read"
    if type(exc).__module__.startswith(("zstandard", "gzip", "zlib")):
        return f"corrupt compressed data ({detail})"
    return f"cannot be read ({detail})"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)
