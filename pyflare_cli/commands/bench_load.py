"""``pyflare bench load``: drive an OTLP receiver you run with generated spans, k6-style.

The command is registered by ``pyflare bench`` (``commands/bench.py``) through
:func:`add_load_command`; everything it measures comes from ``pyflare_cli.bench.load``, whose
validation decides what is refused (exit 2): an unbounded run, out-of-range options, a
non-loopback target without ``--allow-remote``. A breached ``--threshold`` exits 1
(:class:`GateFailed`) after the report is printed.
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pyflare_cli.bench.load import (
    MAX_DURATION_S,
    PROTOCOLS,
    LoadConfig,
    LoadResult,
    ThresholdError,
    parse_duration,
    parse_rate,
    parse_stage,
    parse_threshold,
    protocol_for,
)
from pyflare_cli.bench.load.config import DEFAULT_HTTP_TARGET, validate
from pyflare_cli.bench.load.report import Format, report, to_json
from pyflare_cli.errors import GateFailed, UsageError

DEFAULT_DURATION_S = 10.0


class LoadFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class LoadProtocol(StrEnum):
    http_protobuf = "http-protobuf"
    http_json = "http-json"
    grpc = "grpc"


REPORT_FORMATS: dict[LoadFormat, Format] = {
    LoadFormat.table: "plain",
    LoadFormat.json: "json",
    LoadFormat.markdown: "markdown",
}
PROTOCOL_OF = {protocol: protocol for protocol in PROTOCOLS}


def add_load_command(app: typer.Typer) -> None:
    """Register ``load`` on ``app`` (the ``pyflare bench`` group)."""
    app.command("load")(load)


def load(
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help=f"Receiver: http://HOST:PORT/v1/traces or grpc://HOST:PORT. "
            f"Default: {DEFAULT_HTTP_TARGET} (gRPC: 127.0.0.1:4317).",
            show_default=False,
        ),
    ] = None,
    protocol: Annotated[
        LoadProtocol | None,
        typer.Option(
            "--protocol",
            help="Default: grpc for a grpc:// target, else http-protobuf.",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate", help="Open model: a constant rate in spans/s, e.g. 20k.", show_default=False
        ),
    ] = None,
    max_mode: Annotated[
        bool,
        typer.Option("--max", help="Closed model: send as fast as acknowledgements allow."),
    ] = False,
    stages: Annotated[
        list[str] | None,
        typer.Option(
            "--stage",
            metavar="DURATION:RATE",
            help="Ramp linearly to RATE spans/s over DURATION, like k6 (repeatable: "
            "10s:1k, 30s:5k, 5s:20k, 10s:0). The stages set the duration.",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            help=f"How long to send: 30s, 500ms, 2m (default 10s, at most {MAX_DURATION_S:g}s; "
            "with only --requests, the run ends at the cap).",
            show_default=False,
        ),
    ] = None,
    requests: Annotated[
        int | None,
        typer.Option("--requests", help="Stop after this many requests.", show_default=False),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Async clients.")] = 4,
    batch: Annotated[int, typer.Option("--batch", help="Spans per request.")] = 512,
    gzip: Annotated[bool, typer.Option("--gzip", help="Gzip request bodies.")] = False,
    unique_ids: Annotated[
        bool,
        typer.Option(
            "--unique-ids/--no-unique-ids",
            help="Rewrite trace ids on each pass over the pool (off: re-send it unchanged).",
        ),
    ] = True,
    pool_spans: Annotated[
        int | None,
        typer.Option(
            "--pool-spans", help="Spans generated for the pool (default 16k).", show_default=False
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Demo generator seed.")] = 7,
    timeout: Annotated[str, typer.Option("--timeout", help="Per request.")] = "10s",
    thresholds: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            metavar="EXPR",
            help="Gate such as p99<500ms, errors<1%, spans_per_s>=20k (repeatable); "
            "exit 1 when one is breached.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        LoadFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = LoadFormat.table,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Also write the result as JSON to this file.", show_default=False
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote", help="Allow a non-loopback --target (only a receiver you run)."
        ),
    ] = False,
) -> None:
    """Load-test an OTLP receiver you run: spans/s acknowledged, rejections, ack latency.

    Sends the demo generator's spans, encoded before the clock starts, to any OTLP
    receiver (pyflare's, an OpenTelemetry Collector, ...). `--max` (default) is a closed
    model; `--rate` and `--stage` are open models: latency counts from the scheduled send.
    Every run is bounded (10 s by default, at most 600 s; `--requests` caps it too) and
    only a loopback target is accepted unless `--allow-remote`.

    Example:

        pyflare bench load --rate 20k --duration 30s --threshold 'p99<500ms'

        pyflare bench load --stage 10s:1k --stage 30s:5k --stage 5s:20k --stage 10s:0
    """
    config = _config(
        target=target,
        protocol=protocol,
        rate=rate,
        max_mode=max_mode,
        stages=stages or [],
        duration=duration,
        requests=requests,
        concurrency=concurrency,
        batch=batch,
        gzip=gzip,
        unique_ids=unique_ids,
        pool_spans=pool_spans,
        seed=seed,
        timeout=timeout,
        thresholds=thresholds or [],
        allow_remote=allow_remote,
    )
    validate(config)
    from pyflare_cli.bench.load.engine import pool_for, run_load  # NumPy, protobuf, gRPC

    if out is not None and not out.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
    status = sys.stderr.isatty()
    if status:
        typer.echo("building the request pool...", err=True)
    started = time.perf_counter()
    pool = pool_for(config)
    pool_seconds = time.perf_counter() - started
    if status:
        typer.echo(f"sending for up to {config.limit_s:g} s...", err=True)
    result = run_load(config, pool)
    if out is not None:
        try:
            out.write_text(to_json(result) + "\n")
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
    typer.echo(report(result, REPORT_FORMATS[fmt], pool_seconds))
    if result.acked_requests == 0:
        typer.echo("warning: no request was acknowledged", err=True)
    _gate(result)


def _config(
    *,
    target: str | None,
    protocol: LoadProtocol | None,
    rate: str | None,
    max_mode: bool,
    stages: list[str],
    duration: str | None,
    requests: int | None,
    concurrency: int,
    batch: int,
    gzip: bool,
    unique_ids: bool,
    pool_spans: int | None,
    seed: int,
    timeout: str,
    thresholds: list[str],
    allow_remote: bool,
) -> LoadConfig:
    """The engine's configuration of the options (parsed, not yet validated)."""
    modes = [
        name
        for name, given in (("--max", max_mode), ("--rate", rate), ("--stage", stages))
        if given
    ]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} are exclusive: pick one way of pacing the run")
    parsed_stages = tuple(parse_stage(text) for text in stages)
    duration_s = parse_duration(duration) if duration is not None else None
    if duration_s is None and requests is None and not parsed_stages:
        duration_s = DEFAULT_DURATION_S
    try:
        gates = tuple(parse_threshold(text) for text in thresholds)
    except ThresholdError as exc:
        raise UsageError(f"--threshold: {exc}") from None
    return LoadConfig(
        target=target,
        protocol=protocol_for(target, PROTOCOL_OF[protocol.value] if protocol else None),
        concurrency=concurrency,
        rate=parse_rate(rate) if rate is not None else None,
        duration_s=duration_s,
        requests=requests,
        batch=batch,
        gzip=gzip,
        unique_ids=unique_ids,
        pool_spans=pool_spans,
        seed=seed,
        timeout_s=parse_duration(timeout, "--timeout"),
        allow_remote=allow_remote,
        thresholds=gates,
        stages=parsed_stages,
    )


def _gate(result: LoadResult) -> None:
    """Exit 1 (after the report) when a threshold was breached, naming each."""
    failed = [verdict for verdict in result.verdicts if not verdict.passed]
    if not failed:
        return
    shown = []
    for verdict in failed:
        actual = "unmeasured" if verdict.actual is None else f"{verdict.actual:,.2f} {verdict.unit}"
        shown.append(f"{verdict.expression} ({actual})")
    raise GateFailed(f"threshold breached: {'; '.join(shown)}")
