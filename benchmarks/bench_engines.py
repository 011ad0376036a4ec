"""Time `pyflare cost --by model --every day` on every engine, and check they agree.

    python benchmarks/bench_engines.py --store /tmp/store1m --repeat 3 \
        [--otel /tmp/chdb-session] [--spark 'local[2]'] [--engines polars,duckdb,...]

Each run is a real `pyflare` process under /usr/bin/time -v (wall time and peak RSS, start-up
and, for Spark local, the JVM included: GNU time reports the largest of the process and
its children), after one warm-up run per engine. ``--otel DIR`` also runs chdb over an
``otel_traces`` table in that chdb session folder (filled from the store first when it
does not exist yet, as tests/engine/otel_fill.py does). The script prints the machine,
the load average before and after, min and median per engine, and whether every engine's
JSON equals the Polars engine's (integers exact, floats to 1e-9).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from bench_cost import timed  # the same /usr/bin/time -v reading (benchmarks/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-20T13:00:00+00:00"
"""The 1M-span demo store (/tmp/bench15/store) ends just before this."""


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a if k != "price_data")
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--since", default="30d")
    parser.add_argument("--otel", type=Path, help="a chdb session folder for otel_traces")
    parser.add_argument("--spark", default="local[2]", help="--spark-master for Spark")
    parser.add_argument("--engines", default="polars,duckdb,clickhouse,otel,spark")
    args = parser.parse_args()
    engines = args.engines.split(",")
    if "otel" in engines and args.otel is None:
        engines.remove("otel")
    if args.otel is not None and not args.otel.exists():
        sys.path.insert(0, str(ROOT / "tests" / "engine"))
        from otel_fill import fill_otel_traces

        print(f"filled otel_traces with {fill_otel_traces(args.store, args.otel)} spans")
    pyflare = str(Path(sys.executable).parent / "pyflare")
    base = [pyflare, "cost", "--by", "model", "--every", "day"]
    base += ["--since", args.since, "--format", "json"]
    env = {**os.environ, "PYFLARE_NOW": NOW}
    print(f"machine: {os.cpu_count()} cores, load average before {os.getloadavg()}")
    results: dict[str, Any] = {}
    print("| engine | wall s (min / median) | peak RSS MiB (min / median) | same as polars |")
    print("|---|---|---|---|")
    for engine in engines:
        if engine == "otel":
            options = ["--store", f"chdb://{args.otel}?table=otel_traces"]
        else:
            options = ["--store", str(args.store), "--engine", engine]
        if engine == "spark":
            options += ["--spark-master", args.spark]
        command = [*base, *options]
        timed(command, env)  # warm-up: price cache, page cache
        walls, rsss = [], []
        out = ""
        for _ in range(args.repeat):
            wall, rss, out = timed(command, env)
            walls.append(wall)
            rsss.append(rss)
        results[engine] = json.loads(out)
        agrees = close(results[engine], results.get("polars", results[engine]))
        print(
            f"| {engine} | {min(walls):.2f} / {statistics.median(walls):.2f} | "
            f"{min(rsss):.0f} / {statistics.median(rsss):.0f} | {'yes' if agrees else 'NO'} |",
            flush=True,
        )
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
