"""Load-test an OTLP receiver you run: spans/s acknowledged, rejections, ack latency.

    python scripts/loadgen.py --duration 10s --concurrency 4               # as fast as acked
    python scripts/loadgen.py --rate 20k --threshold 'p99<50ms' --threshold 'errors<1%'
    python scripts/loadgen.py --protocol grpc --target 127.0.0.1:4317 --requests 200

The command line of ``pyflare_cli.loadgen`` until it becomes ``pyflare bench load``: parse
options, run the engine, print a plain or Markdown report (``--json`` adds the stable JSON
form), exit 0 when every threshold held, 1 when one was breached, 2 on bad usage (including
an unbounded run or a non-loopback target without ``--allow-remote``), 3 on an internal error.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from pyflare_cli.errors import UsageError
from pyflare_cli.loadgen import (
    MAX_DURATION_S,
    PROTOCOLS,
    LoadConfig,
    LoadResult,
    ThresholdError,
    parse_threshold,
    pool_for,
    run_load,
)
from pyflare_cli.loadgen.config import validate
from pyflare_cli.loadgen.result import LatencySummary

_SPARKS = "▁▂▃▄▅▆▇█"
_SPARK_WIDTH = 60
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|min)?\s*$")
_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([km]?)\s*$", re.IGNORECASE)


def seconds(text: str) -> float:
    """``500ms``, ``10s``, ``2m`` or a bare number of seconds."""
    match = _DURATION.match(text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a duration such as 10s, 500ms, 2m")
    scale = {"ms": 1e-3, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0}[match[2]]
    return float(match[1]) * scale


def spans_per_s(text: str) -> float:
    match = _RATE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: expected spans/s such as 5000 or 20k")
    return float(match[1]) * {"": 1.0, "k": 1e3, "m": 1e6}[match[2].lower()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="loadgen.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument(
        "--target",
        help="receiver URL (default http://127.0.0.1:4318/v1/traces; gRPC 127.0.0.1:4317)",
    )
    p.add_argument("--protocol", choices=PROTOCOLS, default="http-protobuf")
    p.add_argument("--concurrency", type=int, default=4, help="async clients (default 4)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--max", action="store_true", help="send as fast as acks allow (default)")
    mode.add_argument("--rate", type=spans_per_s, help="open-model pacing in spans/s (20k)")
    p.add_argument(
        "--duration",
        type=seconds,
        help=f"how long to send (default 10s; at most {MAX_DURATION_S:g}s; "
        "with only --requests, the run ends at the cap)",
    )
    p.add_argument("--requests", type=int, help="stop after this many requests")
    p.add_argument("--batch", type=int, default=512, help="spans per request (default 512)")
    p.add_argument("--gzip", action="store_true", help="gzip request bodies")
    p.add_argument(
        "--no-unique-ids",
        dest="unique_ids",
        action="store_false",
        help="re-send the pool unchanged (no per-pass trace id rewrite)",
    )
    p.add_argument("--pool-spans", type=int, help="spans generated for the pool (default 16k)")
    p.add_argument("--seed", type=int, default=7, help="demo generator seed (default 7)")
    p.add_argument("--timeout", type=seconds, default=10.0, help="per request (default 10s)")
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="EXPR",
        help="gate such as p99<50ms, errors<1%%, spans_per_s>=20k (repeatable)",
    )
    p.add_argument("--format", choices=("plain", "markdown"), default="plain")
    p.add_argument("--json", metavar="PATH", help="also write the result as JSON ('-': stdout)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --target (only a receiver you run)",
    )
    p.add_argument("--debug", action="store_true", help="tracebacks on internal errors")
    return p


def config_of(args: argparse.Namespace) -> LoadConfig:
    duration = args.duration
    if duration is None and args.requests is None:
        duration = 10.0
    return LoadConfig(
        target=args.target,
        protocol=args.protocol,
        concurrency=args.concurrency,
        rate=args.rate,
        duration_s=duration,
        requests=args.requests,
        batch=args.batch,
        gzip=args.gzip,
        unique_ids=args.unique_ids,
        pool_spans=args.pool_spans,
        seed=args.seed,
        timeout_s=args.timeout,
        allow_remote=args.allow_remote,
        thresholds=tuple(parse_threshold(text) for text in args.threshold),
    )


def sparkline(values: Sequence[int], width: int = _SPARK_WIDTH) -> str:
    """Accepted spans per second as block characters (averaged down to ``width``)."""
    series = [float(v) for v in values]
    if len(series) > width:
        edges = [round(i * len(series) / width) for i in range(width + 1)]
        series = [sum(series[a:b]) / (b - a) for a, b in itertools.pairwise(edges)]
    top = max(series, default=0.0)
    if top <= 0:
        return _SPARKS[0] * len(series)
    return "".join(_SPARKS[round(v / top * (len(_SPARKS) - 1))] for v in series)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _latency(summary: LatencySummary | None) -> str:
    if summary is None:
        return "-"
    return (
        f"p50 {summary.p50_ms:.1f} ms, p90 {summary.p90_ms:.1f}, p99 {summary.p99_ms:.1f}, "
        f"max {summary.max_ms:.1f} (n={summary.count:,})"
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key}: {value:,}" for key, value in counts.items()) or "0"


def rows(result: LoadResult, pool_seconds: float) -> list[tuple[str, str]]:
    mode = "max (closed model)"
    if result.rate_spans_per_s is not None:
        mode = f"rate {_n(result.rate_spans_per_s)} spans/s (open model)"
    out = [
        ("target", f"{result.protocol} -> {result.target}"),
        (
            "mode",
            f"{mode}, {result.concurrency} clients, {result.batch} spans/request"
            f"{', gzip' if result.gzip else ''}",
        ),
        (
            "pool",
            f"{result.pool_requests:,} requests, {result.pool_spans:,} spans, "
            f"{result.pool_bytes / 1e6:.1f} MB, built in {pool_seconds:.1f} s before the clock",
        ),
        ("repeats", result.uniqueness),
        ("duration", f"{result.duration_s:.2f} s"),
        (
            "sent",
            f"{result.sent_requests:,} requests, {result.sent_spans:,} spans, "
            f"{result.sent_bytes / 1e6:,.1f} MB",
        ),
        (
            "acknowledged",
            f"{result.acked_requests:,} requests, {result.accepted_spans:,} spans "
            f"accepted, {result.partial_rejected_spans:,} refused in partial success",
        ),
        ("rejected", _counts(result.rejected)),
        ("transport errors", _counts(result.transport_errors)),
    ]
    if result.error_rate_pct is not None:
        out.append(("errors", f"{result.error_rate_pct:.2f} % of requests"))
    if result.due_requests is not None:
        out.append(
            (
                "behind schedule",
                f"{result.behind_schedule:,} of {result.due_requests:,} sends due never started",
            )
        )
    out.append(("throughput", f"{_n(result.spans_per_s)} spans/s accepted"))
    latency_from = "scheduled send" if result.rate_spans_per_s is not None else "send"
    out.append((f"ack latency (from {latency_from})", _latency(result.latency)))
    if result.rate_spans_per_s is not None:
        out.append(("service latency (from send)", _latency(result.service_latency)))
        out.append(("schedule lag (send - scheduled)", _latency(result.schedule_lag)))
    out.append(
        (
            "client CPU",
            f"{result.cpu.percent:.0f} % of one core (user "
            f"{result.cpu.user_s:.2f} s, system {result.cpu.system_s:.2f} s)",
        )
    )
    full_seconds = result.per_second_spans[: max(1, int(result.duration_s))]
    out.append(("spans/s per second", sparkline(full_seconds)))
    if result.bad_ack_bodies:
        out.append(("unparseable acks", f"{result.bad_ack_bodies:,}"))
    for verdict in result.verdicts:
        actual = "unmeasured" if verdict.actual is None else f"{verdict.actual:,.2f} {verdict.unit}"
        out.append(
            (
                f"threshold {verdict.expression}",
                f"{'pass' if verdict.passed else 'FAIL'} ({actual})",
            )
        )
    return out


def report(result: LoadResult, fmt: str, pool_seconds: float) -> str:
    table = rows(result, pool_seconds)
    if fmt == "markdown":
        lines = ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in table]
        return "\n".join(lines)
    width = max(len(key) for key, _ in table)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in table)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else 2
    status = sys.stderr.isatty()
    try:
        config = config_of(args)
        validate(config)
        if status:
            print("building the request pool...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        pool = pool_for(config)
        pool_seconds = time.perf_counter() - started
        if status:
            print("sending...", file=sys.stderr, flush=True)
        result = run_load(config, pool)
    except (UsageError, ThresholdError) as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("loadgen: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        print(f"loadgen: internal error: {exc!r}", file=sys.stderr)
        return 3
    if args.json == "-":
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(report(result, args.format, pool_seconds))
        if args.json:
            Path(args.json).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    if result.acked_requests == 0:
        print("loadgen: no request was acknowledged", file=sys.stderr)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
