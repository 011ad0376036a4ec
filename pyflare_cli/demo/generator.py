"""Deterministic demo traces as OTLP ``ExportTraceServiceRequest`` messages.

pyflare's demo, tests and benchmarks need realistic LLM-application traces that go through
the very same decode path as real input, so this module produces OTLP protobuf rather than
rows. The output depends only on the arguments: one ``random.Random(seed)`` drives every
choice and ``end`` anchors every timestamp (the clock is never read).

Time is laid out by *span position*: a trace starting after ``k`` of the ``spans`` requested
spans is placed at the ``k / spans`` quantile of the window's traffic curve (a daily cycle per
region, plus the cost-spike user's extra traffic). The output therefore always covers the
whole window, whatever ``spans`` is, and ``batch_spans`` only changes how traces are grouped
into requests, never the traces themselves.

Random trace ids move with ``end`` (the traffic curve decides how many draws a trace
takes), so the docs cannot name one. The first failed request of the rag-api incident
that went through rag-api 2.0.0's retriever (in eu-west-1, where gpt-4o-mini then fails
more often) is therefore given a fixed id,
:data:`TOUR_TRACE_ID`, for every seed and end time: ``pyflare trace show feedc0de`` works
after any ``pyflare demo`` whose window holds the incident. Only its id is set; the
random stream, and so every other trace, is unchanged.
"""

from __future__ import annotations

import bisect
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from pyflare_cli.clock import utc
from pyflare_cli.demo.agent import chat_trace
from pyflare_cli.demo.evals import Evaluated, eval_trace
from pyflare_cli.demo.scenario import (
    BATCH_EVALUATOR,
    DEFAULT_WORLD,
    PROD,
    RAG_API,
    STAGING,
    World,
)
from pyflare_cli.demo.spans import RequestBuilder, Trace, ns

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOUR_TRACE_ID = bytes.fromhex("feedc0defa11ed000000000000000001")
"""The id of the demo's first failed request in the rag-api incident (README, the tour)."""
_MEAN_TRACE_SPANS = 16
_MIN_EVAL_TARGETS = 4


def to_ns(moment: datetime) -> int:
    """A datetime as integer nanoseconds since the Unix epoch (exact to the microsecond)."""
    return (utc(moment) - _EPOCH) // timedelta(microseconds=1) * 1000


class Timeline:
    """Maps a position in [0, 1] to an instant, following the window's traffic curve."""

    def __init__(self, world: World, end: datetime, days: float) -> None:
        self.end_ns = to_ns(end)
        minutes = max(1, round(days * 1440))
        self.start_ns = self.end_ns - minutes * 60_000_000_000
        spike_ns = to_ns(world.incidents.cost_spike.start(end))
        boost = 1.0 / (1.0 - world.incidents.cost_spike.share)
        self._cumulative: list[float] = []
        total = 0.0
        for minute in range(minutes):
            t_ns = self.start_ns + minute * 60_000_000_000
            rate = sum(world.traffic_rate(_hour(t_ns)).values())
            total += rate * (boost if t_ns >= spike_ns else 1.0)
            self._cumulative.append(total)
        self._total = total

    def at(self, position: float) -> int:
        target = min(max(position, 0.0), 1.0) * self._total
        minute = min(bisect.bisect_left(self._cumulative, target), len(self._cumulative) - 1)
        before = self._cumulative[minute - 1] if minute else 0.0
        width = self._cumulative[minute] - before
        fraction = (target - before) / width if width > 0 else 0.0
        return self.start_ns + int((minute + fraction) * 60_000_000_000)


