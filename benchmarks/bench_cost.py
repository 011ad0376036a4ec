"""Time `pyflare cost --by model --every day` and check it against DuckDB, to the micro-dollar.

    python benchmarks/bench_cost.py --store bench-out/store-pb --repeat 3 [--before /tmp/old]

The store is any pyflare store (e.g. one made by benchmarks/benchmark.py from `pyflare demo`).
pyflare runs as a real subprocess (start-up included). DuckDB (`pip install duckdb`; not a
pyflare dependency) reads the same Parquet files with SQL, using the prices pyflare
resolved for the store's models, and computes the same per-day, per-model totals with
integer arithmetic, each price band (date, daily window, input-size tier) joined as pyflare
joins it. Every run is a process under /usr/bin/time -v, after one
warm-up; ``--before DIR`` also times older code from a checkout (``git worktree add DIR
COMMIT``) on the same store with PYTHONPATH=DIR. The runs go in turns (before, now, DuckDB,
before, ...) so each sees the same load. The script prints the machine and its load
average, min and median of wall time, CPU time (user + system) and peak RSS, the ratios to
DuckDB, and whether every total agrees with DuckDB's. The SQL is `pyflare bench --peers`'s
(pyflare_cli/bench/peers.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.pricing import model_pairs, price_table
from pyflare_cli.bench.peers import DUCKDB_COST_SQL, DUCKDB_SCRIPT, cost_totals_differ
from pyflare_cli.query.prices import resolutions
from pyflare_cli.store.scan import scan_spans


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MiB) of one process, as /usr/bin/time -v reports them."""
    wall, rss, _, out = timed_cpu(command, env)
    return wall, rss, out


def timed_cpu(
    command: list[str], env: dict[str, str], answers: tuple[int, ...] = (0,)
) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + system) of one process; an
    exit code outside ``answers`` (a gate's 1 can be one) stops the run.

    A run with PYTHONPATH (older code) starts in that folder: ``python -m`` puts the
    working directory first on sys.path, so from this checkout it would run this code.
    """
    cwd = env.get("PYTHONPATH") or None
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env, cwd=cwd
    )
    if done.returncode not in answers:
        raise SystemExit(f"{command[:4]} failed:\n{done.stderr[-2000:]}")
    wall = rss = cpu = 0.0
    for line in done.stderr.splitlines():
        line = line.strip()
        if line.startswith(("User time (seconds)", "System time (seconds)")):
            cpu += float(line.rsplit(": ", 1)[1])
        elif line.startswith("Elapsed (wall clock) time"):
            clock = line.rsplit(": ", 1)[1].split(":")
            wall = sum(float(part) * 60**i for i, part in enumerate(reversed(clock)))
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(": ", 1)[1]) / 1024
    return wall, rss, cpu, done.stdout


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return f"{cpu}, {os.cpu_count()} cores, load average {os.getloadavg()}"


def _row(name: str, runs: list[tuple[float, float, float, str]]) -> str:
    walls, rsss, cpus = ([r[i] for r in runs] for i in range(3))
    return (
        f"| {name} | {min(walls):.2f} / {statistics.median(walls):.2f} | "
        f"{min(cpus):.2f} / {statistics.median(cpus):.2f} | "
        f"{min(rsss):.0f} / {statistics.median(rsss):.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--before", type=Path, help="a checkout of older code (git worktree) to time as well"
    )
    opts = parser.parse_args()
    import duckdb

    spans = scan_spans(opts.store)
    first, last, rows = (
        spans.select(
            pl.col("start_time").min().alias("first"),
            pl.col("start_time").max().alias("last"),
            pl.len(),
        )
        .collect()
        .row(0)
    )
    since = first.replace(hour=0, minute=0, second=0, microsecond=0)
    now = last.replace(microsecond=0).astimezone(UTC)
    until = datetime.fromtimestamp(now.timestamp() + 1, UTC)
    env = {**os.environ, "PYFLARE_NOW": until.isoformat()}
    args = ["cost", "--by", "model", "--every", "day", "--since", since.isoformat()]
    args += ["--until", until.isoformat(), "--store", str(opts.store.resolve()), "--format", "json"]
    command = [sys.executable, "-m", "pyflare_cli", *args]
    print(_machine())
    files = [str(p) for p in sorted(opts.store.glob("spans/date=*/part-*.parquet"))]
    size = sum(Path(f).stat().st_size for f in files) / 2**20
    print(f"{rows:,} spans, {len(files)} Parquet files, {size:.1f} MiB")

    pairs = [(p, m) for p, m in model_pairs(spans).collect().iter_rows()]
    prices = price_table(resolutions(pairs, opts.store)).drop("price_source")
    with tempfile.TemporaryDirectory() as folder:
        price_file = Path(folder) / "prices.parquet"
        prices.write_parquet(price_file)
        params = {"files": files, "prices": str(price_file)}
        params |= {"since": since.isoformat(), "until": until.isoformat()}
        (Path(folder) / "params.json").write_text(json.dumps(params))
        (Path(folder) / "query.sql").write_text(DUCKDB_COST_SQL)
        (Path(folder) / "run.py").write_text(DUCKDB_SCRIPT)
        result = Path(folder) / "duckdb.parquet"
        ddb = [sys.executable, str(Path(folder) / "run.py")]
        ddb += [str(Path(folder) / "params.json"), str(Path(folder) / "query.sql"), str(result)]
        jobs = {"now, whole command": (command, env)}
        if opts.before is not None:
            old_env = {**env, "PYTHONPATH": str(opts.before.resolve())}
            jobs = {f"before ({opts.before}), whole command": (command, old_env), **jobs}
        jobs[f"DuckDB {duckdb.__version__}, whole process"] = (ddb, env)
        for argv, job_env in jobs.values():
            timed_cpu(argv, job_env)  # warm the price cache and the page cache
        runs: dict[str, list[tuple[float, float, float, str]]] = {name: [] for name in jobs}
        for _ in range(opts.repeat):  # in turns, so each sees the same machine load
            for name, (argv, job_env) in jobs.items():
                runs[name].append(timed_cpu(argv, job_env))
        theirs = pl.read_parquet(result)
    print("| run | wall s (min / median) | CPU s (min / median) | peak RSS MiB (min / median) |")
    print("|---|---|---|---|")
    for name, done in runs.items():
        print(_row(name, done))
    peer = list(runs)[-1]
    query_s = statistics.median(float(r[3]) for r in runs[peer])
    for name in list(runs)[:-1]:
        ratio = [statistics.median(r[i] for r in runs[name]) /
                 statistics.median(r[i] for r in runs[peer]) for i in (0, 2)]  # fmt: skip
        print(f"{name} / DuckDB: {ratio[0]:.2f}x wall, {ratio[1]:.2f}x CPU")
    print(f"DuckDB's query alone: {query_s:.3f} s (median)")
    report = json.loads(runs["now, whole command"][-1][3])
    compared, differ = cost_totals_differ(report, theirs)
    print(f"(day, model) totals that differ from DuckDB: {differ} of {compared}")
    print(f"total ${report['total_usd']:,.6f}; load average after: {os.getloadavg()}")
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
