"""``pyflare receive``: an OTLP/HTTP and OTLP/gRPC receiver that writes into the store."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyflare_cli.commands.options import ConfigOption, StoreOption
from pyflare_cli.errors import UsageError
from pyflare_cli.render.units import count, size
from pyflare_cli.store.layout import resolve_store

if TYPE_CHECKING:
    from pyflare_cli.receiver.flusher import FlushResult
    from pyflare_cli.receiver.server import Receiver

HELP = """Receive spans over OTLP/HTTP and OTLP/gRPC into the store, until Ctrl-C or SIGTERM.

An acknowledged request is on disk (a write-ahead spool, fsynced) before the answer;
spans reach the store's Parquet files within `--flush-interval`, where `traces` and
the other commands see them. Binds to loopback unless told otherwise; `off` disables
a protocol.

`--metrics http` (or `--metrics 127.0.0.1:9465`) serves the receiver's own counters on
/metrics for Prometheus: requests by transport and outcome, spans accepted, refused and
stored, spool bytes, flush queue and flush latency.

Example:

    pyflare receive --http 127.0.0.1:4318 --grpc 127.0.0.1:4317 --store ./.pyflare
    pyflare receive --metrics 127.0.0.1:9465
"""

UNITS = {
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
}


def parse_size(text: str, option: str) -> int:
    """``16MiB``, ``512k``, ``1g`` or a number of bytes."""
    value = text.strip().lower().replace(" ", "")
    digits = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = value[len(digits) :] or "b"
    if not digits or unit not in UNITS:
        raise UsageError(f"{option} {text!r} is not a size: use e.g. 16MiB, 512k or 1g")
    try:
        return int(float(digits) * UNITS[unit])
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a size: use e.g. 16MiB, 512k or 1g") from None


def register(app: typer.Typer) -> None:
    app.command("receive", help=HELP)(receive)


def receive(
    http: Annotated[
        str, typer.Option("--http", help="OTLP/HTTP address, or 'off'.")
    ] = "127.0.0.1:4318",
    grpc: Annotated[
        str, typer.Option("--grpc", help="OTLP/gRPC address, or 'off'.")
    ] = "127.0.0.1:4317",
    store: StoreOption = None,
    config: ConfigOption = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", envvar="PYFLARE_API_KEY", help="Require this key.", show_default=False
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="TLS private key (PEM).")
    ] = None,
    max_body: Annotated[
        str, typer.Option("--max-body", help="Largest request, also after decompression.")
    ] = "16MiB",
    max_spool: Annotated[
        str, typer.Option("--max-spool", help="Unflushed data before answering 429.")
    ] = "1GiB",
    flush_interval: Annotated[
        float,
        typer.Option("--flush-interval", min=0.05, help="Seconds until spans are in the store."),
    ] = 2.0,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="Decoding processes (0: one per core).")
    ] = 0,
    metrics: Annotated[
        str | None,
        typer.Option(
            "--metrics",
            help="The receiver's own counters on /metrics for Prometheus: 'http' (on the "
            "OTLP/HTTP port) or HOST:PORT, e.g. 127.0.0.1:9465.",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")] = False,
) -> None:
    from pyflare_cli.config.file import load_config
    from pyflare_cli.receiver.server import Receiver, ReceiverConfig, split_address

    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise UsageError(f"{path} does not exist")
    addresses: dict[str, str | None] = {}
    for option, value, port in (("--http", http, 4318), ("--grpc", grpc, 4317)):
        if value.lower() in ("off", "none", ""):
            addresses[option] = None
            continue
        try:
            split_address(value, port)
        except ValueError as exc:
            raise UsageError(f"{option}: {exc}") from None
        addresses[option] = value
    if addresses["--http"] is None and addresses["--grpc"] is None:
        raise UsageError("--http and --grpc are both off: nothing to receive on")
    if metrics is not None:
        metrics = _metrics_address(metrics, addresses["--http"])
    if os.environ.get("PYFLARE_API_KEY") == "" and api_key is None:
        api_key = ""  # Click reads an empty variable as unset: that is not "no key wanted"
    if api_key is not None and not api_key.strip():
        # An empty PYFLARE_API_KEY (a typo in a deployment, say) silently meant "no key".
        raise UsageError("--api-key (or $PYFLARE_API_KEY) is empty: give a key, or unset it")
    exposed = [
        value
        for option, value in addresses.items()
        if value is not None and not _loopback(value, 4318 if option == "--http" else 4317)
    ]
    cfg = load_config(config)
    receiver_config = ReceiverConfig(
        root=resolve_store(store),
        http=addresses["--http"],
        grpc=addresses["--grpc"],
        api_key=api_key,
        tls_cert=tls_cert,
        tls_key=tls_key,
        max_body=parse_size(max_body, "--max-body"),
        max_spool_bytes=parse_size(max_spool, "--max-spool"),
        flush_interval=flush_interval,
        redaction=cfg.redaction,
        sampling=cfg.sampling,
        workers=workers or None,
        metrics=metrics,
    )
    view = _OperatorView(quiet)
    if exposed and api_key is None:
        tls = "" if tls_cert else " and TLS (--tls-cert/--tls-key)"
        view.err.print(
            f"warning: {', '.join(exposed)} is reachable beyond this machine without an API"
            f" key: anyone who can connect can write spans; set --api-key{tls}",
            markup=False,
            soft_wrap=True,
        )
    if metrics not in (None, "http") and api_key is None and not _loopback(str(metrics), 9465):
        view.err.print(
            f"warning: /metrics on {metrics} is reachable beyond this machine without an API"
            " key: anyone who can connect can read the receiver's counters",
            markup=False,
            soft_wrap=True,
        )
    receiver = Receiver(receiver_config, on_flush=view.flushed)
    view.receiver = receiver
    try:
        asyncio.run(_serve(receiver, view))
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc.strerror or exc}") from None


def _metrics_address(value: str, http: str | None) -> str:
    """``http`` (the OTLP/HTTP port, which must be on) or a HOST:PORT of its own."""
    from pyflare_cli.receiver.server import split_address

    if value.strip().lower() == "http":
        if http is None:
            raise UsageError("--metrics http serves /metrics on the OTLP/HTTP port: --http is off")
        return "http"
    try:
        split_address(value, 9465)
    except ValueError:
        raise UsageError(
            f"--metrics {value!r}: use 'http' or HOST:PORT, e.g. 127.0.0.1:9465"
        ) from None
    return value


def _loopback(address: str, default_port: int) -> bool:
    """Whether ``address`` binds to this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    from pyflare_cli.receiver.server import split_address

    host, _ = split_address(address, default_port)
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


