"""Calibration and power of `pyflare rca` over many seeds (the slow twin of the tests).

    python benchmarks/bench_rca_calibration.py --seeds 200 [--traces 1000]

Windows come from tests/analysis/rca/rca_world.py (gateway -> agent -> router LLM, tool,
rag-api LLM; errors start in the leaves and fail their parents; 15 dimensions with hundreds
of users and an HTTP status code). For each configuration: how often the gate
(`--fail-on-significant`: any significant finding) fires when both windows come from one
distribution, with a 95% Clopper-Pearson interval; and how often an injected incident is
named first (a version x model x region error incident at 10-40%, a tool 3x slower).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "analysis" / "rca"))

import rca_world as world

from pyflare_cli.analysis.rca.model import RcaSettings
from pyflare_cli.analysis.rca.report import analyse


def interval(k: int, n: int) -> str:
    low = stats.beta.ppf(0.025, k, n - k + 1) if k else 0.0
    high = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return f"{k}/{n} = {k / n:.1%} (95% CI {low:.1%}-{high:.1%})"


def false_alarms(seeds: int, traces: int, metric: str, unit: str, tail: float = 1.0) -> str:
    fired = 0
    for seed in range(seeds):
        target, baseline = world.pair(10_000 + seed, traces, tail=tail)
        report = analyse(target, baseline, RcaSettings(metric=metric, unit=unit))
        fired += report.significant.height > 0
    return interval(fired, seeds)


def named_first(seeds: int, traces: int, kind: str, tail: float = 1.0, factor: float = 3.0) -> str:
    hits = 0
    for seed in range(seeds):
        if kind == "errors":
            rate = 0.10 + 0.30 * (seed % 20) / 19
            target, baseline = world.pair(20_000 + seed, traces, world.ErrorIncident(rate=rate))
            report = analyse(target, baseline, RcaSettings())
            cause = report.causes[0] if report.causes else None
            text = " ".join([cause.title, *cause.evidence]) if cause else ""
            wanted = ("version = rag-api 2.0.0", "model = gpt-4o-mini", "eu-west-1")
            hits += all(w in text for w in wanted)
        else:
            incident = world.LatencyIncident(factor=factor)
            target, baseline = world.pair(20_000 + seed, traces, incident, tail)
            report = analyse(target, baseline, RcaSettings(metric="latency"))
            lead = (
                report.significant.row(0, named=True)["slice"] if report.significant.height else ""
            )
            hits += "get_order" in lead
    return interval(hits, seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--traces", type=int, default=1000)
    parser.add_argument(
        "--only", choices=("errors", "latency"), default=None, help="only this metric's rows"
    )
    opts = parser.parse_args()
    rows = []
    nulls = [
        ("errors", "origin", 1.0),
        ("errors", "span", 1.0),
        ("errors", "trace", 1.0),
        ("latency", "origin", 1.0),
        ("latency", "origin", 3.0),  # heavy tails: log-normal sigma 1.2-1.5
    ]
    for metric, unit, tail in nulls:
        if opts.only and metric != opts.only:
            continue
        started = time.perf_counter()
        result = false_alarms(opts.seeds, opts.traces, metric, unit, tail)
        name = f"no incident, --metric {metric} --unit {unit}" + (
            f", durations' sigma x{tail:g}" if tail != 1.0 else ""
        )
        rows.append((f"{name}: gate fires", result, time.perf_counter() - started))
        print(rows[-1], flush=True)
    incidents = [("errors", 1.0, 3.0), ("latency", 1.0, 3.0), ("latency", 3.0, 2.0)]
    for kind, tail, factor in incidents:
        if opts.only and kind != opts.only:
            continue
        started = time.perf_counter()
        result = named_first(opts.seeds, opts.traces, kind, tail, factor)
        name = f"{kind} incident named first" + (
            f" (tool {factor:g}x slower, durations' sigma x{tail:g})" if kind == "latency" else ""
        )
        rows.append((name, result, time.perf_counter() - started))
        print(rows[-1], flush=True)
    print(f"\n{opts.seeds} seeds, {opts.traces} traces (5 spans each) per window, alpha 0.05\n")
    print("| check | observed | seconds |")
    print("|---|---|---|")
    for name, result, seconds in rows:
        print(f"| {name} | {result} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
