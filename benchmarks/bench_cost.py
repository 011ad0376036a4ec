"""Time `pyflare cost --by model --every day` and check it against DuckDB, to the micro-dollar.

    python benchmarks/bench_cost.py --store bench-out/store-pb --repeat 5

The store is any pyflare store (e.g. one made by benchmarks/benchmark.py from `pyflare demo`).
pyflare runs as a real subprocess (start-up included). DuckDB (`pip install duckdb`; not a
pyflare dependency) reads the same Parquet files with SQL, using the prices pyflare
resolved for the store's models, and computes the same per-day, per-model totals with
integer arithmetic; the script prints both timings and whether every total agrees.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pyflare_cli.analysis.cost.pricing import model_pairs, price_table
from pyflare_cli.query.prices import resolutions
from pyflare_cli.store.scan import scan_spans

SQL = """
WITH spans AS (
  SELECT s.*, p.rate_input, p.rate_output, p.rate_cache_read, p.rate_cache_write,
         p.rate_reasoning
  FROM read_parquet($files) s
  LEFT JOIN read_parquet($prices) p
    ON s.model = p.model AND s.provider IS NOT DISTINCT FROM p.provider
  WHERE s.start_time >= CAST($since AS TIMESTAMPTZ_NS)
    AND s.start_time < CAST($until AS TIMESTAMPTZ_NS)
), costed AS (
  SELECT date_trunc('day', start_time AT TIME ZONE 'UTC') AS period, model,
    CASE
      WHEN (input_tokens IS NOT NULL OR output_tokens IS NOT NULL) AND rate_input IS NOT NULL
      THEN CAST(greatest(coalesce(input_tokens, 0) - coalesce(cache_read_tokens, 0)
                         - coalesce(cache_write_tokens, 0), 0) AS HUGEINT) * rate_input
         + CAST(coalesce(cache_read_tokens, 0) AS HUGEINT) * rate_cache_read
         + CAST(coalesce(cache_write_tokens, 0) AS HUGEINT) * rate_cache_write
         + CAST(coalesce(output_tokens, 0) - least(coalesce(reasoning_tokens, 0),
                coalesce(output_tokens, 0)) AS HUGEINT) * rate_output
         + CAST(least(coalesce(reasoning_tokens, 0), coalesce(output_tokens, 0)) AS HUGEINT)
           * rate_reasoning
      WHEN reported_cost_usd IS NOT NULL THEN CAST(round(reported_cost_usd * 1e12) AS HUGEINT)
    END AS cost_pico
  FROM spans
)
SELECT period, model, CAST((sum(cost_pico) + 500000) // 1000000 AS BIGINT) AS cost_micros
FROM costed GROUP BY period, model
"""


def _time(command: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, str]:
    times, out = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        times.append(time.perf_counter() - started)
        out = done.stdout
    return statistics.median(times), max(times) - min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
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
    command = [
        sys.executable,
        "-m",
        "pyflare_cli",
        "cost",
        "--by",
        "model",
        "--every",
        "day",
        "--since",
        since.isoformat(),
        "--until",
        until.isoformat(),
        "--store",
        str(opts.store),
        "--format",
        "json",
    ]
    _time(command, env, 1)  # warm the price cache and the page cache
    ours, ours_spread, output = _time(command, env, opts.repeat)
    report = json.loads(output)

    pairs = [(p, m) for p, m in model_pairs(spans).collect().iter_rows()]
    prices = price_table(resolutions(pairs, opts.store)).drop("effective_from", "price_source")
    files = [str(p) for p in sorted(opts.store.glob("spans/date=*/part-*.parquet"))]
    with tempfile.TemporaryDirectory() as folder:
        price_file = Path(folder) / "prices.parquet"
        prices.write_parquet(price_file)
        con = duckdb.connect()
        params = {"files": files, "prices": str(price_file), "since": since, "until": until}
        times = []
        for _ in range(opts.repeat):
            started = time.perf_counter()
            theirs = pl.from_arrow(con.execute(SQL, params).to_arrow_table())
            times.append(time.perf_counter() - started)
    ddb = statistics.median(times)
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
    print(f"{rows:,} spans, {len(files)} Parquet files, {both.height} (day, model) totals")
    print("| engine | median seconds | spread |")
    print("|---|---|---|")
    command_row = "`pyflare cost --by model --every day` (whole command)"
    print(f"| {command_row} | {ours:.2f} | {ours_spread:.2f} |")
    duck_row = f"DuckDB {duckdb.__version__} SQL, in-process (query only)"
    print(f"| {duck_row} | {ddb:.2f} | {max(times) - min(times):.2f} |")
    print(f"totals that differ: {differ.height} of {both.height}")
    if differ.height:
        print(differ.head(10))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
