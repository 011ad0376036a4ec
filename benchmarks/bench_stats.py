"""Time `pyflare stats`, `sessions` and `metrics` as whole commands, beside DuckDB running the
same query on the same Parquet, with the peak RSS of each pyflare run.

    python benchmarks/bench_stats.py --store /tmp/s1m/.pyflare --repeat 3
    python benchmarks/bench_stats.py --store /tmp/s1m/.pyflare --before /tmp/old
    python benchmarks/bench_stats.py --store /tmp/s1m/.pyflare --only 'by tool' --repeat 5

With ``--before DIR`` (an older ``pyflare_cli`` in it, from ``git archive REV pyflare_cli |
tar -x -C DIR``), each run of the current code alternates with a run of the older one under
the same load, and both are printed.

pyflare runs as a subprocess (start-up, price lookup and rendering included; JSON output to
a pipe). DuckDB (the test extra) answers the same question: per-model LLM calls with
quantile_cont p50/p90/p95/p99 for `stats --by model`; per (day, tool) tool calls with the
same percentiles for `stats --by tool --every day` (tool spans only: DuckDB does not do
pyflare's ancestry walk, so its figure is a lower bound of the work); per-session traces,
turns, tokens for `sessions`; per (model, provider, service) counts and token sums for
`metrics`. Peak RSS and CPU time (user + system, less sensitive than wall time to a shared
machine's load) come from getrusage of the child (Linux: ru_maxrss in KiB).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

NOW = "2026-11-20T12:00:00+00:00"
WINDOW = "start_time >= TIMESTAMPTZ '{since}' AND start_time < TIMESTAMPTZ '2026-11-20 12:00:00+00'"
LLM = "(ai_kind IN ('llm', 'embedding') OR (ai_kind IS NULL AND model IS NOT NULL))"
Q = "quantile_cont(duration_ns, [0.5, 0.9, 0.95, 0.99])"

CASES = [
    (
        "stats --by model",
        ["stats", "--by", "model", "--since", "7d"],
        f"SELECT model, count(*), count(*) FILTER (status_code = 'error'), {Q}, max(duration_ns),"
        f" sum(input_tokens), sum(output_tokens), count(DISTINCT user_id) FROM spans"
        f" WHERE {{window}} AND {LLM} GROUP BY model",
        "2026-11-13 12:00:00+00",
    ),
    (
        "stats --by tool --every day",
        ["stats", "--by", "tool", "--every", "day", "--since", "7d"],
        f"SELECT date_trunc('day', start_time) AS d, tool_name, count(*), {Q} FROM spans"
        f" WHERE {{window}} AND ai_kind = 'tool' GROUP BY d, tool_name",
        "2026-11-13 12:00:00+00",
    ),
    (
        "sessions",
        ["sessions", "--since", "7d", "--limit", "0"],
        "WITH t AS (SELECT trace_id, any_value(session_id) AS s, min(start_time) AS a,"
        f" max(end_time) AS b, count(*) FILTER ({LLM}) AS turns, sum(input_tokens) AS i"
        " FROM spans WHERE {window} GROUP BY trace_id)"
        " SELECT s, count(*), min(a), epoch_ns(max(b)) - epoch_ns(min(a)), sum(turns), sum(i)"
        " FROM t"
        " WHERE s IS NOT NULL GROUP BY s",
        "2026-11-13 12:00:00+00",
    ),
    (
        "metrics",
        ["metrics"],
        "SELECT model, provider, service_name, count(*), count(*) FILTER (status_code = 'error'),"
        " sum(input_tokens), sum(output_tokens) FROM spans WHERE model IS NOT NULL"
        " GROUP BY ALL",
        None,
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, help="folder holding an older pyflare_cli")
    parser.add_argument("--only", help="run the commands whose name holds this text")
    options = parser.parse_args()
    files = str(options.store / "spans" / "*" / "*.parquet")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW spans AS SELECT * FROM read_parquet('{files}')")
    (spans,) = con.execute("SELECT count(*) FROM spans").fetchone() or (0,)
    print(f"store: {options.store} ({spans:,} spans); cores: {os.cpu_count()}")
    versions = [("now", None)] + ([("before", options.before)] if options.before else [])
    print(
        f"{'command':32} {'version':>7} {'pyflare s':>10} {'CPU s':>6} {'peak RSS':>9}"
        f" {'duckdb s':>9}"
    )
    for name, args, sql, since in CASES:
        if options.only and options.only not in name:
            continue
        times: dict[str, list[float]] = {label: [] for label, _ in versions}
        peaks: dict[str, list[float]] = {label: [] for label, _ in versions}
        cpus: dict[str, list[float]] = {label: [] for label, _ in versions}
        for _ in range(options.repeat):
            for label, folder in versions:
                env = {**os.environ, "PYFLARE_NOW": NOW, "PYFLARE_STORE": str(options.store)}
                if folder is not None:
                    env["PYTHONPATH"] = str(folder)
                fmt = [] if args[0] == "metrics" else ["--format", "json"]
                started = time.perf_counter()
                child = subprocess.Popen(
                    [sys.executable, "-m", "pyflare_cli", *args, *fmt],
                    env=env, stdout=subprocess.DEVNULL, cwd=folder,
                )  # fmt: skip
                _, status, usage = os.wait4(child.pid, 0)
                times[label].append(time.perf_counter() - started)
                peaks[label].append(usage.ru_maxrss / 1024)
                cpus[label].append(usage.ru_utime + usage.ru_stime)
                assert os.waitstatus_to_exitcode(status) == 0, name
        query = sql.replace("{window}", WINDOW.format(since=since)) if since else sql
        duck = []
        for _ in range(options.repeat):
            started = time.perf_counter()
            con.execute(query).fetchall()
            duck.append(time.perf_counter() - started)
        for label, _ in versions:
            print(
                f"{name:32} {label:>7} {statistics.median(times[label]):10.2f}"
                f" {statistics.median(cpus[label]):6.2f} {max(peaks[label]):7.0f}MB"
                f" {statistics.median(duck):9.2f}"
            )


if __name__ == "__main__":
    main()
