"""A load run's result as text: metric/value rows, as aligned plain text, Markdown or JSON.

Used by ``pyflare bench load``; reads a :class:`LoadResult`
only. ``pool_seconds`` (how long the request pool took to build, before the clock) is the
one figure the result does not carry.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Literal

from pyflare_cli.bench.load.result import LatencySummary, LoadResult
from pyflare_cli.bench.load.schedule import Schedule

Format = Literal["plain", "markdown", "json"]
SPARKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60


def sparkline(values: Sequence[float], width: int = SPARK_WIDTH, top: float | None = None) -> str:
    """Values as block characters (averaged down to ``width``), scaled to ``top`` (default:
    their largest), so two series given the same ``top`` can be read against each other."""
    series = [float(v) for v in values]
    if len(series) > width:
        edges = [round(i * len(series) / width) for i in range(width + 1)]
        series = [sum(series[a:b]) / (b - a) for a, b in itertools.pairwise(edges)]
    top = max(series, default=0.0) if top is None else top
    if top <= 0:
        return SPARKS[0] * len(series)
    last = len(SPARKS) - 1
    return "".join(SPARKS[min(last, max(0, round(v / top * last)))] for v in series)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _latency(summary: LatencySummary | None) -> str:
    if summary is None:
        return "-"
    return (
        f"p50 {summary.p50_ms:.1f} ms, p90 {summary.p90_ms:.1f}, p95 {summary.p95_ms:.1f}, "
        f"p99 {summary.p99_ms:.1f}, "
        f"max {summary.max_ms:.1f} (n={summary.count:,})"
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key}: {value:,}" for key, value in counts.items()) or "0"


def _mode(result: LoadResult) -> str:
    if result.stages:
        peak = Schedule.of_stages(result.stages).peak_rate
        stages = " ".join(stage.describe() for stage in result.stages)
        return f"stages {stages} (open model, peak {_n(peak)} spans/s)"
    if result.rate_spans_per_s is not None:
        return f"rate {_n(result.rate_spans_per_s)} spans/s (open model)"
    return "max (closed model)"


def rows(result: LoadResult, pool_seconds: float) -> list[tuple[str, str]]:
    """The report as (metric, value) pairs, in reading order."""
    open_model = result.mode == "rate"
    out = [
        ("target", f"{result.protocol} -> {result.target}"),
        (
            "mode",
            f"{_mode(result)}, {result.concurrency} clients, {result.batch} spans/request"
            f"{', gzip' if result.gzip else ''}",
        ),
        (
            "pool",
            f"{result.pool_requests:,} requests, {result.pool_spans:,} spans, "
            f"{result.pool_bytes / 1e6:.1f} MB, built in {pool_seconds:.1f} s before the clock",
        ),
        ("repeats", result.uniqueness),
        ("duration", f"{result.duration_s:.2f} s"),
        (
            "sent",
            f"{result.sent_requests:,} requests, {result.sent_spans:,} spans, "
            f"{result.sent_bytes / 1e6:,.1f} MB",
        ),
        (
            "acknowledged",
            f"{result.acked_requests:,} requests, {result.accepted_spans:,} spans "
            f"accepted, {result.partial_rejected_spans:,} refused in partial success",
        ),
        ("rejected", _counts(result.rejected)),
        ("transport errors", _counts(result.transport_errors)),
    ]
    if result.error_rate_pct is not None:
        out.append(("errors", f"{result.error_rate_pct:.2f} % of requests"))
    if result.due_requests is not None:
        out.append(
            (
                "behind schedule",
                f"{result.behind_schedule:,} of {result.due_requests:,} sends due never started",
            )
        )
    out.append(("throughput", f"{_n(result.spans_per_s)} spans/s accepted"))
    latency_from = "scheduled send" if open_model else "send"
    out.append((f"ack latency (from {latency_from})", _latency(result.latency)))
    if open_model:
        out.append(("service latency (from send)", _latency(result.service_latency)))
        out.append(("schedule lag (send - scheduled)", _latency(result.schedule_lag)))
    out.append(
        (
            "client CPU",
            f"{result.cpu.percent:.0f} % of one core (user "
            f"{result.cpu.user_s:.2f} s, system {result.cpu.system_s:.2f} s)",
        )
    )
    full = max(1, int(result.duration_s))
    achieved = result.per_second_spans[:full]
    offered = (result.per_second_offered or [])[:full]
    top = max([*achieved, *offered], default=0)
    out.append(("spans/s per second", sparkline(achieved, top=top)))
    if result.stages and offered:
        out.append(("offered per second", sparkline(offered, top=top)))
        out.append(
            (
                "busiest second",
                f"{_n(max(achieved, default=0))} spans accepted; the stages offer up to "
                f"{_n(max(offered))} in a second",
            )
        )
    if result.bad_ack_bodies:
        out.append(("unparseable acks", f"{result.bad_ack_bodies:,}"))
    for verdict in result.verdicts:
        actual = "unmeasured" if verdict.actual is None else f"{verdict.actual:,.2f} {verdict.unit}"
        out.append(
            (
                f"threshold {verdict.expression}",
                f"{'pass' if verdict.passed else 'FAIL'} ({actual})",
            )
        )
    return out


def to_json(result: LoadResult) -> str:
    """The stable JSON form (:meth:`LoadResult.to_dict`), indented."""
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)


def report(result: LoadResult, fmt: Format, pool_seconds: float) -> str:
    """The whole report: aligned ``plain`` text, a ``markdown`` table or ``json``."""
    if fmt == "json":
        return to_json(result)
    table = rows(result, pool_seconds)
    if fmt == "markdown":
        lines = ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in table]
        return "\n".join(lines)
    width = max(len(key) for key, _ in table)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in table)
