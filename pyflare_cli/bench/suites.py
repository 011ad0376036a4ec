"""The `pyflare bench` suites: each stage of pyflare measured on the demo generator's data.

Every suite runs real `pyflare` subprocesses (start-up included, as a user waits) on data
from `pyflare demo` at ``--spans`` size, written once to a work folder: OTLP protobuf and
JSON Lines files, a Phoenix-style export, and the store ingested from them. No figure is
taken on a cache a real run would not have: each ingest goes to a fresh store.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from pyflare_cli.bench.figures import (
    PYFLARE,
    Figure,
    PeerCheck,
    PeerFigure,
    Run,
    repeat_command,
    run_command,
)
from pyflare_cli.bench.ports import free_port, wait_for_port

if TYPE_CHECKING:
    from pyflare_cli.bench.load.result import LoadResult

NOW = "2026-11-20T12:00:00+00:00"
SUITES = ("ingest", "receive", "query", "cost", "drift", "rca", "alert", "tui")


@dataclass
class Context:
    """The work folder and what the suites share: sizes, the env, the ingested store."""

    work: Path
    spans: int
    repeat: int
    seed: int
    env: dict[str, str] = field(default_factory=lambda: {"PYFLARE_NOW": NOW})
    files: dict[str, Path] = field(default_factory=dict)
    peers: bool = False
    """``--peers``: suites with a peer run it too and add to the three fields below."""
    peer_figures: list[PeerFigure] = field(default_factory=list)
    peer_checks: list[PeerCheck] = field(default_factory=list)
    peers_skipped: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> Path:
        return self.work / "store"

    def demo_file(self, fmt: str, spans: int) -> Path:
        """``pyflare demo --out`` at this size (made once)."""
        path = self.work / f"demo-{spans}.{fmt}"
        if not path.exists():
            done = run_command(
                ["demo", "--spans", str(spans), "--seed", str(self.seed), "--days", "3",
                 "--out", str(path), "--format", fmt],
                self.env,
            )  # fmt: skip
            if done.code != 0:
                raise RuntimeError(f"pyflare demo failed: {done.stderr.strip()[-300:]}")
        return path

    def ensure_store(self) -> Path:
        """The store of the protobuf demo file (ingested once, outside any timing)."""
        if not (self.store / "spans").exists():
            done = run_command(["ingest", str(self.demo_file("pb", self.spans)), "--store",
                                str(self.store)], self.env)  # fmt: skip
            if done.code != 0:
                raise RuntimeError(f"pyflare ingest failed: {done.stderr.strip()[-300:]}")
        return self.store

    def store_spans(self) -> int:
        from pyflare_cli.store.scan import scan_spans

        return int(scan_spans(self.ensure_store()).select(pl.len()).collect().item())


def phoenix_export(store: Path, out: Path) -> int:
    """The store's spans as Phoenix's span export flattens them (JSON Lines); the count."""
    from pyflare_cli.store.scan import scan_spans

    rows = (
        scan_spans(store)
        .select(
            pl.col("name"),
            pl.col("ai_kind").str.to_uppercase().fill_null("UNKNOWN").alias("span_kind"),
            pl.col("parent_span_id").alias("parent_id"),
            pl.col("start_time").dt.to_string("%Y-%m-%dT%H:%M:%S%.6f+00:00").alias("start_time"),
            pl.col("end_time").dt.to_string("%Y-%m-%dT%H:%M:%S%.6f+00:00").alias("end_time"),
            pl.col("status_code").str.to_uppercase().alias("status_code"),
            pl.col("status_message").fill_null(""),
            pl.col("span_id").alias("context.span_id"),
            pl.col("trace_id").alias("context.trace_id"),
            pl.col("model").alias("attributes.llm.model_name"),
            pl.col("provider").alias("attributes.llm.provider"),
            pl.col("input_tokens").alias("attributes.llm.token_count.prompt"),
            pl.col("output_tokens").alias("attributes.llm.token_count.completion"),
            pl.col("total_tokens").alias("attributes.llm.token_count.total"),
            pl.col("input_text").alias("attributes.input.value"),
            pl.col("output_text").alias("attributes.output.value"),
            pl.col("session_id").alias("attributes.session.id"),
        )
        .collect()
    )
    rows.write_ndjson(out)
    return rows.height


def _seconds(suite: str, name: str, runs: list[Run], note: str = "") -> Figure:
    return Figure(suite, name, "s", tuple(r.seconds for r in runs), "lower", note)


def ingest_suite(ctx: Context) -> list[Figure]:
    jsonl_spans = max(1000, ctx.spans // 5)
    inputs = {
        "otlp-protobuf": (ctx.demo_file("pb", ctx.spans), ctx.spans),
        "otlp-jsonl": (ctx.demo_file("jsonl", jsonl_spans), jsonl_spans),
    }
    phoenix = ctx.work / "phoenix.jsonl"
    if not phoenix.exists():
        phoenix_export(ctx.ensure_store(), phoenix)
    inputs["phoenix-jsonl"] = (phoenix, 0)
    figures = []
    for label, (path, _) in inputs.items():
        runs, counts = [], []
        for attempt in range(ctx.repeat + 1):
            target = ctx.work / f"ingest-{label}-{attempt}"
            shutil.rmtree(target, ignore_errors=True)
            done = run_command(["ingest", str(path), "--store", str(target), "--format", "json"],
                               ctx.env)  # fmt: skip
            if done.code != 0:
                raise RuntimeError(f"ingest {label}: {done.stderr.strip()[-300:]}")
            spans = int(json.loads(done.stdout)["spans"])
            on_disk = sum(p.stat().st_size for p in target.rglob("*.parquet"))
            shutil.rmtree(target, ignore_errors=True)
            if attempt:
                runs.append(done)
                counts.append((spans, on_disk))
        spans = counts[0][0]
        size_mb = path.stat().st_size / 1e6
        note = f"{spans:,} spans, {size_mb:,.1f} MB file"
        figures += [
            Figure("ingest", f"{label} spans/s", "spans/s",
                   tuple(spans / r.seconds for r in runs), "higher", note),
            Figure("ingest", f"{label} MB/s", "MB/s",
                   tuple(size_mb / r.seconds for r in runs), "higher", note),
            Figure("ingest", f"{label} peak memory", "MiB", tuple(r.peak_mib for r in runs),
                   "lower", note),
            Figure("ingest", f"{label} bytes per span on disk", "B/span",
                   tuple(d / max(s, 1) for s, d in counts), "lower", note),
        ]  # fmt: skip
    return figures


def query_suite(ctx: Context) -> list[Figure]:
    store = ctx.ensure_store()
    env = {**ctx.env, "PYFLARE_STORE": str(store)}
    first = run_command(["traces", "--format", "json", "--limit", "1", "--since", "30d"], env)
    trace_id = json.loads(first.stdout)[0]["trace_id"]
    cases = {
        "trace lookup by id": ["trace", "show", trace_id[:12]],
        "traces, selective --where": ["traces", "--since", "30d", "--where",
                                      "model:gpt-4o-mini status:error"],
        "traces, broad --where": ["traces", "--since", "30d", "--where", "service:rag-api"],
        "aggregation (query)": ["query", "SELECT model, count(*) AS calls, sum(cost_usd) AS usd "
                                "FROM spans GROUP BY model"],
        "full-text search on errors": ["traces", "--since", "30d", "--where", "error:timeout"],
    }  # fmt: skip
    figures = []
    for name, args in cases.items():
        runs = repeat_command(args, env, ctx.repeat)
        seconds = np.array([r.seconds for r in runs])
        figures.append(_seconds("query", f"{name} p50", runs))
        p99 = float(np.percentile(seconds, 99, method="inverted_cdf"))
        figures.append(Figure("query", f"{name} p99", "s", (p99,), "lower", f"{len(runs)} runs"))
    return figures


def _analysis(
    ctx: Context, suite: str, args: list[str], allowed: tuple[int, ...] = (0,)
) -> list[Figure]:
    store = ctx.ensure_store()
    spans = ctx.store_spans()
    runs = repeat_command([*args, "--store", str(store)], ctx.env, ctx.repeat, allowed)
    command = "pyflare " + " ".join(args)
    return [
        _seconds(suite, command, runs, f"{spans:,} spans in the store"),
        Figure(suite, f"{command}: spans/s", "spans/s",
               tuple(spans / r.seconds for r in runs), "higher"),
    ]  # fmt: skip


def cost_suite(ctx: Context) -> list[Figure]:
    figures = _analysis(ctx, "cost", ["cost", "--by", "model", "--every", "day", "--since", "30d"])
    if ctx.peers:
        from pyflare_cli.bench.peers import duckdb_cost, duckdb_version

        if duckdb_version() is None:
            ctx.peers_skipped["cost"] = "DuckDB not installed (pip install duckdb), skipped"
        else:
            now = datetime.fromisoformat(ctx.env["PYFLARE_NOW"])
            found, check = duckdb_cost(ctx.ensure_store(), ctx.env, ctx.repeat, now, 30,
                                       ctx.work / "peer-duckdb")  # fmt: skip
            ctx.peer_figures += found
            ctx.peer_checks.append(check)
    return figures


def drift_suite(ctx: Context) -> list[Figure]:
    return _analysis(ctx, "drift", ["drift", "--all-models", "--since", "24h"], (0, 1))


def rca_suite(ctx: Context) -> list[Figure]:
    return _analysis(ctx, "rca", ["rca", "--since", "24h"], (0, 1))


ALERT_RULES = 20


def alert_suite(ctx: Context) -> list[Figure]:
    kinds = [
        "threshold: {aggregate: error_rate, where: 'type:llm', by: [model], op: '>', value: 0.05}",
        "threshold: {aggregate: quantile, field: duration, quantile: 0.99, by: [service], "
        "op: '>', value: 20000}",
        "change: {aggregate: count, where: 'status:error', by: [service], op: '>=', value: 2}",
        "anomaly: {aggregate: rate, by: [service], windows: 12}",
        "pattern: {regex: '(?i)rate limit|timeout', min_count: 5, by: [service]}",
    ]
    lines = ["groups:", "  - name: bench", "    rules:"]
    for i in range(ALERT_RULES):
        window = "6h" if kinds[i % len(kinds)].startswith("anomaly") else "3d"
        lines += [f"      - alert: Bench{i:02d}", f"        {kinds[i % len(kinds)]}",
                  f"        window: {window}"]  # fmt: skip
    rules = ctx.work / "bench-alerts.yaml"
    rules.write_text("\n".join(lines) + "\n")
    copy = ctx.work / "alert-store"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(ctx.ensure_store(), copy)  # alert state is written under the store
    args = ["alert", "check", "--rules", str(rules), "--no-notify", "--store", str(copy)]
    runs = repeat_command(args, ctx.env, ctx.repeat, (0, 1))
    shutil.rmtree(copy, ignore_errors=True)
    return [
        _seconds("alert", f"alert check, {ALERT_RULES} rules", runs,
                 f"{ctx.store_spans():,} spans in the store"),
        Figure("alert", "rules/s", "rules/s", tuple(ALERT_RULES / r.seconds for r in runs),
               "higher"),
    ]  # fmt: skip


def receive_suite(ctx: Context) -> list[Figure]:
    from pyflare_cli.bench.load import LoadConfig, pool_for, run_load
    from pyflare_cli.store.scan import scan_spans

    batch = 512
    requests = max(4, ctx.spans // batch)
    config = LoadConfig(requests=requests, duration_s=120.0, batch=batch, seed=ctx.seed,
                        concurrency=4)  # fmt: skip
    rotel = _rotel(ctx)
    accepted, persisted, p50, p95, p99, rejected = [], [], [], [], [], []
    theirs: list[LoadResult] = []
    for attempt in range(ctx.repeat + 1):
        store, port = ctx.work / f"receive-{attempt}", free_port()
        shutil.rmtree(store, ignore_errors=True)
        server = subprocess.Popen(
            [*PYFLARE, "receive", "--http", f"127.0.0.1:{port}", "--grpc", "off", "--store",
             str(store), "--flush-interval", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(port)
            aimed = replace(config, target=f"http://127.0.0.1:{port}/v1/traces")
            started = time.perf_counter()
            result = run_load(aimed, pool_for(aimed))
            done_at = _wait_persisted(store, result.accepted_spans, scan_spans)
        finally:
            server.terminate()
            server.wait(30)
        shutil.rmtree(store, ignore_errors=True)
        if rotel is not None:  # the peer's turn, on the same machine load
            from pyflare_cli.bench.peers import rotel_blackhole

            peer_result = rotel_blackhole(rotel[0], config)
            if attempt:
                theirs.append(peer_result)
        if not attempt:
            continue
        accepted.append(result.spans_per_s)
        persisted.append(result.accepted_spans / max(done_at - started, 1e-9))
        summary = result.latency
        if summary is not None:
            p50.append(summary.p50_ms)
            p95.append(summary.p95_ms)
            p99.append(summary.p99_ms)
        rejected.append(float(sum(result.rejected.values())))
    note = f"{requests:,} requests of {batch} spans, 4 clients, as fast as acknowledged"
    if rotel is not None:
        ctx.peer_figures += _rotel_figures(rotel[1], accepted, p99, theirs, note)
    return [
        Figure("receive", "spans/s acknowledged", "spans/s", tuple(accepted), "higher", note),
        Figure("receive", "spans/s persisted", "spans/s", tuple(persisted), "higher", note),
        Figure("receive", "ack latency p50", "ms", tuple(p50), "lower"),
        Figure("receive", "ack latency p95", "ms", tuple(p95), "lower"),
        Figure("receive", "ack latency p99", "ms", tuple(p99), "lower"),
        Figure("receive", "rejected requests", "requests", tuple(rejected), "lower"),
    ]


def _rotel(ctx: Context) -> tuple[list[str], str] | None:
    """Rotel's command and name when ``--peers`` asked for it and it is installed."""
    if not ctx.peers:
        return None
    from pyflare_cli.bench.peers import rotel_command, rotel_version

    command = rotel_command()
    if command is None:
        ctx.peers_skipped["receive"] = (
            "Rotel not installed (no `rotel` on PATH, no `rotel` Python package: "
            "pip install rotel), skipped"
        )
        return None
    return command, rotel_version(command)


