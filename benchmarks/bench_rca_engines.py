"""Time rca's counting (dimension probe, cube, slice search) on every engine; check they agree.

    python benchmarks/bench_rca_engines.py --store /tmp/store1m --repeat 3 \
        [--engines polars,duckdb,clickhouse] [--units span,origin] [--hours 24]

Each run is a fresh process under /usr/bin/time -v (wall time and peak RSS, imports and
start-up included) doing what ``pyflare rca --metric errors`` does up to its slice search:
probe the windows for dimensions, build the cube (on the engine: only the cube comes
back), search slices on it. The target is the store's last ``--hours`` against the same
span before it. Prints min and median per engine and unit, the load before and after, and
whether every engine's tested slices equal Polars' (counts exact, p-values to 1e-9).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engines import close, timed


def one(store: Path, engine_name: str, unit: str, hours: int) -> None:
    """One run in this process: print the tested slices as JSON."""
    import polars as pl

    from pyflare_cli.analysis.rca.dimensions import discover
    from pyflare_cli.analysis.rca.report import PROBE
    from pyflare_cli.analysis.rca.slices import SliceSettings, find_slices
    from pyflare_cli.engine import rca
    from pyflare_cli.engine.polars_engine import PolarsEngine
    from pyflare_cli.store.scan import scan_spans

    last = scan_spans(store, None, None).select(pl.col("start_time").max()).collect().item()
    end, span = last + timedelta(seconds=1), timedelta(hours=hours)
    target, baseline = (end - span, end), (end - 2 * span, end - span)
    engine: rca.Engine
    if engine_name == "duckdb":
        from pyflare_cli.engine.duckdb_engine import DuckDBEngine

        engine = DuckDBEngine(store)
    elif engine_name == "clickhouse":
        from pyflare_cli.engine.clickhouse_engine import (
            ChdbRunner,
            ClickHouseEngine,
            ClickHouseSource,
        )

        engine = ClickHouseEngine(ChdbRunner(), ClickHouseSource(root=store))
    else:
        engine = PolarsEngine(store)
    # the probe on Polars for every engine: the first rows of a scan differ between
    # engines, and the comparison needs the same dimensions
    dimensions = discover(rca.probe(PolarsEngine(store), target, baseline, PROBE))
    found = rca.rca_cube(engine, target, baseline, dimensions, "errors", unit)
    settings = SliceSettings(binary=True, min_size=20, max_order=3, alpha=0.05)
    search = find_slices(found.lazy(), [d.name for d in dimensions], settings)
    slices = search.slices.drop("members", strict=False)
    print(json.dumps({"cube_rows": found.height, "slices": slices.rows()}, default=str))


def _no_nan(value: object) -> object:
    """NaN (an untestable slice's p-value) as None, so equal answers compare equal."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="polars,duckdb,clickhouse")
    parser.add_argument("--units", default="span,origin")
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "UNIT"))
    args = parser.parse_args()
    if args.one:
        one(args.store, args.one[0], args.one[1], args.hours)
        return
    env = dict(os.environ)
    print(f"load before: {os.getloadavg()}  cores: {os.cpu_count()}")
    for unit in args.units.split(","):
        reference = None
        for name in args.engines.split(","):
            command = [sys.executable, __file__, "--store", str(args.store)]
            command += ["--hours", str(args.hours), "--one", name, unit]
            timed(command, env)  # warm-up
            runs = [timed(command, env) for _ in range(args.repeat)]
            walls = [w for w, _, _ in runs]
            answer = json.loads(runs[-1][2])
            if reference is None:
                reference = answer
            agree = close(_no_nan(answer["slices"]), _no_nan(reference["slices"]))
            print(
                f"{unit:7} {name:10} min {min(walls):6.2f} s  median "
                f"{statistics.median(walls):6.2f} s  peak {max(r for _, r, _ in runs):6.0f} MiB"
                f"  cube {answer['cube_rows']} rows  {len(answer['slices'])} slices"
                f"  equal to polars: {agree}"
            )
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