async def _serve(receiver: Receiver, view: _OperatorView) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ticker = asyncio.create_task(view.tick(stop))
    try:
        await receiver.run(stop, ready=view.ready)
    finally:
        stop.set()
        await ticker
        view.stopped()


class _OperatorView:
    """A live status line on a terminal; a JSON line per flush otherwise; quiet: errors only."""

    def __init__(self, quiet: bool) -> None:
        from rich.console import Console

        self.quiet = quiet
        self.err = Console(stderr=True, highlight=False, markup=False)
        self.live = self.err.is_terminal and not quiet
        self.receiver: Receiver | None = None

    def ready(self) -> None:
        receiver = self.receiver
        assert receiver is not None
        where = []
        if receiver.http_port is not None:
            where.append(f"OTLP/HTTP on port {receiver.http_port}")
        if receiver.grpc_port is not None:
            where.append(f"OTLP/gRPC on port {receiver.grpc_port}")
        if receiver.metrics_port is not None:
            where.append(f"/metrics on port {receiver.metrics_port}")
        message = f"pyflare receive: {' and '.join(where)}, store {receiver.config.root}"
        if not self.quiet:
            if self.live:
                self.err.print(message, soft_wrap=True)
            else:
                self._log(
                    "ready",
                    http_port=receiver.http_port,
                    grpc_port=receiver.grpc_port,
                    metrics_port=receiver.metrics_port,
                )

    def flushed(self, result: FlushResult) -> None:
        if result.error is not None:
            self.err.print(f"error: flushing {result.segment}: {result.error}", soft_wrap=True)
        if self.quiet or self.live:
            return
        self._log(
            "flush",
            segment=result.segment,
            bytes=result.size,
            spans=result.spans,
            dead_lettered=result.dead_lettered,
            seconds=round(result.seconds, 3),
            error=result.error,
        )

    async def tick(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.live and self.receiver is not None:
                self.err.print(self._line(), end="\r", soft_wrap=True)
            await asyncio.sleep(1)

    def stopped(self) -> None:
        if self.live:
            self.err.print(self._line())
            self.err.print("stopped: everything received is in the store")
        elif not self.quiet:
            self._log("stopped")

    def _line(self) -> str:
        assert self.receiver is not None
        s = self.receiver.health()
        refused = sum(dict(s["requests_refused"]).values()) if s["requests_refused"] else 0  # type: ignore[call-overload]
        ago = s["last_flush_s_ago"]
        flushed = "never" if ago is None else f"{ago}s ago"
        return (
            f"{count(float(str(s['spans_per_s'])))} spans/s · {count(int(str(s['requests'])))} "
            f"requests · {refused} refused · {count(int(str(s['spans_flushed'])))} spans stored · "
            f"spool {size(int(str(s['spool_bytes'])))} · last flush {flushed}   "
        )

    def _log(self, event: str, **fields: object) -> None:
        record: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "event": event,
        }
        record.update({k: v for k, v in fields.items() if v is not None})
        if self.receiver is not None:
            record["stats"] = self.receiver.health()
        sys.stderr.write(json.dumps(record) + "\n")
        sys.stderr.flush()
