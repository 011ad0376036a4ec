"""Peers on the same data in the same run: DuckDB for ``cost``, Rotel's blackhole for ``receive``.

`pyflare bench --peers` answers "how far is pyflare from the best tool at this job, here?"
without trusting figures from another machine or another day: each peer runs on the same
data as pyflare, one run of each in turn (A B A B ...) so both see the same machine load,
and every figure is reported with the ratio pyflare / peer.

- DuckDB (``pip install duckdb``) computes what ``pyflare cost --by model --every day``
  computes: per-day, per-model spend over the same Parquet files, each span joined to the
  price band pyflare resolved for it (date, daily window, input-size tier), in integer
  pico-dollars. Its totals are checked against pyflare's to the micro-dollar, so the ratio
  compares the same work.
- Rotel (``pip install rotel`` ships its binary; or a ``rotel`` on PATH) receives the load
  generator's OTLP/HTTP requests with its blackhole exporter: the acknowledged rate of a
  receiver that stores nothing, the ceiling for ``pyflare receive``'s.

Each peer runs as its own process, so importing this module imports neither.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pyflare_cli.bench.figures import PeerCheck, PeerFigure, Run, run_command, run_process
from pyflare_cli.bench.ports import free_port, wait_for_port

if TYPE_CHECKING:
    from pyflare_cli.bench.load.config import LoadConfig
    from pyflare_cli.bench.load.result import LoadResult

DUCKDB_COST_SQL = """
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
"""Per-day, per-model spend in micro-dollars, as pyflare's cost report sums it: each span's
cost in pico-dollars (atto-dollar products rounded once), summed, rounded to micro-dollars."""

DUCKDB_SCRIPT = """
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
"""The DuckDB process: the query over the files, its result written to Parquet (as pyflare
writes its JSON); prints the query's own seconds."""


def duckdb_version() -> str | None:
    """DuckDB's version when this interpreter can import it (the peer runs with it), else None."""
    if importlib.util.find_spec("duckdb") is None:
        return None
    try:
        return metadata.version("duckdb")
    except metadata.PackageNotFoundError:
        return "unknown version"


def rotel_command() -> list[str] | None:
    """Rotel's binary: ``rotel`` on PATH, else the one the ``rotel`` Python package ships."""
    found = shutil.which("rotel")
    if found:
        return [found]
    spec = importlib.util.find_spec("rotel")
    if spec is not None and spec.origin:
        agent = Path(spec.origin).parent / "rotel-agent"
        if agent.is_file() and os.access(agent, os.X_OK):
            return [str(agent)]
    return None


def rotel_version(command: list[str]) -> str:
    try:
        done = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "Rotel"
    text = done.stdout.strip().splitlines()
    return text[0].replace("rotel", "Rotel", 1) if text else "Rotel"


def cost_window(now: datetime, days: int) -> tuple[str, str]:
    """The ``--since``/``--until`` of the compared run: explicit instants for both tools."""
    return (now - timedelta(days=days)).isoformat(), now.isoformat()


def _price_file(store: Path, folder: Path) -> Path:
    """The prices pyflare resolves for the store's models, one row per band, as Parquet."""
    from pyflare_cli.analysis.cost.pricing import model_pairs, price_table
    from pyflare_cli.query.prices import resolutions
    from pyflare_cli.store.scan import scan_spans

    pairs = [(p, m) for p, m in model_pairs(scan_spans(store)).collect().iter_rows()]
    path = folder / "prices.parquet"
    price_table(resolutions(pairs, store)).drop("price_source").write_parquet(path)
    return path


def cost_totals_differ(report: dict[str, Any], theirs: pl.DataFrame) -> tuple[int, int]:
    """(compared, differing) (day, model) totals: pyflare's JSON report vs DuckDB's result."""
    mine = pl.DataFrame(report["rows"], infer_schema_length=None).select(
        pl.col("period").str.to_datetime(time_zone="UTC").dt.date().alias("day"),
        "model",
        (pl.col("cost_usd") * 1_000_000).round(0).cast(pl.Int64).alias("ours"),
    )
    theirs = theirs.select(
        pl.col("period").dt.date().alias("day"), "model", pl.col("cost_micros").alias("duckdb")
    ).filter(pl.col("duckdb").is_not_null() & (pl.col("duckdb") != 0))
    both = mine.join(theirs, on=["day", "model"], how="full", nulls_equal=True, coalesce=True)
    differ = both.filter(pl.col("ours").fill_null(0) != pl.col("duckdb").fill_null(0))
    return both.height, differ.height


