"""Time `pyflare drift`: 10 features of one model over 1M spans, and MMD on 2 x 5,000 vectors.

    python benchmarks/bench_drift.py --spans 1000000 --repeat 3
    python benchmarks/bench_drift.py --spans 1000000 --repeat 3 --profile   # + where time goes

Generates (once; reused while its marker matches) a store of ``--spans`` LLM spans of one
model, ``bench-model``: half in the reference window (the 7 days before the last day,
``--reference-days 7``) and half in the current window (the last 24 hours, ``--since 24h``),
with every column of the canonical schema, written through pyflare's own SpanWriter. The
current window has two shifts that `pyflare drift` should report: latency (``duration_ms``
x 1.2) and more truncated answers (``finish_reason`` "length" 7% -> 17%). Nothing else
changes, so the other 8 features should stay "ok".

Measured, each as the median and spread (max - min) of ``--repeat`` runs after a warm-up:

* load: both windows scanned, priced and turned into feature frames (``model_sample`` +
  ``features_of`` + ``collect``), in process;
* compare: :func:`pyflare_cli.analysis.drift.report.compare` on those frames (the 10 features
  plus the concept-drift rows the command adds), in process;
* the whole command, ``python -m pyflare_cli drift ... --format json``, as a subprocess
  (start-up included), with its peak RSS; its JSON must hold the 10 feature rows;
* ``mmd_test`` on 2 x 5,000 float32 vectors of dimension 384, 100 permutations.

Timings are reported, never asserted. Prints machine info, a Markdown table for
docs/benchmarks.md and the CPU time other processes took meanwhile (on a shared machine the
figures are only as good as that line). Generation time is printed but is not part of any
figure. Exit 1 only when the report is wrong: not 10 feature rows, or drift found on other
features than the two shifted ones, or the command and the in-process run disagreeing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pyflare_cli.analysis.drift.embedding import mmd_test
from pyflare_cli.analysis.drift.features import Feature
from pyflare_cli.analysis.drift.model import DriftSettings
from pyflare_cli.analysis.drift.report import compare
from pyflare_cli.config.file import load_config
from pyflare_cli.query.drift_samples import features_of, model_sample
from pyflare_cli.query.windows import Window, current_window, reference_window
from pyflare_cli.schema import COLUMNS, POLARS_SCHEMA
from pyflare_cli.store.catalog import Catalog, SourceRecord
from pyflare_cli.store.layout import StoreLayout
from pyflare_cli.store.scan import scan_spans
from pyflare_cli.store.writer import SpanWriter

PYFLARE = [sys.executable, "-m", "pyflare_cli"]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MODEL = "bench-model"
FEATURES = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "duration_ms",
    "cost_usd",
    "prompt_chars",
    "completion_chars",
    "finish_reason",
    "status",
    "provider",
)
SHIFTED = ("duration_ms", "finish_reason")
SINCE = "24h"
REFERENCE_DAYS = 7
MARKER = "bench_drift.json"
GENERATOR_VERSION = 1

FINISH_REASONS = ("stop", "length", "tool_calls")
FINISH_SHARES = {False: (0.90, 0.07, 0.03), True: (0.76, 0.17, 0.07)}
LATENCY_SHIFT = 1.2
ERROR_SHARE = 0.02
TEXT_POOL = 64
TOOLS = ("search", "calculator", "lookup_order")
INPUT_RATE, OUTPUT_RATE = 2.5e-6, 10e-6  # USD per token, as reported_cost_usd


# --- machine -------------------------------------------------------------------------------


def machine() -> str:
    cpu, mem = "unknown CPU", 0
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
        pass
    import pyarrow
    import scipy

    return (
        f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM; Python {platform.python_version()}, "
        f"Polars {pl.__version__}, NumPy {np.__version__}, SciPy {scipy.__version__}, "
        f"PyArrow {pyarrow.__version__}"
    )


class Contention:
    """CPU seconds that other processes used while this one measured (a shared machine)."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        busy = (sum(fields) - fields[3] - fields[4]) / ticks  # all but idle and iowait
        mine = sum(
            resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        return busy, mine, time.monotonic()

    def report(self) -> str:
        busy, mine, now = self._sample()
        others = max(0.0, (busy - self.start[0]) - (mine - self.start[1]))
        wall = now - self.start[2]
        share = others / (wall * (os.cpu_count() or 1))
        return (
            f"Other processes used {others:.1f} CPU s during the {wall:.0f} s of measurement "
            f"({share:.0%} of the machine)."
        )


# --- the synthetic store -------------------------------------------------------------------


def _vocabulary(rng: np.random.Generator, size: int = 600) -> np.ndarray:
    syllables = np.array(["ka", "lo", "mi", "ne", "ru", "ta", "so", "vi", "en", "ar", "is", "ol"])
    lengths = rng.integers(1, 5, size)
    return np.array(["".join(rng.choice(syllables, k)) for k in lengths])


def _texts(rng: np.random.Generator, vocab: np.ndarray, median_words: float) -> list[str]:
    """A pool of texts whose lengths spread over two orders of magnitude."""
    words = np.clip(rng.lognormal(np.log(median_words), 0.9, TEXT_POOL), 2, 800).astype(int)
    return [" ".join(rng.choice(vocab, k)) + "." for k in words]


def _hex_ids(rng: np.random.Generator, n: int, size: int) -> pl.Series:
    raw = np.frombuffer(rng.bytes(n * size), dtype=f"S{size}")
    return pl.Series(raw).bin.encode("hex")


def _pick(pool: tuple[str, ...] | list[str], index: np.ndarray) -> pl.Series:
    return pl.Series(pool, dtype=pl.String).gather(index)


def window_spans(
    rng: np.random.Generator,
    n: int,
    start: datetime,
    end: datetime,
    current: bool,
    prompts: list[str],
    completions: list[str],
) -> pl.DataFrame:
    """``n`` LLM spans of ``MODEL`` uniformly in [start, end); shifted when ``current``."""
    low, high = (int(t.timestamp() * 1e9) for t in (start, end))
    start_ns = rng.integers(low, high, n)
    input_tokens = np.maximum(1, rng.lognormal(6.0, 0.7, n)).astype(np.int64)
    output_tokens = np.maximum(1, rng.lognormal(5.0, 0.8, n)).astype(np.int64)
    latency_ms = (200.0 + 12.0 * output_tokens) * rng.lognormal(0.0, 0.3, n)
    if current:
        latency_ms *= LATENCY_SHIFT
    duration_ns = (latency_ms * 1e6).astype(np.int64)
    finish = rng.choice(len(FINISH_REASONS), n, p=FINISH_SHARES[current])
    error = rng.random(n) < ERROR_SHARE
    tool = np.where(finish == 2, rng.integers(0, len(TOOLS), n), -1)
    starts = pl.Series(start_ns).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    frame = pl.DataFrame(
        {
            "trace_id": _hex_ids(rng, n, 16),
            "span_id": _hex_ids(rng, n, 8),
            "start_time": starts,
            "duration_ns": duration_ns,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "reported_cost_usd": input_tokens * INPUT_RATE + output_tokens * OUTPUT_RATE,
            "finish_reason": _pick(FINISH_REASONS, finish),
            "_error": error,
            "_tool": tool,
            "input_text": _pick(prompts, rng.integers(0, len(prompts), n)),
            "output_text": _pick(completions, rng.integers(0, len(completions), n)),
            "user_id": pl.Series(rng.integers(0, 1000, n)).cast(pl.String),
        }
    )
    erroring = pl.col("_error")
    constants = {
        "name": f"chat {MODEL}",
        "kind": "client",
        "service_name": "bench-svc",
        "service_version": "1.0.0",
        "environment": "bench",
        "scope_name": "opentelemetry.instrumentation.openai",
        "ai_kind": "llm",
        "provider": "openai",
        "model": MODEL,
        "request_model": MODEL,
    }
    frame = frame.with_columns(
        (pl.col("start_time") + pl.duration(nanoseconds=pl.col("duration_ns"))).alias("end_time"),
        pl.when(erroring).then(pl.lit("error")).otherwise(pl.lit("unset")).alias("status_code"),
        pl.when(erroring).then(pl.lit("RateLimitError")).alias("error_type"),
        pl.when(erroring).then(pl.lit("429 rate limited")).alias("error_message"),
        pl.when(pl.col("_tool") >= 0).then(_pick(TOOLS, np.maximum(tool, 0))).alias("tool_name"),
        ("user-" + pl.col("user_id").str.zfill(4)).alias("user_id"),
        *(pl.lit(v).alias(k) for k, v in constants.items()),
    )
    missing = [pl.lit(None, dtype=POLARS_SCHEMA[c]).alias(c) for c in COLUMNS if c not in frame]
    return frame.with_columns(missing).select([pl.col(c).cast(POLARS_SCHEMA[c]) for c in COLUMNS])


def _marker(spans: int, seed: int) -> dict[str, Any]:
    return {"spans": spans, "seed": seed, "now": NOW.isoformat(), "version": GENERATOR_VERSION}


def windows() -> tuple[Window, Window]:
    """(reference, current) exactly as `pyflare drift --since 24h --reference-days 7` has them."""
    current = current_window(SINCE, None, NOW)
    return reference_window(None, REFERENCE_DAYS, current, NOW), current


def ensure_store(root: Path, spans: int, seed: int) -> float | None:
    """Generate the store at ``root`` unless it is already this one; seconds, None if reused."""
    marker = root / MARKER
    if marker.is_file():
        if json.loads(marker.read_text()) == _marker(spans, seed):
            rows = scan_spans(root).select(pl.len()).collect().item()
            if rows == spans:
                return None
        shutil.rmtree(root)  # a store this script made, for other options: remake it
    elif root.exists() and any(root.iterdir()):
        raise SystemExit(f"--store {root}: exists and was not made by this script; pick another")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    prompts, completions = _texts(rng, vocab, 60), _texts(rng, vocab, 35)
    layout = StoreLayout(root)
    catalog = Catalog(layout.catalog)
    writer = SpanWriter(layout)
    reference, current = windows()
    n_ref = spans // 2
    for window, n, shifted in ((reference, n_ref, False), (current, spans - n_ref, True)):
        frame = window_spans(rng, n, window.start, window.end, shifted, prompts, completions)
        writer.write(frame)
        del frame
    record = SourceRecord(
        sha256=f"bench-drift-{spans}-{seed}-v{GENERATOR_VERSION}",
        path="benchmarks/bench_drift.py",
        size=0,
        format="synthetic",
        rows=writer.rows,
        dead_lettered=0,
        ingested_at=NOW.isoformat(),
        state="committing",
        files=writer.final_names(),
    )
    writer.commit(catalog, record)
    catalog.close()
    marker.write_text(json.dumps(_marker(spans, seed)))
    return time.perf_counter() - started


# --- measurements --------------------------------------------------------------------------


def summary(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), max(times) - min(times)


def plan() -> tuple[list[Feature], DriftSettings]:
    """The features and settings of `pyflare drift --only --feature ...` (its own planner).

    The command adds concept-drift pairs for some of the compared features; asking its
    planner keeps the in-process figures about the same work as the subprocess.
    """
    from pyflare_cli.commands.drift import _plan

    chosen = _plan(
        config=None,
        feature=list(FEATURES),
        only=True,
        method=None,
        threshold=None,
        drift_share=None,
        min_samples=None,
        correction=None,
        outcome=None,
        seed=0,
    )
    return chosen.features, chosen.settings


def load(root: Path, features: list[Feature], settings: DriftSettings) -> list[pl.DataFrame]:
    """Both windows' feature frames, as the command builds them."""
    rules = load_config(None).price_rules
    return [
        features_of(
            model_sample(root, w, None, NOW, rules, MODEL), features, settings.concept
        ).collect()
        for w in windows()
    ]


def time_compute(root: Path, repeat: int) -> dict[str, Any]:
    features, settings = plan()
    loads, compares, totals = [], [], []
    report = None
    for run in range(repeat + 1):  # run 0 warms the page cache, the price cache and imports
        started = time.perf_counter()
        ref, cur = load(root, features, settings)
        loaded = time.perf_counter()
        report = compare(MODEL, ref, cur, features, settings)
        done = time.perf_counter()
        if run:
            loads.append(loaded - started)
            compares.append(done - loaded)
            totals.append(done - started)
    assert report is not None
    return {
        "load": summary(loads),
        "compare": summary(compares),
        "total": summary(totals),
        "report": report,
        "rows": (ref.height, cur.height),
    }


# Run in a small wrapper process: on Linux a child's ru_maxrss starts from the RSS of the
# process that spawned it, which here holds a million spans; the wrapper holds nothing.
_MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - started
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"\\nMEASURED {seconds} {peak}\\n")
sys.exit(done.returncode)
"""


def run_command(args: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """Wall seconds, exit code, peak RSS (MiB) and stdout of one run of ``args``."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, env=env
    )
    if done.returncode not in (0, 1):  # 1: the drift gate failed, still a report
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    seconds, peak_kb = done.stderr.rsplit("MEASURED ", 1)[1].split()
    return float(seconds), done.returncode, int(peak_kb) // 1024, done.stdout


