"""``pyflare metrics``: the store's figures for Prometheus and Grafana, as a node-exporter
textfile, on stdout, or served on ``/metrics``.

Thin: :mod:`query.metrics` computes a snapshot, the alert states come from the store's
alert state, :mod:`render.metrics` writes the exposition with ``prometheus_client``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.clock import now
from pyflare_cli.commands.options import ConfigOption, StoreOption
from pyflare_cli.errors import UsageError
from pyflare_cli.store.layout import read_store

if TYPE_CHECKING:
    from collections.abc import Callable

    from prometheus_client.registry import CollectorRegistry

    from pyflare_cli.alerting.model import Alert
    from pyflare_cli.query.metrics import MetricsSnapshot
    from pyflare_cli.render.metrics import SnapshotCollector

    Figures = tuple[MetricsSnapshot, list[Alert]]

HELP = """Prometheus metrics of the store: LLM calls, errors, tokens, cost, latency histograms.

Counters of LLM calls, errors, tokens and exact cost by model, provider and service; traces
and failed traces by service; a latency histogram per model; cost per user bucket (the top
users by cost, the rest as `other`); budget gauges; alert states. Printed to stdout, written
atomically to a node-exporter textfile (`--out`), or served read-only on `--serve` and
refreshed every `--interval` seconds.

Example:

    pyflare metrics --out /var/lib/node_exporter/textfile/pyflare.prom
"""


def register(app: typer.Typer) -> None:
    app.command("metrics", help=HELP)(metrics)


def metrics(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write this textfile (atomically).")
    ] = None,
    serve: Annotated[
        str | None,
        typer.Option("--serve", help="Serve /metrics on HOST:PORT, e.g. 127.0.0.1:9464."),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, help="Seconds between refreshes (--serve).")
    ] = 60.0,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only spans since (default: the whole store)."),
    ] = None,
    top_users: Annotated[
        int, typer.Option("--top-users", min=0, help="Users with their own series; others: other.")
    ] = 20,
    openmetrics: Annotated[
        bool, typer.Option("--openmetrics", help="OpenMetrics text instead of Prometheus text.")
    ] = False,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    from pyflare_cli.render.metrics import SnapshotCollector, exposition, registry_of

    if out is not None and serve is not None:
        raise UsageError("give --out or --serve, not both")
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise UsageError(f"--out {out}: not a file in an existing folder")
    address = _address(serve) if serve is not None else None
    root = read_store(store)

    def refresh() -> Figures:
        return _collect(root, since, top_users, config)

    collector = SnapshotCollector(*refresh())
    registry = registry_of(collector)
    if address is not None:
        _serve(address, registry, collector, interval, refresh)
        return
    text = exposition(registry, openmetrics)
    if out is None:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
        return
    temp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(text)
        os.replace(temp, out)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise UsageError(f"--out {out}: cannot write it ({exc.strerror})") from None
    lines = text.count(b"\n")
    typer.echo(f"wrote {lines} lines to {out}", err=True)


def _collect(root: Path, since: str | None, top_users: int, config: Path | None) -> Figures:
    from pyflare_cli.alerting.state.alerts import AlertStore
    from pyflare_cli.config.file import load_config
    from pyflare_cli.query.metrics import snapshot
    from pyflare_cli.query.prices import price_rules
    from pyflare_cli.query.spans import SpanQuery

    cfg = load_config(config)
    rules, _ = price_rules(cfg)
    at = now()
    found = snapshot(root, SpanQuery(since=since), at, rules, cfg.budgets, top_users)
    return found, list(AlertStore(root).load().values())


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--serve {text!r}: use HOST:PORT, e.g. 127.0.0.1:9464")
    return host.strip("[]") or "127.0.0.1", int(port)


def _serve(
    address: tuple[str, int],
    registry: CollectorRegistry,
    collector: SnapshotCollector,
    interval: float,
    refresh: Callable[[], Figures],
) -> None:
    import signal
    import threading

    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(address[1], address[0], registry)
    except OSError as exc:
        raise UsageError(f"--serve {address[0]}:{address[1]}: {exc.strerror}") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo(f"serving http://{address[0]}:{server.server_port}/metrics", err=True)
    try:
        while not stop.wait(interval):
            try:
                collector.update(*refresh())
            except Exception as exc:  # keep serving the last good figures
                typer.echo(f"refresh failed, serving the previous figures: {exc}", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
