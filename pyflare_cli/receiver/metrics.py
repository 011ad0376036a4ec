"""``pyflare receive --metrics``: the receiver's own counters on ``/metrics`` for Prometheus.

The figures are read from the receiver's :class:`~pyflare_cli.receiver.stats.Stats` (the
same counters ``/healthz`` and the status line show) at each scrape, and written by
``prometheus_client``, the reference implementation: the Prometheus text format, or
OpenMetrics when the scraper asks for it (``Accept: application/openmetrics-text``).
Served on the OTLP/HTTP port or on a port of its own; with ``--api-key`` the scraper
needs the key too (``authorization: Bearer KEY`` in Prometheus' scrape config), as the
counters are not public.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from pyflare_cli.receiver.http_app import JSON, Receive, Scope, Send, _authorized, _respond
from pyflare_cli.receiver.stats import FLUSH_BUCKETS, Stats

PREFIX = "pyflare_receiver"


class Gauges(NamedTuple):
    """What the receiver holds right now (the rest are counters in :class:`Stats`)."""

    spool_bytes: int
    spool_limit_bytes: int
    queued_segments: int
    flusher_ok: bool


class ReceiverCollector(Collector):
    """Every metric family of one receiver, read when scraped."""

    def __init__(
        self, stats: Stats, gauges: Callable[[], Gauges], transports: tuple[str, ...] = ()
    ) -> None:
        self.stats = stats
        self.gauges = gauges
        self.transports = transports
        """Transports served: their ``accepted`` series exist (at 0) before any request."""

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        requests = CounterMetricFamily(
            f"{PREFIX}_requests",
            "Export requests by transport (http, grpc) and outcome: accepted, partial (some "
            "spans rejected), or why it was refused (busy, invalid, unauthenticated, "
            "too_large, unsupported, timeout, unavailable).",
            labels=["transport", "outcome"],
        )
        answers = {(t, "accepted"): 0 for t in self.transports} | dict(s.answers)
        for (transport, outcome), n in sorted(answers.items()):
            requests.add_metric([transport, outcome], n)
        yield requests
        counters: tuple[tuple[str, str, float], ...] = (
            ("spans_accepted", "Spans acknowledged (on disk in the spool).", s.spans_accepted),
            (
                "spans_refused",
                "Spans not accepted: rejected inside accepted requests (OTLP partial "
                "success), and spans of requests refused whole once their body was decoded "
                "(every span bad, spool full or unwritable). Requests refused before or "
                "while decoding (busy, too large, undecodable, unauthenticated) have no "
                "countable spans: see pyflare_receiver_requests_total.",
                s.spans_rejected + s.spans_refused,
            ),
            ("spans_stored", "Spans flushed from the spool into the store.", s.spans_flushed),
            (
                "spans_dead_lettered",
                "Spans of flushed segments put in the dead letters.",
                s.spans_dead_lettered,
            ),
        )
        for name, text, value in counters:
            yield CounterMetricFamily(f"{PREFIX}_{name}", text, value=value)
        flushes = CounterMetricFamily(
            f"{PREFIX}_flushes", "Spool segments flushed, by outcome.", labels=["outcome"]
        )
        flushes.add_metric(["ok"], s.flushes)
        flushes.add_metric(["error"], s.flush_errors)
        yield flushes
        yield self._histogram()
        now = self.gauges()
        started = time.time() - (time.monotonic() - s.started)
        gauges: tuple[tuple[str, str, float], ...] = (
            ("spool_bytes", "Bytes in the spool not yet in the store.", now.spool_bytes),
            (
                "spool_limit_bytes",
                "Spool bytes that refuse exports (--max-spool).",
                now.spool_limit_bytes,
            ),
            ("flush_queue_segments", "Sealed segments waiting to be flushed.", now.queued_segments),
            ("flusher_up", "1 while the flusher runs without errors, else 0.", int(now.flusher_ok)),
            ("start_time_seconds", "When the receiver started (Unix time).", started),
        )
        for name, text, value in gauges:
            yield GaugeMetricFamily(f"{PREFIX}_{name}", text, value=value)

    def _histogram(self) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound, n in zip(FLUSH_BUCKETS, self.stats.flush_buckets, strict=True):
            cumulative += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        return HistogramMetricFamily(
            f"{PREFIX}_flush_duration_seconds",
            "Time to move one spool segment into the store.",
            buckets=buckets,
            sum_value=self.stats.flush_seconds_sum,
        )


def registry_of(
    stats: Stats, gauges: Callable[[], Gauges], transports: tuple[str, ...]
) -> CollectorRegistry:
    """A registry of this receiver alone (never the process-wide default one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReceiverCollector(stats, gauges, transports))
    return registry


@dataclass
class MetricsApp:
    """``GET /metrics`` as a small ASGI app; mounted on the OTLP/HTTP port or served alone."""

    registry: CollectorRegistry
    api_key: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"] != "/metrics":
            await _respond(send, 404, b'{"code": 5, "message": "not found: GET /metrics"}', JSON)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b'{"code": 12, "message": "use GET"}', JSON, allow="GET")
            return
        if self.api_key is not None and not _authorized(headers, self.api_key):
            body = b'{"code": 16, "message": "missing or wrong API key"}'
            await _respond(send, 401, body, JSON, www_authenticate="Bearer")
            return
        encoder, content_type = choose_encoder(headers.get("accept", ""))
        await _respond(send, 200, encoder(self.registry), content_type)
