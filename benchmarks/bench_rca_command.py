"""Time the whole ``pyflare rca`` on every engine, and check every report equals Polars'.

    python benchmarks/bench_rca_command.py --store /tmp/store1m --repeat 3 \
        [--engines polars,duckdb,clickhouse] [--units origin,span] [--since 24h]

Each run is a fresh process (``pyflare rca --format json``) under /usr/bin/time -v: wall
time, CPU seconds (user + system) and peak RSS, imports and start-up included. Engines
alternate within a round so they see the same load. ``now`` is the store's last span
(plus a second), so every run reads the same windows. Prints min and median per engine
and unit, the load before and after, and whether each engine's JSON equals Polars' (text
and integers exactly, floats to 1e-9). For a re-run at low load:

    python benchmarks/bench_rca_command.py --store /tmp/store1m --repeat 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cost import timed_cpu

PYFLARE = str(Path(sys.executable).parent / "pyflare")


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float) and isinstance(got, float | int):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_same(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_same(g, w) for g, w in zip(got, want, strict=True))
        )
    return bool(got == want)


def _now(store: Path) -> str:
    import polars as pl

    from pyflare_cli.store.scan import scan_spans

    last = scan_spans(store, None, None).select(pl.col("start_time").max()).collect().item()
    return (last + timedelta(seconds=1)).isoformat()


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="polars,duckdb,clickhouse")
    parser.add_argument("--units", default="origin,span")
    parser.add_argument("--since", default="24h")
    args = parser.parse_args()
    env = {**os.environ, "PYFLARE_NOW": _now(args.store)}
    env.pop("PYFLARE_ENGINE", None)
    engines = args.engines.split(",")
    print(f"store {args.store}, --since {args.since}, load before {_load()}")
    for unit in args.units.split(","):
        times: dict[str, list[tuple[float, float, float]]] = {e: [] for e in engines}
        reports: dict[str, Any] = {}
        for _ in range(args.repeat):
            for engine in engines:
                command = [PYFLARE, "rca", "--format", "json"]
                command += ["--store", str(args.store), "--since", args.since, "--unit", unit]
                command += ["--engine", engine]
                wall, rss, cpu, out = timed_cpu(command, env)
                times[engine].append((wall, cpu, rss))
                reports[engine] = json.loads(out)
        for engine in engines:
            walls = [t[0] for t in times[engine]]
            cpus = [t[1] for t in times[engine]]
            rss = max(t[2] for t in times[engine])
            same = _same(reports[engine], reports[engines[0]])
            print(
                f"{unit:6} {engine:10} wall min {min(walls):6.2f} s median "
                f"{statistics.median(walls):6.2f} s | CPU min {min(cpus):6.2f} s median "
                f"{statistics.median(cpus):6.2f} s | peak RSS {rss:7.0f} MiB | "
                f"equals {engines[0]}: {same}"
            )
    print(f"load after {_load()}")


if __name__ == "__main__":
    main()
