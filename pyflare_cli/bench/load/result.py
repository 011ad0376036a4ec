"""The outcome of a load run, as plain data: counts, rates, latency percentiles, series.

The engine fills this once at the end; renderers (the script now, ``pyflare bench load``
later) and threshold gates only read it. ``to_dict`` is the stable JSON form.

Definitions: a request is *acknowledged* on HTTP 2xx or gRPC OK; *accepted spans* are the
spans of acknowledged requests minus those a partial success refused; *failed* requests
are those rejected by status plus transport errors. Achieved ``spans_per_s`` is accepted
spans over ``duration_s``: from the start to the last answer, and in rate mode at least to
the end of the schedule (when the first send that was not due would have been due).
Percentiles are nearest-rank over acknowledged requests. ``per_second_spans`` and
``per_second_failed`` bucket whole seconds since the start by answer time; the last bucket
is usually partial. In rate mode ``per_second_offered`` is what the schedule offers in each
of those seconds (the integral of its rate), to read the achieved series against; ``stages``
are the k6-like stages of a ramping run (empty otherwise, ``rate_spans_per_s`` is then the
constant rate or None in max mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pyflare_cli.bench.load.schedule import Stage
from pyflare_cli.bench.load.thresholds import Verdict


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles of a set of latencies, in milliseconds."""

    count: int
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> LatencySummary | None:
        import numpy as np  # here: `pyflare bench --help` declares options from this package

        if not seconds:
            return None
        ms = np.asarray(seconds, dtype=np.float64) * 1e3
        p50, p90, p95, p99 = np.percentile(ms, [50, 90, 95, 99], method="inverted_cdf")
        return cls(
            len(ms),
            float(p50),
            float(p90),
            float(p95),
            float(p99),
            float(ms.max()),
            float(ms.mean()),
        )


@dataclass(frozen=True)
class CpuUsage:
    """CPU time of this process (all threads) over the sending phase; ``percent`` is of one
    core, so 200 means both cores of a 2-core machine were busy."""

    user_s: float
    system_s: float
    percent: float


@dataclass(frozen=True)
class LoadResult:
    """Everything a load run measured. Latency is from the scheduled send time in rate
    mode (see the engine), from the actual send in max mode."""

    protocol: str
    target: str
    mode: str
    rate_spans_per_s: float | None
    concurrency: int
    batch: int
    gzip: bool
    uniqueness: str
    pool_requests: int
    pool_spans: int
    pool_bytes: int
    duration_s: float
    sent_requests: int
    sent_spans: int
    sent_bytes: int
    acked_requests: int
    accepted_spans: int
    partial_rejected_spans: int
    rejected: dict[str, int]
    transport_errors: dict[str, int]
    due_requests: int | None
    behind_schedule: int
    spans_per_s: float
    latency: LatencySummary | None
    service_latency: LatencySummary | None
    schedule_lag: LatencySummary | None
    per_second_spans: list[int]
    per_second_failed: list[int]
    cpu: CpuUsage
    partial_messages: dict[str, int] = field(default_factory=dict)
    bad_ack_bodies: int = 0
    verdicts: list[Verdict] = field(default_factory=list)
    per_second_offered: list[int] | None = None
    stages: tuple[Stage, ...] = ()

    @property
    def rejected_requests(self) -> int:
        return sum(self.rejected.values())

    @property
    def transport_error_requests(self) -> int:
        return sum(self.transport_errors.values())

    @property
    def failed_requests(self) -> int:
        return self.rejected_requests + self.transport_error_requests

    @property
    def error_rate_pct(self) -> float | None:
        return _pct(self.failed_requests, self.sent_requests)

    @property
    def passed(self) -> bool:
        return all(verdict.passed for verdict in self.verdicts)

    def metrics(self) -> dict[str, float | None]:
        """The flat metrics thresholds are evaluated on (see ``thresholds``)."""
        out: dict[str, float | None] = {"spans_per_s": self.spans_per_s}
        for name in ("p50", "p90", "p95", "p99", "max", "mean"):
            out[f"{name}_ms"] = getattr(self.latency, f"{name}_ms") if self.latency else None
        counts = {
            "errors": (self.failed_requests, self.sent_requests),
            "rejected": (self.rejected_requests, self.sent_requests),
            "transport": (self.transport_error_requests, self.sent_requests),
            "partial": (self.partial_rejected_spans, self.sent_spans),
            "behind": (self.behind_schedule, self.due_requests or 0),
        }
        for name, (count, total) in counts.items():
            out[name] = float(count)
            out[f"{name}_pct"] = _pct(count, total)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field, plus the derived totals and ``passed``."""
        out = asdict(self)
        out.update(
            stages=[asdict(stage) for stage in self.stages],
            rejected_requests=self.rejected_requests,
            transport_error_requests=self.transport_error_requests,
            failed_requests=self.failed_requests,
            error_rate_pct=self.error_rate_pct,
            passed=self.passed,
        )
        return out


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None
