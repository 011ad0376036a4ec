"""Time `pyflare alert check` (100 rules) and `pyflare traces` on every engine; check they agree.

    python benchmarks/bench_alert_traces_engines.py --store /tmp/store1m --repeat 3 \
        [--engines polars,duckdb,clickhouse] [--spark 'local[2]'] [--rules 100]

Each run is a real `pyflare` process under /usr/bin/time -v (wall, CPU seconds, peak RSS,
start-up included; for Spark local the JVM too), engines alternated round by round after
one warm-up each. The rules are bench_alert.py's mix (thresholds per model and service,
quantiles, costs, rates per operation, changes, anomalies over 12 windows, regex
patterns) over windows that cover the whole 3-day store. `alert check` runs on a copy of
the store per engine (the alert states are written there), at the same `--at`, with
`--no-notify`; `traces` runs `--sort duration -n 20` (ranked on unpriced spans, only the
listed traces priced) and `--sort cost -n 20` (the window priced). The script prints the
load average, min and median per engine and command, and whether each engine's JSON
equals the Polars engine's (floats to 1e-9).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from bench_alert import rule_file  # benchmarks/ is on sys.path
from bench_cost import timed_cpu
from bench_engines import close

from pyflare_cli.store.scan import scan_spans


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall s, CPU s (user + system) and peak RSS MiB of one process (/usr/bin/time -v,
    read by bench_cost); exit 0 or 1 (an alert that fires) is an answer."""
    wall, rss, cpu, out = timed_cpu(command, env, answers=(0, 1))
    return wall, cpu, rss, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--engines", default="polars,duckdb,clickhouse")
    parser.add_argument("--spark", default=None, help="also Spark with this master")
    opts = parser.parse_args()
    engines = opts.engines.split(",") + (["spark"] if opts.spark else [])
    last = scan_spans(opts.store).select(pl.col("start_time").max()).collect().item()
    now = (last + timedelta(seconds=1)).astimezone(UTC).isoformat()
    env = {**os.environ, "PYFLARE_NOW": now}
    python = [sys.executable, "-m", "pyflare_cli"]
    with tempfile.TemporaryDirectory() as folder:
        rules = Path(folder) / "bench.yaml"
        rules.write_text(rule_file(opts.rules))

        def command(name: str, engine: str, round_: int) -> list[str]:
            extra = ["--engine", engine] + (
                ["--spark-master", opts.spark] if engine == "spark" else []
            )
            if name == "alert check":
                store = Path(folder) / f"{engine}-{round_}"
                shutil.copytree(opts.store, store)
                return [*python, "alert", "check", "--rules", str(rules), "--store", str(store),
                        "--no-notify", "--at", now, "--format", "json", *extra]  # fmt: skip
            sort = name.split()[-1]
            return [*python, "traces", "--sort", sort, "-n", "20", "--store", str(opts.store),
                    "--format", "json", *extra]  # fmt: skip

        names = ("alert check", "traces duration", "traces cost")
        runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        answers: dict[tuple[str, str], Any] = {}
        load_before = os.getloadavg()
        for round_ in range(opts.repeat + 1):
            for name in names:
                for engine in engines:
                    wall, cpu, rss, out = timed(command(name, engine, round_), env)
                    if name == "alert check":
                        shutil.rmtree(Path(folder) / f"{engine}-{round_}")
                    answers[(name, engine)] = json.loads(out)
                    if round_:  # the first round warms the page cache and the imports
                        runs.setdefault((name, engine), []).append((wall, cpu, rss))
        load_after = os.getloadavg()
    total = scan_spans(opts.store).select(pl.len()).collect().item()
    print(f"Store: {opts.store} ({total:,} spans); {opts.rules} rules; at {now}")
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    print("| command | engine | wall min / median s | CPU min s | peak RSS max MiB | = Polars |")
    print("|---|---|---|---|---|---|")
    for name in names:
        for engine in engines:
            got = runs[(name, engine)]
            walls = [w for w, _, _ in got]
            same = (
                close(answers[(name, engine)], answers[(name, "polars")])
                if "polars" in engines
                else "?"
            )
            print(
                f"| {name} | {engine} | {min(walls):.2f} / {statistics.median(walls):.2f} | "
                f"{min(c for _, c, _ in got):.2f} | {max(r for _, _, r in got):.0f} | {same} |"
            )


if __name__ == "__main__":
    main()
