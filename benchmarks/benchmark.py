"""Measure ingest throughput, storage size and listing latency on generated demo data.

    python benchmarks/benchmark.py --spans 1000000 --jsonl-spans 200000 --out bench-out

Prints a Markdown report (paste it into docs/benchmarks.md). Every figure comes from a
real `pyflare` subprocess on files made by `pyflare demo --out`, so it includes process
start-up, like a user's run. Peak memory is the largest resident set of any process of
the run (the ingest command or one of its workers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PYFLARE = [sys.executable, "-m", "pyflare_cli"]


_MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"\\nPEAK_RSS_KB={peak}\\n")
sys.exit(done.returncode)
"""


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MiB of the largest process of this run, stdout.

    A fresh wrapper process runs the command, so the peak is this run's alone (the
    command or one of its worker processes, whichever was largest).
    """
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    peak_kb = int(done.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
    return seconds, peak_kb // 1024, done.stdout


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(
            int(line.split()[1]) // 1024 // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem = 0
    import polars
    import pyarrow

    return (
        f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM; Python {platform.python_version()}, "
        f"Polars {polars.__version__}, PyArrow {pyarrow.__version__}"
    )


def median_seconds(args: list[str], env: dict[str, str], repeat: int) -> tuple[float, float]:
    times = [run(args, env)[0] for _ in range(repeat)]
    return statistics.median(times), max(times) - min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--jsonl-spans", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    opts = parser.parse_args()
    out: Path = opts.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {"PYFLARE_NOW": "2026-11-20T12:00:00+00:00"}
    lines = [f"Machine: {machine()}", ""]

    pb = out / "spans.pb"
    jsonl = out / "spans.jsonl"
    json_doc = out / "spans.json"
    run([*PYFLARE, "demo", "--spans", str(opts.spans), "--out", str(pb), "--format", "pb"], env)
    small = ["demo", "--spans", str(opts.jsonl_spans), "--out"]
    run([*PYFLARE, *small, str(jsonl), "--format", "jsonl"], env)
    run([*PYFLARE, *small, str(json_doc), "--format", "json"], env)
    small_pb = out / "small.pb"
    run([*PYFLARE, *small, str(small_pb), "--format", "pb"], env)

    lines.append("| input | spans | input size | seconds | spans/s | MB/s | peak RSS |")
    lines.append("|---|---|---|---|---|---|---|")
    stores = {}
    for label, key, path, count in (
        ("OTLP protobuf stream", "pb", pb, opts.spans),
        ("OTLP JSON Lines", "jsonl", jsonl, opts.jsonl_spans),
        ("OTLP protobuf stream (small)", "small-pb", small_pb, opts.jsonl_spans),
    ):
        store = out / f"store-{key}"
        seconds, peak, stdout = run(
            [*PYFLARE, "ingest", str(path), "--store", str(store), "--format", "json"], env
        )
        summary = json.loads(stdout)
        spans = summary["spans"]
        size_mb = path.stat().st_size / 1e6
        lines.append(
            f"| {label} | {spans:,} | {size_mb:,.0f} MB | {seconds:.1f} | "
            f"{spans / seconds:,.0f} | {size_mb / seconds:,.0f} | {peak:,} MiB |"
        )
        stores[key] = (store, spans, count)

    store, spans, _ = stores["pb"]
    parquet = sum(p.stat().st_size for p in store.rglob("part-*.parquet"))
    run([*PYFLARE, "store", "compact", "--store", str(store)], env)
    compacted = sum(p.stat().st_size for p in store.rglob("part-*.parquet"))
    small_json_per_span = json_doc.stat().st_size / opts.jsonl_spans
    jsonl_per_span = jsonl.stat().st_size / opts.jsonl_spans
    pb_per_span = pb.stat().st_size / opts.spans
    lines += [
        "",
        "| bytes per span | as ingested | after `store compact` |",
        "|---|---|---|",
        f"| Parquet store | {parquet / spans:.0f} | {compacted / spans:.0f} |",
        f"| OTLP/JSON document | {small_json_per_span:.0f} "
        f"({small_json_per_span / (parquet / spans):.1f}x the store) | "
        f"{small_json_per_span / (compacted / spans):.1f}x |",
        f"| OTLP JSON Lines | {jsonl_per_span:.0f} ({jsonl_per_span / (parquet / spans):.1f}x) | "
        f"{jsonl_per_span / (compacted / spans):.1f}x |",
        f"| OTLP protobuf | {pb_per_span:.0f} ({pb_per_span / (parquet / spans):.1f}x) | "
        f"{pb_per_span / (compacted / spans):.1f}x |",
        "",
    ]

    store_env = {**env, "PYFLARE_STORE": str(store)}
    first = run([*PYFLARE, "traces", "--format", "json", "--limit", "1"], store_env)[2]
    trace_id = json.loads(first)[0]["trace_id"]
    commands = [
        ("pyflare --version (process start-up)", ["--version"]),
        ("pyflare traces", ["traces"]),
        ("pyflare traces --sort duration", ["traces", "--sort", "duration"]),
        (
            "pyflare traces --where 'status:error model:gpt-4o*'",
            ["traces", "--where", "status:error model:gpt-4o*"],
        ),
        ("pyflare traces --since 24h", ["traces", "--since", "24h"]),
        ("pyflare trace show <id>", ["trace", "show", trace_id]),
    ]
    lines += [
        f"On the {spans:,}-span store (compacted), median of {opts.repeat} runs:",
        "",
        "| command | median seconds | spread |",
        "|---|---|---|",
    ]
    for label, args in commands:
        median, spread = median_seconds([*PYFLARE, *args], store_env, opts.repeat)
        lines.append(f"| `{label}` | {median:.2f} | {spread:.2f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