def duckdb_cost(
    store: Path, env: dict[str, str], repeat: int, now: datetime, days: int, folder: Path
) -> tuple[list[PeerFigure], PeerCheck]:
    """``pyflare cost --by model --every day`` and DuckDB's same totals, run by run in turn.

    One warm-up of each (the price cache, the page cache); pyflare writes JSON, DuckDB
    Parquet. Figures: wall seconds, CPU seconds, peak memory; the check: the totals.
    """
    version = duckdb_version() or "unknown version"
    since, until = cost_window(now, days)
    folder.mkdir(parents=True, exist_ok=True)
    from pyflare_cli.store.layout import StoreLayout
    from pyflare_cli.store.scan import span_files

    window = (datetime.fromisoformat(since), datetime.fromisoformat(until))
    files = [str(p) for p in span_files(StoreLayout(store), *window)]  # the parts pyflare reads
    params = {"files": files, "prices": str(_price_file(store, folder))}
    (folder / "params.json").write_text(json.dumps({**params, "since": since, "until": until}))
    (folder / "query.sql").write_text(DUCKDB_COST_SQL)
    (folder / "duckdb_cost.py").write_text(DUCKDB_SCRIPT)
    result = folder / "duckdb.parquet"
    peer = [sys.executable, str(folder / "duckdb_cost.py"), str(folder / "params.json"),
            str(folder / "query.sql"), str(result)]  # fmt: skip
    args = ["cost", "--by", "model", "--every", "day", "--since", since, "--until", until,
            "--store", str(store), "--format", "json"]  # fmt: skip
    ours: list[Run] = []
    theirs: list[Run] = []
    for attempt in range(repeat + 1):
        mine, other = run_command(args, env), run_process(peer, env)
        for run, who in ((mine, "pyflare cost"), (other, f"DuckDB {version}")):
            if run.code != 0:
                last = (run.stderr.strip().splitlines() or ["no message"])[-1]
                raise RuntimeError(f"{who} exited {run.code}: {last}")
        if attempt:
            ours.append(mine)
            theirs.append(other)
    compared, differ = cost_totals_differ(json.loads(ours[-1].stdout), pl.read_parquet(result))
    query_s = statistics.median(float(r.stdout.strip() or "nan") for r in theirs)
    name = "cost --by model --every day"
    label = f"DuckDB {version}"
    note = f"DuckDB's query alone {query_s:.3f} s; {len(files)} Parquet files"
    figures = [
        PeerFigure("cost", f"{name}: wall", label, "s",
                   tuple(r.seconds for r in ours), tuple(r.seconds for r in theirs), "lower", note),
        PeerFigure("cost", f"{name}: CPU", label, "s", tuple(r.cpu_seconds for r in ours),
                   tuple(r.cpu_seconds for r in theirs), "lower", "user + system, both processes"),
        PeerFigure("cost", f"{name}: peak memory", label, "MiB",
                   tuple(r.peak_mib for r in ours), tuple(r.peak_mib for r in theirs), "lower"),
    ]  # fmt: skip
    check = PeerCheck("cost", label, "(day, model) totals in micro-dollars", compared, differ)
    return figures, check


def rotel_blackhole(command: list[str], config: LoadConfig) -> LoadResult:
    """One load run against Rotel with its blackhole exporter (``config``'s target replaced)."""
    from dataclasses import replace

    from pyflare_cli.bench.load import pool_for, run_load

    http, grpc = free_port(), free_port()
    server = subprocess.Popen(
        [*command, "start", "--exporter", "blackhole",
         "--otlp-http-endpoint", f"127.0.0.1:{http}", "--otlp-grpc-endpoint", f"127.0.0.1:{grpc}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(http, what="Rotel")
        aimed = replace(config, target=f"http://127.0.0.1:{http}/v1/traces")
        return run_load(aimed, pool_for(aimed))
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)
