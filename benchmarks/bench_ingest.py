"""Measure `pyflare ingest` of OTLP protobuf and JSON Lines whole-process, beside bare upb.

    python benchmarks/bench_ingest.py --spans 1000000 --runs 2 --work /tmp/bench-ingest

Makes the demo's spans once per format (`pyflare demo --format pb|jsonl`, about 1.1 KB a
span as protobuf, 1.6 KB as JSON), then, in turns so that the machine's load falls on each
alike, times as separate processes: a bare single-process upb parse of the protobuf file
(every request parsed, every span counted: the floor issue 24 compares against), and
`pyflare ingest` of each file into a fresh store, with the fast decoders (the default) and,
with ``--reference``, the reference decoders (``PYFLARE_OTLP_DECODER=reference``), and
with ``--compiled`` the opt-in compiled protobuf decoder (``PYFLARE_OTLP_DECODER=numba``).
Prints a Markdown table: median and min seconds, spans/s, CPU seconds, peak RSS of the
largest process (ingest's workers included), and the load average before each run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BARE_UPB = """
import sys
from google.protobuf.internal.decoder import _DecodeVarint
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
spans = 0
with open(sys.argv[1], "rb") as handle:
    data = handle.read()
view, position = memoryview(data), 0
while position < len(data):
    length, position = _DecodeVarint(data, position)
    request = ExportTraceServiceRequest.FromString(view[position : position + length])
    position += length
    spans += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
print(spans)
"""


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """(seconds, CPU seconds, peak RSS MiB, stdout) of one run, through GNU time.

    GNU time's numbers cover the process and the workers it waited for: CPU seconds (user
    + system) say how much work a run was, which a shared machine's load changes far less
    than the wall-clock time; the peak RSS is the largest single process of the run.
    """
    started = time.perf_counter()
    timed = ["/usr/bin/time", "-f", "%M %U %S", *command]
    done = subprocess.run(timed, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {done.stderr[-500:]}")
    peak_kib, user, system = done.stderr.strip().splitlines()[-1].split()
    return seconds, float(user) + float(system), int(peak_kib) / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("bench-ingest"))
    parser.add_argument("--formats", default="pb,jsonl", help="pb, jsonl or both (pb,jsonl)")
    parser.add_argument("--reference", action="store_true", help="also time the reference decoders")
    parser.add_argument(
        "--compiled", action="store_true", help="also time the compiled protobuf decoder (numba)"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYFLARE_NOW": "2026-11-20T12:00:00+00:00"}
    pyflare = [sys.executable, "-m", "pyflare_cli"]
    formats = [f for f in args.formats.split(",") if f]
    files: dict[str, Path] = {}
    for fmt in formats:
        files[fmt] = args.work / f"demo-{args.spans}.{fmt}"
        if not files[fmt].exists():
            subprocess.run(
                [*pyflare, "demo", "--spans", str(args.spans), "--seed", "7", "--days", "3",
                 "--out", str(files[fmt]), "--format", fmt],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
    cases: dict[str, tuple[list[str], dict[str, str]]] = {}
    if "pb" in files:
        cases["bare upb parse of the pb (1 process)"] = (
            [sys.executable, "-c", BARE_UPB, str(files["pb"])],
            {},
        )
    for fmt, data in files.items():
        ingest = [*pyflare, "ingest", str(data), "--store"]
        cases[f"pyflare ingest {fmt}"] = (ingest, {})
        if args.compiled and fmt == "pb":
            cases[f"pyflare ingest {fmt}, compiled decoder (numba)"] = (
                ingest,
                {"PYFLARE_OTLP_DECODER": "numba"},
            )
        if args.reference:
            cases[f"pyflare ingest {fmt}, reference decoder"] = (
                ingest,
                {"PYFLARE_OTLP_DECODER": "reference"},
            )
    results: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in cases}
    spans = args.spans
    for run in range(args.runs):
        for name, (command, extra) in cases.items():
            store = args.work / f"store-{run}"
            shutil.rmtree(store, ignore_errors=True)
            argv = [*command, str(store)] if command[-1] == "--store" else command
            load = os.getloadavg()[0]
            seconds, cpu, peak, out = _timed(argv, {**env, **extra})
            if name.startswith("bare"):
                spans = int(out.strip())
            results[name].append((seconds, cpu, peak, load))
            print(
                f"run {run} {name}: {seconds:.2f} s, {cpu:.1f} CPU s, load {load:.1f}",
                file=sys.stderr,
            )
            shutil.rmtree(store, ignore_errors=True)
    sizes = ", ".join(f"{p.stat().st_size / 1e6:,.0f} MB as {fmt}" for fmt, p in files.items())
    print(f"{spans:,} spans ({sizes}), {os.cpu_count()} cores\n")
    print(
        "| case | median s | min s | spans/s (median) | CPU s (median) | spans per CPU s "
        "| peak RSS MiB (max) | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        seconds = [r[0] for r in rows]
        median = statistics.median(seconds)
        cpu = statistics.median(r[1] for r in rows)
        loads = ", ".join(f"{r[3]:.1f}" for r in rows)
        print(
            f"| {name} | {median:.2f} | {min(seconds):.2f} | {spans / median:,.0f} | "
            f"{cpu:.1f} | {spans / cpu:,.0f} | {max(r[2] for r in rows):,.0f} | {loads} |"
        )


if __name__ == "__main__":
    main()
