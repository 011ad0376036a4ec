"""What a load run may do: its options, their limits, and the one target it may hit.

A load generator is a tool for measuring *your own* receiver, so the defaults point at
loopback, a non-loopback target must be named explicitly *and* confirmed with
``allow_remote``, exactly one URL is accepted (no lists, no discovery), redirects are not
followed and proxy settings from the environment are ignored. Every run is bounded: by
``duration_s`` (at most :data:`MAX_DURATION_S`) and/or a ``requests`` cap; a run with
neither is refused, and a capped run without a duration still stops at the maximum. A run
with ``stages`` lasts the sum of their durations (at most the same maximum).

The text forms the command line takes (``10s``, ``20k``, ``10s:1k``, ``grpc://host:port``)
are parsed here too, next to the limits they are checked against.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pyflare_cli.bench.load.schedule import Schedule, Stage
from pyflare_cli.bench.load.thresholds import Threshold
from pyflare_cli.errors import UsageError

Protocol = Literal["http-protobuf", "http-json", "grpc"]
PROTOCOLS: tuple[Protocol, ...] = ("http-protobuf", "http-json", "grpc")
DEFAULT_HTTP_TARGET = "http://127.0.0.1:4318/v1/traces"
DEFAULT_GRPC_TARGET = "http://127.0.0.1:4317"
TRACES_PATH = "/v1/traces"
MAX_DURATION_S = 600.0
MAX_CONCURRENCY = 1024
MAX_BATCH = 100_000
MAX_TIMEOUT_S = 300.0
MAX_STAGES = 100
GRPC_SCHEMES = ("grpc", "grpcs")


class LoadConfigError(UsageError):
    """An option the run refuses (exit code 2): unbounded, out of range, or a foreign target."""


@dataclass(frozen=True)
class LoadConfig:
    """One load run. ``rate`` is in spans/s (None: as fast as acknowledgements allow);
    ``stages`` replace ``rate`` with a ramping rate and ``duration_s`` with their sum (give
    ``duration_s=None`` or that sum)."""

    target: str | None = None
    """OTLP/HTTP URL (a bare ``http://host:port`` gets ``/v1/traces``) or gRPC
    ``[http://|grpc://]host:port``; None: the local default of ``protocol``."""
    protocol: Protocol = "http-protobuf"
    concurrency: int = 4
    rate: float | None = None
    duration_s: float | None = 10.0
    requests: int | None = None
    batch: int = 512
    gzip: bool = False
    unique_ids: bool = True
    pool_spans: int | None = None
    seed: int = 7
    timeout_s: float = 10.0
    allow_remote: bool = False
    thresholds: tuple[Threshold, ...] = ()
    stages: tuple[Stage, ...] = ()

    @property
    def mode(self) -> str:
        """``rate`` (open model: a constant rate or stages) or ``max`` (closed model)."""
        return "max" if self.rate is None and not self.stages else "rate"

    @property
    def limit_s(self) -> float:
        """Wall-clock limit of the sending phase (the stages' total, the duration, else the
        maximum)."""
        if self.stages:
            return sum(stage.duration_s for stage in self.stages)
        return MAX_DURATION_S if self.duration_s is None else self.duration_s

    def schedule(self) -> Schedule | None:
        """When sends are due (None in max mode); see ``schedule``."""
        if self.stages:
            return Schedule.of_stages(self.stages)
        if self.rate is not None:
            return Schedule.constant(self.rate, self.limit_s)
        return None


@dataclass(frozen=True)
class Target:
    """A checked target: the URL (HTTP) or ``host:port`` (gRPC) to use, and TLS or not."""

    address: str
    secure: bool
    loopback: bool


def validate(config: LoadConfig) -> Target:
    """Check every limit of ``config``; return its resolved target or raise LoadConfigError."""
    if config.protocol not in PROTOCOLS:
        raise LoadConfigError(f"--protocol {config.protocol!r}: use one of {', '.join(PROTOCOLS)}")
    if config.stages:
        _check_stages(config)
    elif config.duration_s is None and config.requests is None:
        raise LoadConfigError(
            "refusing an unbounded run: give a --duration (at most "
            f"{MAX_DURATION_S:g} s) and/or a --requests cap"
        )
    if config.duration_s is not None and not 0 < config.duration_s <= MAX_DURATION_S:
        raise LoadConfigError(
            f"--duration {config.duration_s:g} s: must be above 0 and at most {MAX_DURATION_S:g} s"
        )
    if config.requests is not None and config.requests < 1:
        raise LoadConfigError(f"--requests {config.requests}: must be at least 1")
    if config.rate is not None and not (math.isfinite(config.rate) and config.rate > 0):
        raise LoadConfigError(f"--rate {config.rate}: must be a positive number of spans/s")
    _in_range("--concurrency", config.concurrency, 1, MAX_CONCURRENCY)
    _in_range("--batch", config.batch, 1, MAX_BATCH)
    if config.pool_spans is not None and config.pool_spans < 1:
        raise LoadConfigError(f"--pool-spans {config.pool_spans}: must be at least 1")
    if not 0 < config.timeout_s <= MAX_TIMEOUT_S:
        raise LoadConfigError(
            f"--timeout {config.timeout_s:g} s: must be in (0, {MAX_TIMEOUT_S:g}]"
        )
    target = resolve_target(config.target, config.protocol)
    if not target.loopback and not config.allow_remote:
        raise LoadConfigError(
            f"--target {config.target}: not a loopback address; point the load generator only "
            "at a receiver you run, and confirm it with --allow-remote"
        )
    return target


def _check_stages(config: LoadConfig) -> None:
    """Stages replace --rate and --duration; each is finite, and the whole run is bounded."""
    stages = config.stages
    if config.rate is not None:
        raise LoadConfigError("--stage and --rate are exclusive: the stages set the rate")
    if len(stages) > MAX_STAGES:
        raise LoadConfigError(f"{len(stages)} stages: at most {MAX_STAGES}")
    for stage in stages:
        if not (math.isfinite(stage.duration_s) and stage.duration_s > 0):
            raise LoadConfigError(f"--stage {stage.describe()}: the duration must be above 0 s")
        if not (math.isfinite(stage.target_rate) and stage.target_rate >= 0):
            raise LoadConfigError(
                f"--stage {stage.describe()}: the rate must be 0 or a positive number of spans/s"
            )
    total = config.limit_s
    if total > MAX_DURATION_S:
        raise LoadConfigError(
            f"--stage: the stages last {total:g} s in all; at most {MAX_DURATION_S:g} s"
        )
    if config.duration_s is not None and abs(config.duration_s - total) > 1e-9:
        raise LoadConfigError(
            f"--duration {config.duration_s:g} s and --stage are exclusive: the stages set "
            f"the duration ({total:g} s)"
        )
    if all(stage.target_rate == 0 for stage in stages):
        raise LoadConfigError("--stage: every stage has rate 0, so nothing would be sent")


def _in_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise LoadConfigError(f"{name} {value}: must be between {low} and {high}")


def resolve_target(target: str | None, protocol: Protocol) -> Target:
    """The URL (HTTP) or host:port (gRPC) of ``target``, and whether it is loopback."""
    grpc = protocol == "grpc"
    text = target or (DEFAULT_GRPC_TARGET if grpc else DEFAULT_HTTP_TARGET)
    if grpc and "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    if parts.scheme in GRPC_SCHEMES:
        if not grpc:
            raise LoadConfigError(
                f"--target {text}: a {parts.scheme}:// target needs --protocol grpc, not {protocol}"
            )
        parts = parts._replace(scheme="https" if parts.scheme == "grpcs" else "http")
    elif parts.scheme not in ("http", "https"):
        raise LoadConfigError(
            f"--target {text}: the URL must start with http://, https:// or grpc://"
        )
    if not parts.hostname:
        raise LoadConfigError(f"--target {text}: no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise LoadConfigError(f"--target {text}: {exc}") from None
    if parts.username or parts.password:
        raise LoadConfigError(f"--target {text}: credentials in the URL are not supported")
    secure = parts.scheme == "https"
    loopback = is_loopback(parts.hostname)
    if grpc:
        if parts.path not in ("", "/") or parts.query:
            raise LoadConfigError(f"--target {text}: a gRPC target is host:port, without a path")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return Target(f"{host}:{port or (443 if secure else 4317)}", secure, loopback)
    path = parts.path if parts.path not in ("", "/") else TRACES_PATH
    url = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return Target(url, secure, loopback)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal; names are not resolved (a DNS answer could
    change between the check and the connection)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def protocol_for(target: str | None, protocol: Protocol | None) -> Protocol:
    """The protocol of a run: as given, else ``grpc`` for a ``grpc://`` or ``grpcs://``
    target and ``http-protobuf`` otherwise."""
    if protocol is not None:
        return protocol
    scheme, separator, _ = (target or "").partition("://")
    return "grpc" if separator and scheme.lower() in GRPC_SCHEMES else "http-protobuf"


_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|min)?\s*$")
_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([km]?)\s*$", re.IGNORECASE)


_UNBOUNDED = frozenset({"inf", "infinity", "forever", "none", "unlimited", "-1"})


def parse_duration(text: str, option: str = "--duration") -> float:
    """``500ms``, ``10s``, ``2m`` or a bare number of seconds (finite by construction)."""
    if text.strip().lower() in _UNBOUNDED:
        raise LoadConfigError(
            f"refusing an unbounded run: {option} {text!r}; give a duration of at most "
            f"{MAX_DURATION_S:g} s"
        )
    match = _DURATION.match(text.lower())
    if not match:
        raise LoadConfigError(f"{option} {text!r}: expected a duration such as 10s, 500ms, 2m")
    scale = {"ms": 1e-3, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0}[match[2]]
    return float(match[1]) * scale


def parse_rate(text: str, option: str = "--rate") -> float:
    """Spans/s: ``5000``, ``20k``, ``1.5m``."""
    match = _RATE.match(text)
    if not match:
        raise LoadConfigError(f"{option} {text!r}: expected spans/s such as 5000 or 20k")
    return float(match[1]) * {"": 1.0, "k": 1e3, "m": 1e6}[match[2].lower()]


def parse_stage(text: str) -> Stage:
    """``DURATION:RATE``, e.g. ``30s:5k``: ramp to 5,000 spans/s over 30 s."""
    duration, colon, rate = text.partition(":")
    if not colon:
        raise LoadConfigError(
            f"--stage {text!r}: expected DURATION:RATE such as 30s:5k (ramp to 5k spans/s "
            "over 30 s)"
        )
    return Stage(parse_duration(duration, "--stage"), parse_rate(rate, "--stage"))