def _rotel_figures(
    name: str, accepted: list[float], p99: list[float], theirs: list[LoadResult], note: str
) -> list[PeerFigure]:
    peer = f"{name}, blackhole exporter"
    peer_p99 = [r.latency.p99_ms for r in theirs if r.latency is not None]
    figures = [
        PeerFigure("receive", "spans/s acknowledged", peer, "spans/s", tuple(accepted),
                   tuple(r.spans_per_s for r in theirs), "higher", note),
    ]  # fmt: skip
    if p99 and peer_p99:
        figures.append(
            PeerFigure("receive", "ack latency p99", peer, "ms", tuple(p99), tuple(peer_p99))
        )
    return figures


def _wait_persisted(
    store: Path, expected: int, scan: Callable[[Path], pl.LazyFrame], timeout: float = 120.0
) -> float:
    """When the store holds ``expected`` spans (perf_counter time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (store / "spans").exists():
            count = scan(store).select(pl.len()).collect().item()
            if count >= expected:
                return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"only some of {expected:,} acknowledged spans persisted in {timeout:g} s")


RUNNERS: dict[str, Callable[[Context], list[Figure]]] = {
    "ingest": ingest_suite,
    "receive": receive_suite,
    "query": query_suite,
    "cost": cost_suite,
    "drift": drift_suite,
    "rca": rca_suite,
    "alert": alert_suite,
}
"""The suites that exist; ``tui`` joins when the TUI does (issue 8)."""
