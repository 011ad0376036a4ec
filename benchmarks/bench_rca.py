"""Time the whole `pyflare rca` command on a store: wall time, CPU time and peak RSS.

    python benchmarks/bench_rca.py --spans 1000000 --repeat 3 [--store PATH] [--before DIR]
                                   [--metric latency] [--unit trace]
    python benchmarks/bench_rca.py --store BIG --copies 10 --from STORE   # 10x a store

The store comes from `pyflare demo --spans N --days 3` (made once, reused), so it has the
demo's incidents and about two dozen candidate dimensions; the clock is set just after its
last span, so the target is its last day and the baseline the day before. Each run is a
fresh process (`python -m pyflare_cli rca --format json`), as a user runs it: imports, the
lazy scan of the store, the analysis and the rendering, nothing collected beforehand. Its
peak RSS is the child's own (``os.wait4``), the figure `/usr/bin/time -v` prints.

``--copies K --from STORE`` first writes every part of STORE K times into the store, the
trace ids changed (first hex digit XOR k: distinct traces with the same shapes and times),
which makes a 10M-span store from a 1M one in a minute or two, where `pyflare demo` takes
most of an hour on a loaded machine.

``--before DIR`` times another copy of the code too (e.g. ``git archive COMMIT | tar -x -C
DIR``), run by run alternating with this one, so both see the same load. The machine's
load average is printed with every figure: on a shared machine wall times follow it, CPU
times much less.
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    rss_mib: float
    load: float
    first: str


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _make_store(store: Path, spans: int, now: datetime) -> None:
    started = time.perf_counter()
    subprocess.run(
        [
            *(sys.executable, "-m", "pyflare_cli", "demo", "--spans", str(spans)),
            *("--days", "3", "--store", str(store)),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYFLARE_NOW": now.isoformat()},
        cwd=ROOT,
    )
    print(f"made {store} in {time.perf_counter() - started:.1f} s")


def _replicate(source: Path, store: Path, copies: int) -> None:
    """Every part of ``source`` written ``copies`` times into ``store`` (module docstring)."""
    import shutil
    import uuid

    import polars as pl

    (store / "spans").mkdir(parents=True)
    shutil.copy(source / "catalog.sqlite", store / "catalog.sqlite")
    digits = "0123456789abcdef"
    for part in sorted((source / "spans").glob("date=*/part-*.parquet")):
        frame = pl.read_parquet(part)
        folder = store / "spans" / part.parent.name
        folder.mkdir(exist_ok=True)
        first = pl.col("trace_id").str.slice(0, 1)
        for k in range(copies):
            flipped = {c: digits[digits.index(c) ^ k] for c in digits}
            copy = frame.with_columns(
                (
                    first.replace_strict(flipped, default=first) + pl.col("trace_id").str.slice(1)
                ).alias("trace_id")
            )
            copy.write_parquet(folder / f"part-{uuid.uuid4().hex}.parquet", compression="zstd")


def _last_span(store: Path) -> datetime:
    import polars as pl

    from pyflare_cli.store.scan import scan_spans

    last: datetime = scan_spans(store).select(pl.col("start_time").max()).collect().item()
    return last.astimezone(UTC)


def _timed(code: Path, args: list[str], now: datetime) -> Run:
    """One whole command in a fresh process; its CPU time and peak RSS from ``os.wait4``."""
    env = {**os.environ, "PYFLARE_NOW": now.isoformat(), "PYTHONPATH": str(code)}
    load = os.getloadavg()[0]
    out_path = Path(f"/tmp/bench-rca-{os.getpid()}.json")
    started = time.perf_counter()
    with out_path.open("wb") as out:
        # the code's own folder first on sys.path (python -m puts the cwd there)
        child = subprocess.Popen(
            [sys.executable, "-m", "pyflare_cli", "rca", *args, "--format", "json"],
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
            cwd=code,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode not in (0, 1):
        raise SystemExit(f"rca {' '.join(args)} exited {child.returncode}")
    payload = json.loads(out_path.read_text())
    out_path.unlink()
    first = payload["causes"][0]["title"] if payload["causes"] else "none"
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss / 1024, load, first)


def _row(name: str, runs: list[Run]) -> str:
    walls = [r.wall for r in runs]
    loads = [r.load for r in runs]
    return (
        f"| {name} | {statistics.median(walls):.2f} s | {min(walls):.2f} s | "
        f"{statistics.median(r.cpu for r in runs):.2f} s | "
        f"{max(r.rss_mib for r in runs):,.0f} MiB | {min(loads):.1f}-{max(loads):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--before", type=Path, default=None, help="another copy of the code")
    parser.add_argument("--copies", type=int, default=0, help="make --store from --from")
    parser.add_argument("--from", dest="source", type=Path, default=None, help="with --copies")
    parser.add_argument(
        "--metric", action="append", default=None, help="errors, latency, ... (repeatable)"
    )
    parser.add_argument("--unit", default="origin", help="origin, span or trace")
    opts = parser.parse_args()
    store = opts.store or Path(f"/tmp/pyflare-bench-rca-{opts.spans}")
    if not store.exists() and opts.copies and opts.source:
        started = time.perf_counter()
        _replicate(opts.source, store, opts.copies)
        print(
            f"made {store} ({opts.copies} x {opts.source}) in {time.perf_counter() - started:.0f} s"
        )
    elif not store.exists():
        end = datetime.now(UTC).replace(microsecond=0)
        _make_store(store, opts.spans, end)
    now = _last_span(store) + timedelta(seconds=1)
    codes = [("this", ROOT)] + ([("before", opts.before.resolve())] if opts.before else [])
    rows: list[tuple[str, list[Run]]] = []
    for metric in opts.metric or ["errors", "latency"]:
        args = ["--store", str(store), "--metric", metric, "--unit", opts.unit]
        runs: dict[str, list[Run]] = {name: [] for name, _ in codes}
        for _name, code in codes:  # a warm-up each: the page cache, the price cache
            _timed(code, args, now)
        for _ in range(opts.repeat):
            for name, code in codes:
                runs[name].append(_timed(code, args, now))
        for name, _ in codes:
            rows.append((f"{name}, `--metric {metric} --unit {opts.unit}`", runs[name]))
    print(f"Machine: {_machine()}")
    print(f"Store: {store}; now {now:%Y-%m-%d %H:%M:%S} UTC (target: the last 24 h)")
    print(f"Whole command, {opts.repeat} runs after a warm-up, at {datetime.now(UTC):%H:%M} UTC")
    print()
    print("| | median wall | min wall | median CPU (user+sys) | peak RSS | load average |")
    print("|---|---|---|---|---|---|")
    for name, runs_ in rows:
        print(_row(name, runs_))
    print()
    for name, runs_ in rows:
        print(f"first cause, {name}: {runs_[-1].first}")


if __name__ == "__main__":
    main()
