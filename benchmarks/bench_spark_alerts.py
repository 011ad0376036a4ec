"""Where `alert check` spends its time on Spark: each query of one check, timed.

    python benchmarks/bench_spark_alerts.py --store /tmp/store20k [--rules 17] \
        [--master 'local[2]' | --master sc://127.0.0.1:15002] [--no-fold]

Runs the rules of bench_alert.py (thresholds, quantiles, costs, rates, changes, anomalies,
patterns) on one Spark session in this process and prints, per query the check sends
(the span count, the measures' UNION ALL, the quantile order statistics, the error rows),
its wall time, plus the CACHE TABLE of the priced lookback; then whether the samples equal
the Polars engine's. Start-up (the JVM or the Connect session) is timed apart.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from bench_alert import rule_file  # benchmarks/ is on sys.path

from pyflare_cli.alerting.check import evaluate_all, load_window, lookback
from pyflare_cli.alerting.on_engine import evaluate_on_engine
from pyflare_cli.alerting.rules.parse import load_rules
from pyflare_cli.engine.spark_engine import SparkEngine
from pyflare_cli.store.scan import scan_spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--rules", type=int, default=17)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--no-fold", action="store_true", help="one UNION ALL branch per rule")
    opts = parser.parse_args()
    if opts.no_fold:  # the form before the rules were folded into one GROUP BY
        from pyflare_cli.engine import alerts

        alerts.FOLD_ON = frozenset()
    print(f"load average {os.getloadavg()}", flush=True)
    last = scan_spans(opts.store).select(pl.col("start_time").max()).collect().item()
    now = last + timedelta(seconds=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rules.yaml"
        path.write_text(rule_file(opts.rules))
        rules = load_rules(path).rules
    started = time.perf_counter()
    engine = SparkEngine(opts.store, opts.master)
    print(f"session {time.perf_counter() - started:.1f} s", flush=True)
    timings: list[tuple[str, float]] = []
    collect, cached = engine.collect_all, engine.cached

    def timed_collect(queries: Any) -> Any:
        out = []
        for q in queries:
            t0 = time.perf_counter()
            out += collect([q])
            kind = "measures" if "UNION ALL" in q else "query"
            timings.append((f"{kind} ({len(q)} chars)", time.perf_counter() - t0))
        return out

    def timed_cached(relation: str) -> Any:
        t0 = time.perf_counter()
        out = cached(relation)
        timings.append(("CACHE TABLE", time.perf_counter() - t0))
        return out

    engine.collect_all = timed_collect  # type: ignore[method-assign]
    engine.cached = timed_cached  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        got, skipped, count = evaluate_on_engine(engine, rules, now - lookback(rules), now, True)
        total = time.perf_counter() - t0
    finally:
        engine.close()
    for name, seconds in timings:
        print(f"  {name}: {seconds:.1f} s")
    print(f"check {total:.1f} s, {len(rules)} rules, {count} spans, load {os.getloadavg()}")
    spans = load_window(opts.store, rules, now, ())
    want, _ = evaluate_all(opts.store, rules, spans, now)

    def values(samples: dict[str, Any]) -> dict[str, list[Any]]:
        return {
            k: sorted((sorted(s.labels.items()), s.value) for s in v) for k, v in samples.items()
        }

    a, b = values(want), values(got)
    same = a.keys() == b.keys() and all(
        len(a[k]) == len(b[k])
        and all(
            x[0] == y[0] and (x[1] == y[1] or math.isclose(x[1], y[1], rel_tol=1e-9))
            for x, y in zip(a[k], b[k], strict=True)
        )
        for k in a
    )
    print(f"samples equal Polars' (floats to 1e-9): {same} (skipped: {sorted(skipped)})")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
