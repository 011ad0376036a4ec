"""Time `pyflare rca` on a demo store: the analysis in process and the whole command.

    python benchmarks/bench_rca.py --spans 1000000 --repeat 3 [--store /tmp/pyflare-bench-rca]

The store comes from `pyflare demo --spans N --days 3` (made once, reused), so it has the
demo's incidents and about two dozen candidate dimensions. Timed, as median and spread
after a warm-up: loading the target day and the baseline day, `analysis.rca.analyse` for
the errors and the latency metric, and `pyflare rca --format json` as a subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.rca.model import RcaSettings
from pyflare_cli.analysis.rca.report import analyse
from pyflare_cli.commands.rca import UNUSED
from pyflare_cli.query.spans import SpanQuery, load_spans
from pyflare_cli.store.scan import scan_spans


def _timed(fn: object, repeat: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat + 1):  # the first run warms caches and is not counted
        started = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    kept = times[1:]
    return statistics.median(kept), max(kept) - min(kept), result


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    python = platform.python_version()
    return f"{model}, {os.cpu_count()} cores, Python {python}, Polars {pl.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None)
    opts = parser.parse_args()
    store = opts.store or Path(f"/tmp/pyflare-bench-rca-{opts.spans}")
    if not store.exists():
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pyflare_cli",
                "demo",
                "--spans",
                str(opts.spans),
                "--days",
                "3",
                "--store",
                str(store),
            ],
            check=True,
            capture_output=True,
        )
        print(f"made {store} in {time.perf_counter() - started:.1f} s")
    last = scan_spans(store).select(pl.col("start_time").max()).collect().item()
    now = (last + timedelta(seconds=1)).astimezone(UTC)
    total = scan_spans(store).select(pl.len()).collect().item()

    def load() -> tuple[pl.DataFrame, pl.DataFrame]:
        target = load_spans(store, SpanQuery("24h"), now).select(pl.exclude(UNUSED)).collect()
        baseline = (
            load_spans(store, SpanQuery("48h", "24h"), now).select(pl.exclude(UNUSED)).collect()
        )
        return target, baseline

    load_s, load_spread, frames = _timed(load, opts.repeat)
    target, baseline = frames  # type: ignore[misc]
    rows = [("load target day + baseline day", load_s, load_spread)]
    reports = {}
    for metric in ("errors", "latency"):
        settings = RcaSettings(metric=metric)
        seconds, spread, report = _timed(
            lambda s=settings: analyse(target, baseline, s), opts.repeat
        )
        reports[metric] = report
        rows.append((f"analyse, --metric {metric}", seconds, spread))
    env = {**os.environ, "PYFLARE_NOW": now.isoformat()}
    command = [
        sys.executable,
        "-m",
        "pyflare_cli",
        "rca",
        "--store",
        str(store),
        "--format",
        "json",
    ]

    def run() -> dict[str, object]:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    seconds, spread, payload = _timed(run, opts.repeat)
    rows.append(("`pyflare rca --format json`, whole command", seconds, spread))
    errors = reports["errors"]
    print(f"Machine: {_machine()}")
    print(
        f"Store: {store} ({total:,} spans); target {target.height:,} spans, baseline "
        f"{baseline.height:,}; {len(errors.dimensions)} candidate dimensions, "  # type: ignore[attr-defined]
        f"{errors.tested:,} slices tested"  # type: ignore[attr-defined]
    )
    print()
    print("| stage | median s | spread s |")
    print("|---|---|---|")
    for name, median, spread_s in rows:
        print(f"| {name} | {median:.2f} | {spread_s:.2f} |")
    first = payload["causes"][0]["title"] if payload["causes"] else "none"  # type: ignore[index]
    print(f"\nFirst cause: {first}")
    print(f"Now: {now:%Y-%m-%d %H:%M:%S} UTC; measured at {datetime.now(UTC):%H:%M} UTC")


if __name__ == "__main__":
    main()