def _hour(t_ns: int) -> float:
    return (t_ns // 1_000_000_000 % 86_400) / 3600.0


class Sessions:
    """Open conversations: a new trace continues one of them or starts a new one."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self._rng = rng
        self._open: dict[str, list[_Session]] = {}
        self.users: dict[str, tuple[list[str], list[float]]] = {}
        for index, user in enumerate(world.users, start=1):
            region = world.regions[1 if index % 5 in (1, 3) else 0].name
            users, weights = self.users.setdefault(region, ([], []))
            users.append(user)
            weights.append(1.0 / (1 + (index * 17) % len(world.users)) ** 0.7)
        self.users[STAGING] = (list(world.staging_users), [1.0] * len(world.staging_users))

    def home_region(self, user: str) -> str:
        return next(region for region, (users, _) in self.users.items() if user in users)

    def pick(self, pool_key: str, users: list[str], weights: list[float]) -> tuple[str, str]:
        rng = self._rng
        pool = self._open.setdefault(pool_key, [])
        if pool and (len(pool) >= 6 or rng.random() < 0.55):
            entry = rng.choice(pool)
        else:
            session = f"sess_{rng.getrandbits(48):012x}"
            entry = _Session(rng.choices(users, weights)[0], session, rng.randint(2, 8))
            pool.append(entry)
        entry.remaining -= 1
        if entry.remaining <= 0:
            pool.remove(entry)
        return entry.user, entry.session_id


@dataclass
class _Session:
    user: str
    session_id: str
    remaining: int


def generate_requests(
    spans: int = 50_000,
    *,
    seed: int = 7,
    end: datetime,
    days: float = 3.0,
    batch_spans: int = 5_000,
    world: World = DEFAULT_WORLD,
) -> Iterator[ExportTraceServiceRequest]:
    """Yield requests of whole traces, about ``batch_spans`` spans each, ``spans`` in all.

    Generation stops after the first whole trace that brings the total to ``spans`` or more.
    ``end`` (naive means UTC) is the end of the ``days``-long window every span lies in.
    """
    if days <= 0 or batch_spans <= 0:
        raise ValueError("days and batch_spans must be positive")
    run = _Run(world, random.Random(seed), utc(end), days)
    total = 0
    while total < spans:
        t0 = run.timeline.at((total + run.rng.random() * _MEAN_TRACE_SPANS) / spans)
        tr = run.trace(t0)
        total += len(tr.spans)
        run.builder.span_count += len(tr.spans)
        if run.builder.span_count >= batch_spans:
            yield run.builder.finish()
    if run.builder.span_count:
        yield run.builder.finish()


class _Run:
    """The state of one generation: the random stream, open sessions, recent traces."""

    def __init__(self, world: World, rng: random.Random, end: datetime, days: float) -> None:
        self.world, self.rng, self.end = world, rng, end
        self.timeline = Timeline(world, end, days)
        self.sessions = Sessions(world, rng)
        self.builder = RequestBuilder(world)
        self.recent: deque[Evaluated] = deque(maxlen=200)
        self.tour_planted = False
        inc = world.incidents
        self.deploy_ns = to_ns(inc.rag_deploy.start(end))
        self.drift_ns = to_ns(inc.prompt_drift.start(end))
        self.spike_ns = to_ns(inc.cost_spike.start(end))
        self.shift_ns = to_ns(inc.embedding_shift.start(end))
        self.main_models = [name for name, _ in world.main_model_weights]
        self.main_weights = [weight for _, weight in world.main_model_weights]

    def trace(self, t0: int) -> Trace:
        """Build the next trace, starting at ``t0``: an evaluation run or a chat request."""
        world, rng = self.world, self.rng
        done: list[Evaluated] = []
        if len(self.recent) >= _MIN_EVAL_TARGETS and rng.random() < world.eval_share:
            done = [target for target in self.recent if target.end_ns < t0]
        if len(done) >= _MIN_EVAL_TARGETS:
            tr = self._new_trace(t0, PROD, world.regions[0].name)
            eval_trace(tr, t0, rng.sample(done, min(len(done), rng.randint(4, 8))))
            _clamp_to_end(tr, self.timeline.end_ns)
            return tr
        return self._chat(t0)

    def _chat(self, t0: int) -> Trace:
        world, rng, sessions = self.world, self.rng, self.sessions
        spike = world.incidents.cost_spike
        is_spike = t0 >= self.spike_ns and rng.random() < spike.share
        if is_spike:
            env, user, region = PROD, spike.user, sessions.home_region(spike.user)
            _, session = sessions.pick("spike", [user], [1.0])
        elif rng.random() < world.staging_share:
            env, region = STAGING, world.regions[0].name
            user, session = sessions.pick(STAGING, *sessions.users[STAGING])
        else:
            env = PROD
            rates = world.traffic_rate(_hour(t0))
            region = rng.choices(list(rates), list(rates.values()))[0]
            user, session = sessions.pick(region, *sessions.users[region])
        tr = self._new_trace(t0, env, region)
        deploy = world.incidents.rag_deploy
        tr.user, tr.session, tr.cost_spike = user, session, is_spike
        tr.rag_deployed = tr.versions[RAG_API] == deploy.new_version
        tr.model_degraded = env == PROD and region == deploy.region and t0 >= self.deploy_ns
        tr.prompt_drift, tr.embedding_shift = t0 >= self.drift_ns, t0 >= self.shift_ns
        model = spike.model if is_spike else rng.choices(self.main_models, self.main_weights)[0]
        failed = chat_trace(tr, t0, model)
        if not self.tour_planted and failed and tr.model_degraded and _retrieves(tr):
            self.tour_planted = True
            tr.trace_id = TOUR_TRACE_ID
            for span in tr.spans:
                span.trace_id = TOUR_TRACE_ID
        last = _clamp_to_end(tr, self.timeline.end_ns)
        if env == PROD:
            self.recent.append(Evaluated(tr.trace_id, tr.spans[0].span_id, failed, last))
        return tr

    def _new_trace(self, t0: int, env: str, region: str) -> Trace:
        world = self.world
        at = _EPOCH + timedelta(microseconds=t0 // 1000)
        versions = {
            svc.name: world.service_version(svc.name, env, region, at, self.end)
            for svc in world.services
            if env == PROD or svc.name != BATCH_EVALUATOR
        }
        return Trace(world, self.rng, self.builder, env, region, versions)


def _retrieves(tr: Trace) -> bool:
    """Whether the trace called rag-api's retriever (the incident's slower half)."""
    return tr.rag_deployed and any(span.name == "retrieve" for span in tr.spans)


def _clamp_to_end(tr: Trace, end_ns: int) -> int:
    """Move a trace that would outlast ``end`` back to finish just before it; return its end."""
    last = max(span.end_time_unix_nano for span in tr.spans)
    if last <= end_ns:
        return last
    delta = last - end_ns + ns(tr.rng.uniform(1.0, 1000.0))
    for span in tr.spans:
        span.start_time_unix_nano -= delta
        span.end_time_unix_nano -= delta
        for ev in span.events:
            ev.time_unix_nano -= delta
    return last - delta
