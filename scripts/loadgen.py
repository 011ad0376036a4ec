"""Load-test an OTLP receiver you run: spans/s acknowledged, rejections, ack latency.

    python scripts/loadgen.py --duration 10s --concurrency 4               # as fast as acked
    python scripts/loadgen.py --rate 20k --threshold 'p99<50ms' --threshold 'errors<1%'
    python scripts/loadgen.py --protocol grpc --target 127.0.0.1:4317 --requests 200
    python scripts/loadgen.py --stage 10s:1k --stage 30s:5k --stage 5s:20k --stage 10s:0

A standalone command line of ``pyflare_cli.loadgen`` (``pyflare bench load`` is the CLI
command): parse options, run the engine, print a plain or Markdown report
(``pyflare_cli.loadgen.report``; ``--json`` adds the stable JSON form), exit 0 when every
threshold held, 1 when one was breached, 2 on bad usage (including an unbounded run or a
non-loopback target without ``--allow-remote``), 3 on an internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pyflare_cli.errors import UsageError
from pyflare_cli.loadgen import (
    MAX_DURATION_S,
    PROTOCOLS,
    LoadConfig,
    LoadConfigError,
    ThresholdError,
    parse_duration,
    parse_rate,
    parse_stage,
    parse_threshold,
    pool_for,
    protocol_for,
    run_load,
)
from pyflare_cli.loadgen.config import validate
from pyflare_cli.loadgen.report import report, rows, sparkline

__all__ = ["main", "parser", "report", "rows", "sparkline"]
T = TypeVar("T")


def _argument(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser of ``pyflare_cli.loadgen.config``."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except LoadConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


seconds = _argument(parse_duration)
spans_per_s = _argument(parse_rate)
stage = _argument(parse_stage)


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
    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        help="default: grpc for a grpc:// --target, else http-protobuf",
    )
    p.add_argument("--concurrency", type=int, default=4, help="async clients (default 4)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--max", action="store_true", help="send as fast as acks allow (default)")
    mode.add_argument("--rate", type=spans_per_s, help="open-model pacing in spans/s (20k)")
    mode.add_argument(
        "--stage",
        type=stage,
        action="append",
        metavar="DURATION:RATE",
        help="ramp linearly to RATE spans/s over DURATION, k6-like (repeatable; sets the duration)",
    )
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
    if duration is None and args.requests is None and not args.stage:
        duration = 10.0
    return LoadConfig(
        target=args.target,
        protocol=protocol_for(args.target, args.protocol),
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
        stages=tuple(args.stage or ()),
    )


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
