"""Time one `pyflare alert check` of many rules over a big store.

    python benchmarks/bench_alert.py --spans 1000000 --rules 100 --repeat 3

The store is made once with `pyflare demo --spans N --days 3` (and reused); the rule file
mixes thresholds (per model, per service, quantiles, costs), changes, anomalies over 12
windows and regex patterns, cycling through them to reach ``--rules``. Timed, as median and
spread after a warm-up: `alerting.check.run_check` in process (load + evaluate + states),
its evaluation alone, and the whole command as a subprocess.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pyflare_cli.alerting.check import evaluate_all, load_window, run_check
from pyflare_cli.alerting.rules.parse import load_rules
from pyflare_cli.store.scan import scan_spans

KINDS = [
    "threshold: {{aggregate: error_rate, where: 'type:llm', by: [model], op: '>', "
    "value: 0.{i:02d}}}",
    "threshold: {{aggregate: quantile, field: duration, quantile: 0.99, by: [service], op: '>', "
    "value: {i}000}}",
    "threshold: {{aggregate: sum, field: cost, by: [model], op: '>', value: {i}}}",
    "threshold: {{aggregate: rate, by: [operation], op: '<', value: 0.{i:02d}}}",
    "change: {{aggregate: count, where: 'status:error', by: [service], compare: ratio, op: '>=', "
    "value: 2}}",
    "anomaly: {{aggregate: avg, field: duration, by: [model], windows: 12, method: mad, k: 3}}",
    "pattern: {{regex: '(?i)rate limit|timeout', min_count: {i}, by: [service]}}",
]


def rule_file(count: int) -> str:
    lines = ["groups:", "  - name: bench", "    rules:"]
    for i in range(count):
        kind = KINDS[i % len(KINDS)].format(i=i % 97 + 1)
        # Windows that cover the whole 3-day store, so every rule reads every span.
        window = {"change": "36h", "anomaly": "6h"}.get(kind.split(":")[0], "72h")
        lines += [f"      - alert: Rule{i:03d}", f"        {kind}", f"        window: {window}"]
    return "\n".join(lines) + "\n"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    kept = times[1:]
    return statistics.median(kept), max(kept) - min(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None)
    opts = parser.parse_args()
    store = opts.store or Path(f"/tmp/pyflare-bench-rca-{opts.spans}")
    if not store.exists():
        subprocess.run(
            [sys.executable, "-m", "pyflare_cli", "demo", "--spans", str(opts.spans), "--days",
             "3", "--store", str(store)],
            check=True,
            capture_output=True,
        )  # fmt: skip
    last = scan_spans(store).select(pl.col("start_time").max()).collect().item()
    now = (last + timedelta(seconds=1)).astimezone(UTC)
    total = scan_spans(store).select(pl.len()).collect().item()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(rule_file(opts.rules))
        rules = load_rules(path)
        work = Path(folder) / "store"
        shutil.copytree(store, work)  # alert state goes under the store: keep the cache clean
        spans = load_window(work, rules.rules, now, ())
        evaluation = timed(lambda: evaluate_all(work, rules.rules, spans, now), opts.repeat)
        whole_check = timed(lambda: run_check(work, rules, now, notify=False), opts.repeat)
        env = {**os.environ, "PYFLARE_NOW": now.isoformat()}
        command = [sys.executable, "-m", "pyflare_cli", "alert", "check", "--rules", str(path),
                   "--store", str(work), "--no-notify", "--format", "json"]  # fmt: skip

        def run() -> None:
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode not in (0, 1):
                raise SystemExit(done.stderr)

        command_time = timed(run, opts.repeat)
    print(f"Store: {store} ({total:,} spans); {opts.rules} rules; {spans.height:,} spans read")
    print("| stage | median s | spread s |")
    print("|---|---|---|")
    name = f"evaluate {opts.rules} rules (spans in memory)"
    print(f"| {name} | {evaluation[0]:.2f} | {evaluation[1]:.2f} |")
    print(f"| run_check: read + evaluate + states | {whole_check[0]:.2f} | {whole_check[1]:.2f} |")
    print(
        f"| `pyflare alert check`, whole command | {command_time[0]:.2f} | {command_time[1]:.2f} |"
    )


if __name__ == "__main__":
    main()
