"""What ``pyflare ingest`` did, per input and in total: the result the command prints.

Apart from the pipeline so that the command, the demo and the receiver can read a report
without importing the machinery (worker processes, Polars) that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileResult:
    """What happened to one input."""

    path: str
    format: str | None = None
    status: str = "ingested"  # ingested | duplicate | failed
    spans: int = 0
    traces: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    error: str | None = None
    dead_letter_file: str | None = None
    sampled_out: int = 0
    retryable: bool = False
    """Failed for an OS error (too many open files, no memory...), not for its content: the
    receiver keeps such a spool segment and tries again instead of dead-lettering it."""


@dataclass
class IngestReport:
    """The summary printed at the end of ``pyflare ingest``."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def spans(self) -> int:
        return sum(f.spans for f in self.files)

    @property
    def traces(self) -> int:
        return sum(f.traces for f in self.files)

    @property
    def dead_lettered(self) -> int:
        return sum(f.dead_lettered for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def spans_per_second(self) -> float:
        return self.spans / self.seconds if self.seconds > 0 else 0.0
