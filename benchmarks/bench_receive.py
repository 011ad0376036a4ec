"""Measure `pyflare receive`: sustained spans/s persisted to Parquet and ack latency.

    python benchmarks/bench_receive.py --duration 30 --concurrency 8 --out bench-receive

Starts a real receiver (`python -m pyflare_cli receive`) on a free loopback port with a
fresh store, drives it with the load generator (OTLP/HTTP protobuf, 512-span requests),
first as fast as acknowledgements allow, then at half the rate it sustained, and prints
a Markdown report. "Persisted" counts rows in the store's Parquet files once the receiver
has been stopped with SIGTERM (which flushes everything it acknowledged).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl

from pyflare_cli.bench.load import LoadConfig, pool_for, run_load


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(store: Path, port: int, max_spool: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyflare_cli",
            "receive",
            "--quiet",
            "--store",
            str(store),
            "--http",
            f"127.0.0.1:{port}",
            "--grpc",
            "off",
            "--max-spool",
            max_spool,
        ],
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the receiver did not start")


def _persisted(store: Path) -> int:
    files = sorted(store.glob("spans/date=*/part-*.parquet"))
    return pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0


def _run(out: Path, name: str, config: LoadConfig, max_spool: str) -> dict[str, float]:
    store = out / name
    shutil.rmtree(store, ignore_errors=True)
    port = _free_port()
    receiver = _start(store, port, max_spool)
    config = LoadConfig(**{**config.__dict__, "target": f"http://127.0.0.1:{port}/v1/traces"})
    pool = pool_for(config)
    started = time.perf_counter()
    result = run_load(config, pool)
    load_seconds = time.perf_counter() - started
    receiver.send_signal(signal.SIGTERM)
    code = receiver.wait(300)
    drained = time.perf_counter() - started
    persisted = _persisted(store)
    lat = result.latency
    return {
        "exit": code,
        "acked_spans_per_s": result.spans_per_s,
        "accepted_spans": result.accepted_spans,
        "rejected_429": sum(v for k, v in result.rejected.items() if "429" in k),
        "persisted": persisted,
        "persisted_per_s_during_load_and_drain": persisted / drained,
        "load_seconds": load_seconds,
        "drain_seconds": drained - load_seconds,
        "p50_ms": lat.p50_ms if lat else float("nan"),
        "p99_ms": lat.p99_ms if lat else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-spool", default="256MiB")
    parser.add_argument("--out", type=Path, default=Path("bench-receive"))
    parser.add_argument(
        "--rate", type=float, default=None, help="spans/s of the paced run (default: half)"
    )
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    base = LoadConfig(concurrency=opts.concurrency, duration_s=opts.duration, batch=512)
    peak = _run(opts.out, "max", base, opts.max_spool)
    sustained = min(peak["acked_spans_per_s"], peak["persisted_per_s_during_load_and_drain"])
    half_rate = round(opts.rate or sustained / 2)
    half = _run(
        opts.out, "half", LoadConfig(**{**base.__dict__, "rate": float(half_rate)}), opts.max_spool
    )
    rows = [
        ("as fast as acknowledged", peak),
        (f"paced at {half_rate:,} spans/s", half),
    ]
    print(
        f"{opts.duration:g} s of OTLP/HTTP protobuf, 512-span requests, "
        f"{opts.concurrency} clients, --max-spool {opts.max_spool}\n"
    )
    print(
        "| load | acked spans/s | 429s | persisted | persisted spans/s (load + drain) "
        "| drain after load | ack p50 | ack p99 | exit |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, r in rows:
        print(
            f"| {label} | {r['acked_spans_per_s']:,.0f} | {r['rejected_429']:,.0f} | "
            f"{r['persisted']:,.0f} / {r['accepted_spans']:,.0f} | "
            f"{r['persisted_per_s_during_load_and_drain']:,.0f} | {r['drain_seconds']:.1f} s | "
            f"{r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['exit']:.0f} |"
        )


if __name__ == "__main__":
    main()
