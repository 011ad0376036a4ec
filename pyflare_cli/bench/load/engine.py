"""The load run: ``concurrency`` async clients sending the pool's bodies, closed or open model.

*Max* mode (closed model): each client sends its next request as soon as the previous one is
answered, so throughput is whatever the receiver acknowledges; latency is measured from the
actual send. This is the mode for "how fast can it ingest".

*Rate* mode (open model): send ``k`` is *scheduled* at ``start + spans_before(k) / rate``
(with stages: when the ramping rate's integral reaches ``spans_before(k)``, see
``schedule``), independently of how fast answers come back. A free client claims the next
slot, prepares its body, sleeps until the scheduled time (or sends at once if already late)
and measures latency **from the scheduled time**, not from when it managed to send. When the
receiver stalls and every client is waiting, the sends that should have happened meanwhile
still count their waiting time, instead of silently not being issued (coordinated omission,
which would hide a stall behind a handful of slow samples). ``service_latency`` (from the
actual send) and ``schedule_lag`` (how late sends started) are reported beside it, so a late
client is told apart from a slow receiver. At the end of the duration, slots that were due
but never started are counted as ``behind_schedule``; in-flight requests are awaited (up to
the request timeout), so a run lasts at most duration + timeout.

asyncio's timers wake up to about a millisecond late (epoll waits in whole milliseconds), so
``schedule_lag`` is typically 0.5-1 ms even on an idle client; it is part of the latency from
the schedule, and visible beside it.

The clock is ``time.perf_counter``; the pool is built before it starts. Per request the
engine does a constant amount of Python work (claim a slot, copy/patch the body, one
``send``, a few list appends), independent of the span count.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import replace

import numpy as np

from pyflare_cli.bench.load.config import LoadConfig, LoadConfigError, Target, validate
from pyflare_cli.bench.load.payloads import Encoding, PayloadPool, build_pool
from pyflare_cli.bench.load.result import CpuUsage, LatencySummary, LoadResult
from pyflare_cli.bench.load.schedule import Schedule
from pyflare_cli.bench.load.senders import ACK, REJECTED, GrpcSender, HttpSender, Outcome, Sender
from pyflare_cli.bench.load.thresholds import evaluate

_MAX_MESSAGES = 5


def encoding_of(config: LoadConfig) -> Encoding:
    return "json" if config.protocol == "http-json" else "protobuf"


def pool_for(config: LoadConfig) -> PayloadPool:
    """The payload pool ``config`` needs (gRPC bodies are compressed by gRPC itself)."""
    return build_pool(
        batch=config.batch,
        spans=config.pool_spans,
        encoding=encoding_of(config),
        gzip=config.gzip and config.protocol != "grpc",
        unique_ids=config.unique_ids,
        seed=config.seed,
    )


def run_load(config: LoadConfig, pool: PayloadPool | None = None) -> LoadResult:
    """Validate ``config``, build the pool (unless given), run, and return the result.

    Raises :class:`LoadConfigError` for a refused configuration, before anything is sent.
    """
    validate(config)
    return asyncio.run(run_load_async(config, pool or pool_for(config)))


async def run_load_async(config: LoadConfig, pool: PayloadPool) -> LoadResult:
    """:func:`run_load` inside a running event loop, with a pool built for ``config``."""
    target = validate(config)
    expected = (encoding_of(config), config.gzip and config.protocol != "grpc")
    if (pool.encoding, pool.gzip) != expected:
        raise LoadConfigError(
            f"the payload pool is {pool.encoding} (gzip {pool.gzip}); this run needs "
            f"{expected[0]} (gzip {expected[1]})"
        )
    sender = make_sender(config, target)
    run = _Run(config, pool, sender)
    try:
        await run.execute()
    finally:
        await sender.aclose()
    result = run.result(target)
    return replace(result, verdicts=evaluate(config.thresholds, result.metrics()))


def make_sender(config: LoadConfig, target: Target) -> Sender:
    if config.protocol == "grpc":
        return GrpcSender(
            target, gzip=config.gzip, concurrency=config.concurrency, timeout_s=config.timeout_s
        )
    return HttpSender(
        target,
        encoding=encoding_of(config),
        gzip=config.gzip,
        concurrency=config.concurrency,
        timeout_s=config.timeout_s,
    )


class _Recorder:
    """Per-request measurements, appended in O(1) each."""

    def __init__(self) -> None:
        self.sent_requests = self.sent_spans = self.sent_bytes = 0
        self.partial_rejected = self.bad_ack_bodies = 0
        self.latency: list[float] = []
        self.service: list[float] = []
        self.ack_done: list[float] = []
        self.ack_spans: list[int] = []
        self.lag: list[float] = []
        self.fail_done: list[float] = []
        self.rejected: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.partial_messages: Counter[str] = Counter()

    def record(
        self, outcome: Outcome, spans: int, size: int, due: float, sent: float, done: float
    ) -> None:
        self.sent_requests += 1
        self.sent_spans += spans
        self.sent_bytes += size
        self.lag.append(sent - due)
        if outcome.kind == ACK:
            self.latency.append(done - due)
            self.service.append(done - sent)
            self.ack_done.append(done)
            rejected = min(max(outcome.rejected_spans, 0), spans)
            self.ack_spans.append(spans - rejected)
            if rejected or outcome.message:
                self.partial_rejected += rejected
                self.partial_messages[outcome.message[:200]] += 1
            if outcome.key != "ok":
                self.bad_ack_bodies += 1
            return
        self.fail_done.append(done)
        (self.rejected if outcome.kind == REJECTED else self.errors)[outcome.key] += 1


class _Run:
    def __init__(self, config: LoadConfig, pool: PayloadPool, sender: Sender) -> None:
        self.config, self.pool, self.sender = config, pool, sender
        self.cap = config.requests if config.requests is not None else sys.maxsize
        self.schedule: Schedule | None = config.schedule()
        self.next = 0
        self.rec = _Recorder()
        self.start = self.deadline = self.end = 0.0
        self.cpu = CpuUsage(0.0, 0.0, 0.0)

    async def execute(self) -> None:
        before = os.times()
        self.start = time.perf_counter()
        self.deadline = self.start + self.config.limit_s
        await asyncio.gather(*(self._client(i) for i in range(self.config.concurrency)))
        self.end = time.perf_counter()
        after = os.times()
        user, system = after.user - before.user, after.system - before.system
        wall = max(self.end - self.start, 1e-9)
        self.cpu = CpuUsage(user, system, 100.0 * (user + system) / wall)

    async def _client(self, worker: int) -> None:
        pool, send, record = self.pool, self.sender.send, self.rec.record
        schedule, clock, heavy = self.schedule, time.perf_counter, pool.heavy_per_send
        while True:
            k = self.next
            now = clock()
            if k >= self.cap or now >= self.deadline:
                return
            if schedule is None:
                due = now
            else:
                # Due iff spans_before(k) < total_spans: the rule _due_requests counts by.
                offset = schedule.time_of(pool.spans_before(k))
                if offset is None:
                    return
                due = self.start + offset
            self.next = k + 1
            body = await asyncio.to_thread(pool.body, k) if heavy else pool.body(k)
            wait = due - clock()
            if wait > 0:
                await asyncio.sleep(wait)
            sent = clock()
            outcome = await send(body, worker)
            done = clock()
            due_or_sent = sent if schedule is None else due
            record(outcome, pool.spans_of(k), len(body), due_or_sent, sent, done)

    def _due_requests(self) -> int | None:
        if self.schedule is None:
            return None
        return min(self.pool.sends_before(self.schedule.total_spans), self.cap)

    def result(self, target: Target) -> LoadResult:
        config, pool, rec = self.config, self.pool, self.rec
        due = self._due_requests()
        duration = self.end - self.start
        if due is not None and self.schedule is not None:
            # The offered window ends when the next, unsent slot would have been due.
            duration = max(duration, self.schedule.window_end(self.pool.spans_before(due)))
        seconds = int(duration) + 1
        accepted = sum(rec.ack_spans)
        return LoadResult(
            protocol=config.protocol,
            target=target.address,
            mode=config.mode,
            rate_spans_per_s=config.rate,
            concurrency=config.concurrency,
            batch=config.batch,
            gzip=config.gzip,
            uniqueness=pool.uniqueness,
            pool_requests=len(pool),
            pool_spans=pool.spans,
            pool_bytes=pool.body_bytes,
            duration_s=duration,
            sent_requests=rec.sent_requests,
            sent_spans=rec.sent_spans,
            sent_bytes=rec.sent_bytes,
            acked_requests=len(rec.ack_done),
            accepted_spans=accepted,
            partial_rejected_spans=rec.partial_rejected,
            rejected=dict(rec.rejected.most_common()),
            transport_errors=dict(rec.errors.most_common()),
            due_requests=due,
            behind_schedule=max(0, due - rec.sent_requests) if due is not None else 0,
            spans_per_s=accepted / duration if duration > 0 else 0.0,
            latency=LatencySummary.of(rec.latency),
            service_latency=LatencySummary.of(rec.service),
            schedule_lag=LatencySummary.of(rec.lag) if self.schedule is not None else None,
            per_second_spans=self._per_second(rec.ack_done, rec.ack_spans, seconds),
            per_second_offered=(
                [round(v) for v in self.schedule.per_second(seconds)]
                if self.schedule is not None
                else None
            ),
            per_second_failed=self._per_second(rec.fail_done, None, seconds),
            cpu=self.cpu,
            partial_messages=dict(rec.partial_messages.most_common(_MAX_MESSAGES)),
            bad_ack_bodies=rec.bad_ack_bodies,
            stages=config.stages,
        )

    def _per_second(self, done: list[float], weights: list[int] | None, seconds: int) -> list[int]:
        """Counts (or summed weights) per whole second since the start, by answer time."""
        if not done:
            return [0] * seconds
        index = ((np.asarray(done) - self.start) // 1.0).astype(np.int64)
        counts = np.bincount(index, weights=weights, minlength=seconds)
        return [int(v) for v in counts]
