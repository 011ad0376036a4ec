"""Time `pyflare cost --by model --every day` and check it against DuckDB, to the micro-dollar.

    python benchmarks/bench_cost.py --store bench-out/store-pb --repeat 3 [--before /tmp/old]

The store is any pyflare store (e.g. one made by benchmarks/benchmark.py from `pyflare demo`).
pyflare runs as a real subprocess (start-up included). DuckDB (`pip install duckdb`; not a
pyflare dependency) reads the same Parquet files with SQL, using the prices pyflare
resolved for the store's models, and computes the same per-day, per-model totals with
integer arithmetic, each price band (date, daily window, input-size tier) joined as pyflare
joins it. Every run is a process under /usr/bin/time -v (wall time and peak RSS), after one
warm-up; ``--before DIR`` also times older code from a checkout (``git worktree add DIR
COMMIT``) on the same store with PYTHONPATH=DIR. The script prints the machine and its load
average, min and median of each, and whether every total agrees with DuckDB's.
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
from pyflare_cli.query.prices import resolutions
from pyflare_cli.store.scan import scan_spans

SQL = """
WITH spans AS (
  SELECT start_time, model, provider, input_tokens, output_tokens, cache_read_tokens,
         cache_write_tokens, reasoning_tokens, reported_cost_usd
  FROM read_parquet($files)
  WHERE start_time >= CAST($since AS TIMESTAMPTZ_NS)
    AND start_time < CAST($until AS TIMESTAMPTZ_NS)
), banded AS (
  SELECT s.*, p.rate_input, p.rate_output, p.rate_cache_read, p.rate_cache_write,
         p.rate_reasoning, p.rate_request
  FROM spans s
  LEFT JOIN read_parquet($prices) p
    ON s.model = p.model AND s.provider IS NOT DISTINCT FROM p.provider
   AND (p.since IS NULL OR s.start_time >= p.since)
   AND (p.until IS NULL OR s.start_time < p.until)
   AND (p.day_from_us IS NULL OR (
        (epoch_ns(CAST(s.start_time AS TIMESTAMPTZ)) % 86400000000000) // 1000
        BETWEEN p.day_from_us AND p.day_to_us - 1))
   AND (p.above IS NULL OR coalesce(s.input_tokens, 0) > p.above)
   AND (p.upto IS NULL OR coalesce(s.input_tokens, 0) <= p.upto)
), costed AS (
  SELECT date_trunc('day', start_time) AS period, model,
    CASE
      WHEN (input_tokens IS NOT NULL OR output_tokens IS NOT NULL) AND rate_input IS NOT NULL
      THEN (greatest(CAST(coalesce(input_tokens, 0) AS HUGEINT) - coalesce(cache_read_tokens, 0)
                     - coalesce(cache_write_tokens, 0), 0) * rate_input
         + CAST(coalesce(cache_read_tokens, 0) AS HUGEINT) * rate_cache_read
         + CAST(coalesce(cache_write_tokens, 0) AS HUGEINT) * rate_cache_write
         + CAST(coalesce(output_tokens, 0) - least(coalesce(reasoning_tokens, 0),
                coalesce(output_tokens, 0)) AS HUGEINT) * rate_output
         + CAST(least(coalesce(reasoning_tokens, 0), coalesce(output_tokens, 0)) AS HUGEINT)
           * rate_reasoning
         + rate_request + 500000) // 1000000
      WHEN reported_cost_usd IS NOT NULL THEN CAST(round(reported_cost_usd * 1e12) AS HUGEINT)
    END AS cost_pico
  FROM banded
)
SELECT period, model, CAST((sum(cost_pico) + 500000) // 1000000 AS BIGINT) AS cost_micros
FROM costed GROUP BY period, model
"""


DUCKDB_RUN = """
import json, sys, time
import duckdb
params = json.load(open(sys.argv[1]))
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
started = time.perf_counter()
table = con.execute(open(sys.argv[2]).read(), params).to_arrow_table()
print(time.perf_counter() - started)
import pyarrow.parquet
pyarrow.parquet.write_table(table, sys.argv[3])
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MiB) of one process, as /usr/bin/time -v reports them.

    A run with PYTHONPATH (older code) starts in that folder: ``python -m`` puts the
    working directory first on sys.path, so from this checkout it would run this code.
    """
    cwd = env.get("PYTHONPATH") or None
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env, cwd=cwd
    )
    if done.returncode:
        raise SystemExit(f"{command[:4]} failed:\n{done.stderr[-2000:]}")
    wall = rss = 0.0
    for line in done.stderr.splitlines():
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            clock = line.rsplit(": ", 1)[1].split(":")
            wall = sum(float(part) * 60**i for i, part in enumerate(reversed(clock)))
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(": ", 1)[1]) / 1024
    return wall, rss, done.stdout


def _runs(
    command: list[str], env: dict[str, str], repeat: int
) -> tuple[list[float], list[float], str]:
    timed(command, env)  # warm the price cache and the page cache
    walls, rsss, out = [], [], ""
    for _ in range(repeat):
        wall, rss, out = timed(command, env)
        walls.append(wall)
        rsss.append(rss)
    return walls, rsss, out


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


def _row(name: str, walls: list[float], rsss: list[float]) -> str:
    return (
        f"| {name} | {min(walls):.2f} / {statistics.median(walls):.2f} | "
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
    results = []
    if opts.before is not None:
        old_env = {**env, "PYTHONPATH": str(opts.before.resolve())}
        walls, rsss, _ = _runs(command, old_env, opts.repeat)
        results.append(_row(f"before ({opts.before}), whole command", walls, rsss))
    walls, rsss, out = _runs(command, env, opts.repeat)
    results.append(_row("now, whole command", walls, rsss))
    report = json.loads(out)

    pairs = [(p, m) for p, m in model_pairs(spans).collect().iter_rows()]
    prices = price_table(resolutions(pairs, opts.store)).drop("price_source")
    with tempfile.TemporaryDirectory() as folder:
        price_file = Path(folder) / "prices.parquet"
        prices.write_parquet(price_file)
        params = {"files": files, "prices": str(price_file)}
        params |= {"since": since.isoformat(), "until": until.isoformat()}
        (Path(folder) / "params.json").write_text(json.dumps(params))
        (Path(folder) / "query.sql").write_text(SQL)
        (Path(folder) / "run.py").write_text(DUCKDB_RUN)
        result = Path(folder) / "duckdb.parquet"
        ddb = [sys.executable, str(Path(folder) / "run.py")]
        ddb += [str(Path(folder) / "params.json"), str(Path(folder) / "query.sql"), str(result)]
        walls, rsss, seconds = _runs(ddb, env, opts.repeat)
        name = f"DuckDB {duckdb.__version__}, whole process (query only {float(seconds):.2f} s)"
        results.append(_row(name, walls, rsss))
        theirs = pl.read_parquet(result)
    print("| run | wall s (min / median) | peak RSS MiB (min / median) |")
    print("|---|---|---|")
    print("\n".join(results))
    mine = pl.DataFrame(report["rows"]).select(
        pl.col("period").str.to_datetime(time_zone="UTC").dt.date().alias("day"),
        "model",
        (pl.col("cost_usd") * 1_000_000).round(0).cast(pl.Int64).alias("ours"),
    )
    theirs = theirs.select(
        pl.col("period").dt.date().alias("day"), "model", pl.col("cost_micros").alias("duckdb")
    ).filter(pl.col("duckdb").is_not_null() & (pl.col("duckdb") != 0))
    both = mine.join(theirs, on=["day", "model"], how="full", nulls_equal=True, coalesce=True)
    differ = both.filter(pl.col("ours").fill_null(0) != pl.col("duckdb").fill_null(0))
    print(f"(day, model) totals that differ from DuckDB: {differ.height} of {both.height}")
    print(f"total ${report['total_usd']:,.6f}; load average after: {os.getloadavg()}")
    if differ.height:
        print(differ.head(10))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