def drift_command(root: Path) -> list[str]:
    only = [arg for name in FEATURES for arg in ("--feature", name)]
    return [
        *PYFLARE,
        "drift",
        "--model",
        MODEL,
        "--only",
        *only,
        "--since",
        SINCE,
        "--reference-days",
        str(REFERENCE_DAYS),
        "--store",
        str(root),
        "--format",
        "json",
    ]


def time_command(args: list[str], repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYFLARE_NOW": NOW.isoformat()}
    runs = [run_command(args, env) for _ in range(repeat + 1)][1:]
    return {
        "time": summary([r[0] for r in runs]),
        "exit": runs[-1][1],
        "rss": max(r[2] for r in runs),
        "stdout": runs[-1][3],
    }


def time_mmd(
    repeat: int, n: int, dim: int, permutations: int, shift: float, seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ref = rng.standard_normal((n, dim), dtype=np.float32)
    cur = rng.standard_normal((n, dim), dtype=np.float32) + np.float32(shift)
    times, result = [], None
    for run in range(repeat + 1):
        started = time.perf_counter()
        result = mmd_test(ref, cur, permutations, seed)
        if run:
            times.append(time.perf_counter() - started)
    return {"time": summary(times), "result": result}


def profile(root: Path, top: int) -> None:
    """cProfile of one load and one compare, then compare's time per feature."""
    features, settings = plan()
    ref, cur = load(root, features, settings)  # also warms the caches
    _cprofile("load", lambda: load(root, features, settings), top)
    _cprofile("compare", lambda: compare(MODEL, ref, cur, features, settings), top)
    alone = DriftSettings()
    print("\ncompare() per feature (no concept rows), median of 3:")
    print("| feature | seconds |\n|---|---|")
    for feature in features:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            compare(MODEL, ref, cur, [feature], alone)
            times.append(time.perf_counter() - started)
        print(f"| {feature.name} | {statistics.median(times):.3f} |")
    for pair in settings.concept:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            compare(MODEL, ref, cur, [], DriftSettings(concept=(pair,)))
            times.append(time.perf_counter() - started)
        print(f"| concept {pair.name} | {statistics.median(times):.3f} |")


def _cprofile(label: str, call: Callable[[], Any], top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    print(f"\ncProfile of one {label} (top {top} by cumulative time):")
    print(text.getvalue())


# --- report --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="Store folder (default: <tmp>/pyflare-bench-drift-<spans>; reused when it matches).",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mmd-vectors", type=int, default=5000, help="Per sample.")
    parser.add_argument("--mmd-dim", type=int, default=384)
    parser.add_argument("--permutations", type=int, default=100)
    parser.add_argument("--mmd-shift", type=float, default=0.05, help="Added to current.")
    parser.add_argument("--profile", action="store_true", help="Also show where time goes.")
    parser.add_argument("--top", type=int, default=25, help="cProfile lines with --profile.")
    opts = parser.parse_args()
    root: Path = opts.store or Path(tempfile.gettempdir()) / f"pyflare-bench-drift-{opts.spans}"

    print(f"Machine: {machine()}")
    generated = ensure_store(root, opts.spans, opts.seed)
    size = sum(p.stat().st_size for p in StoreLayout(root).span_files())
    how = "reused" if generated is None else f"generated in {generated:.1f} s"
    print(f"Store: {root} ({opts.spans:,} spans, {size / 1e6:,.0f} MB of Parquet, {how})")

    contention = Contention()
    compute = time_compute(root, opts.repeat)
    command = time_command(drift_command(root), opts.repeat)
    startup = time_command([*PYFLARE, "--version"], opts.repeat)
    mmd = time_mmd(
        opts.repeat,
        opts.mmd_vectors,
        opts.mmd_dim,
        opts.permutations,
        opts.mmd_shift,
        opts.seed,
    )

    payload = json.loads(command["stdout"])["models"][0]
    rows = [r for r in payload["features"] if r["drift_type"] != "concept"]
    concept = [r for r in payload["features"] if r["drift_type"] == "concept"]
    drifted = sorted(r["feature"] for r in rows if r["status"] == "drifted")
    concept_drifted = [r["feature"] for r in concept if r["status"] == "drifted"]
    in_process = compute["report"].features.filter(pl.col("drift_type") != "concept")
    same = sorted(in_process.filter(pl.col("status") == "drifted").get_column("feature"))
    n_ref, n_cur = compute["rows"]
    n_concept = compute["report"].features.filter(pl.col("drift_type") == "concept").height
    vectors = f"2 x {opts.mmd_vectors:,} x {opts.mmd_dim}"

    def row(stage: str, figures: tuple[float, float], target: str = "", note: str = "") -> str:
        return f"| {stage} | {figures[0]:.2f} | {figures[1]:.2f} | {target} | {note} |"

    lines = [
        "",
        f"`pyflare drift`, one model, {len(FEATURES)} features, {n_ref:,} reference + "
        f"{n_cur:,} current spans; median and spread (max - min) of {opts.repeat} runs "
        "after a warm-up:",
        "",
        "| stage | median s | spread s | target | notes |",
        "|---|---|---|---|---|",
        row("load: scan, price, feature frames of both windows", compute["load"]),
        row(
            f"compare: {len(FEATURES)} features + {n_concept} concept rows",
            compute["compare"],
            note="`analysis.drift.compare`, in process",
        ),
        row("**compute: load + compare**", compute["total"], "< 1 s"),
        row(
            "`pyflare drift ... --format json` (whole command)",
            command["time"],
            note=f"subprocess, start-up included; peak RSS {command['rss']:,} MiB",
        ),
        row("`pyflare --version` (process start-up alone)", startup["time"]),
        row(
            f"`mmd_test`, {vectors} float32, {opts.permutations} permutations",
            mmd["time"],
            "< 5 s",
            f"MMD^2 {mmd['result'].mmd2:.2e}, p = {mmd['result'].p_value:.2f}",
        ),
        "",
        f"Command verdict: {payload['verdict']} (exit {command['exit']}); "
        f"{len(rows)} feature rows + {len(concept)} concept rows; "
        f"drifted features: {', '.join(drifted) or 'none'} (shifted on purpose: "
        f"{', '.join(SHIFTED)}); drifted concept rows: {', '.join(concept_drifted) or 'none'}.",
    ]
    lines.append(contention.report())
    print("\n".join(lines))
    problems = []
    if len(rows) != len(FEATURES):
        problems.append(f"the command reported {len(rows)} feature rows, not {len(FEATURES)}")
    if drifted != sorted(SHIFTED):
        problems.append(f"drifted {drifted}, expected {sorted(SHIFTED)}")
    if n_concept != len(concept):
        problems.append(f"{n_concept} concept rows in process, {len(concept)} in the command")
    if same != drifted:
        problems.append(f"in process drifted {same}, the command {drifted}")
    if opts.profile:
        profile(root, opts.top)
    if problems:
        raise SystemExit("check failed: " + "; ".join(problems))


if __name__ == "__main__":
    main()
