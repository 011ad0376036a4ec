"""``pyflare metrics`` in the Prometheus exposition format, written by ``prometheus_client``
(the reference implementation, so the text is exactly what Prometheus, node-exporter's
textfile collector and Grafana Agent parse): counters of LLM calls, errors, tokens and
cost, a latency histogram per model, cost per user bucket, budget gauges, alert states.

Counters count the spans in the store (or the ``--since`` window): pruning a store resets
them, which Prometheus' ``rate()`` and ``increase()`` handle as a counter reset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from pyflare_cli.analysis.stats.metrics import BUCKETS
from pyflare_cli.query.metrics import MetricsSnapshot

if TYPE_CHECKING:
    from pyflare_cli.alerting.model import Alert

CALL_LABELS = ["model", "provider", "service"]


def families(snapshot: MetricsSnapshot, alerts: Sequence[Alert] = ()) -> Iterator[Metric]:
    """Every metric family of one snapshot."""
    yield from _calls(snapshot)
    served = CounterMetricFamily(
        "pyflare_traces", "Traces, by the service of their root span.", labels=["service"]
    )
    failed = CounterMetricFamily(
        "pyflare_trace_errors", "Traces with a failed span.", labels=["service"]
    )
    for row in snapshot.traces.iter_rows(named=True):
        served.add_metric([row["service"]], row["traces"])
        failed.add_metric([row["service"]], row["errors"])
    yield served
    yield failed
    yield _latency(snapshot)
    yield from _users(snapshot)
    yield from _budgets(snapshot)
    yield _alerts(alerts)
    spans = GaugeMetricFamily("pyflare_store_spans", "Spans the figures were computed from.")
    spans.add_metric([], snapshot.spans)
    yield spans
    stamp = GaugeMetricFamily(
        "pyflare_metrics_generated_timestamp_seconds", "When these figures were computed."
    )
    stamp.add_metric([], snapshot.at.timestamp())
    yield stamp


def _calls(snapshot: MetricsSnapshot) -> Iterator[Metric]:
    calls = CounterMetricFamily(
        "pyflare_llm_calls", "Model calls (LLM, embedding, reranker).", labels=CALL_LABELS
    )
    errors = CounterMetricFamily("pyflare_llm_errors", "Failed LLM calls.", labels=CALL_LABELS)
    tokens = CounterMetricFamily(
        "pyflare_llm_tokens", "Tokens of LLM calls.", labels=[*CALL_LABELS, "direction"]
    )
    cost = CounterMetricFamily(
        "pyflare_llm_cost_usd", "Cost of LLM calls in US dollars (exact).", labels=CALL_LABELS
    )
    unpriced = CounterMetricFamily(
        "pyflare_llm_unpriced_calls",
        "LLM calls with usage but no price: their cost is missing from the cost counter.",
        labels=CALL_LABELS,
    )
    for row in snapshot.calls.iter_rows(named=True):
        key = [row["model"], row["provider"], row["service"]]
        calls.add_metric(key, row["calls"])
        errors.add_metric(key, row["errors"])
        tokens.add_metric([*key, "input"], row["input_tokens"] or 0)
        tokens.add_metric([*key, "output"], row["output_tokens"] or 0)
        cost.add_metric(key, (row["cost_micros"] or 0) / 1e6)
        unpriced.add_metric(key, row["unpriced"])
    yield from (calls, errors, tokens, cost, unpriced)


def _latency(snapshot: MetricsSnapshot) -> Metric:
    histogram = HistogramMetricFamily(
        "pyflare_llm_latency_seconds", "Latency of LLM calls.", labels=["model"]
    )
    for row in snapshot.latency.iter_rows(named=True):
        buckets = [(_bound(b), float(row[f"le_{b}"])) for b in BUCKETS]
        buckets.append(("+Inf", float(row["count"])))
        histogram.add_metric([row["model"]], buckets, sum_value=row["sum_seconds"])
    return histogram


def _bound(value: float) -> str:
    return repr(float(value))


def _users(snapshot: MetricsSnapshot) -> Iterator[Metric]:
    cost = CounterMetricFamily(
        "pyflare_user_cost_usd",
        "Cost of LLM calls per user: the top users by cost, the rest as 'other'.",
        labels=["user_bucket"],
    )
    calls = CounterMetricFamily(
        "pyflare_user_llm_calls", "LLM calls per user bucket.", labels=["user_bucket"]
    )
    for row in snapshot.users.iter_rows(named=True):
        cost.add_metric([row["user_bucket"]], (row["cost_micros"] or 0) / 1e6)
        calls.add_metric([row["user_bucket"]], row["calls"])
    yield cost
    yield calls


def _budgets(snapshot: MetricsSnapshot) -> Iterator[Metric]:
    if snapshot.budgets is None:
        return
    labels = ["budget", "scope", "period"]
    spent = GaugeMetricFamily(
        "pyflare_budget_spent_usd", "Spent in the budget's current period.", labels=labels
    )
    limit = GaugeMetricFamily("pyflare_budget_limit_usd", "The budget's limit.", labels=labels)
    used = GaugeMetricFamily("pyflare_budget_used_ratio", "Spent / limit.", labels=labels)
    projected = GaugeMetricFamily(
        "pyflare_budget_projected_usd", "Projected spend at the period's end.", labels=labels
    )
    status = GaugeMetricFamily(
        "pyflare_budget_status", "1 for the budget's status.", labels=[*labels, "status"]
    )
    for row in snapshot.budgets.iter_rows(named=True):
        key = [row["name"], row["scope"] or "", row["period"]]
        spent.add_metric(key, row["spent_usd"] or 0.0)
        limit.add_metric(key, row["limit_usd"] or 0.0)
        used.add_metric(key, row["share"] or 0.0)
        projected.add_metric(key, row["projected_usd"] or 0.0)
        status.add_metric([*key, row["status"]], 1)
    yield from (spent, limit, used, projected, status)


def _alerts(alerts: Iterable[Alert]) -> Metric:
    family = GaugeMetricFamily(
        "pyflare_alerts",
        "Alerts by rule, severity and state (pending, firing, resolved) at the last evaluation.",
        labels=["alertname", "severity", "state"],
    )
    counts = Counter(
        (a.labels.get("alertname", ""), a.labels.get("severity", ""), a.state) for a in alerts
    )
    for (name, severity, state), n in sorted(counts.items()):
        family.add_metric([name, severity, state], n)
    return family


class SnapshotCollector(Collector):
    """A ``prometheus_client`` collector serving the latest snapshot (swapped atomically)."""

    def __init__(self, snapshot: MetricsSnapshot, alerts: Sequence[Alert] = ()) -> None:
        self.current: tuple[MetricsSnapshot, Sequence[Alert]] = (snapshot, alerts)

    def update(self, snapshot: MetricsSnapshot, alerts: Sequence[Alert]) -> None:
        self.current = (snapshot, alerts)

    def collect(self) -> Iterable[Metric]:
        snapshot, alerts = self.current
        return list(families(snapshot, alerts))


def registry_of(collector: SnapshotCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry, openmetrics: bool = False) -> bytes:
    """The text Prometheus scrapes (or OpenMetrics text, ending in ``# EOF``)."""
    if openmetrics:
        from prometheus_client.openmetrics.exposition import generate_latest as open_latest

        return bytes(open_latest(registry))  # type: ignore[no-untyped-call]
    from prometheus_client.exposition import generate_latest

    return bytes(generate_latest(registry))
