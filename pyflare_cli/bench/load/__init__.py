"""A load generator for OTLP receivers: how many spans/s does a receiver acknowledge, and how
fast?

It backs ``pyflare bench load`` (``pyflare_cli.commands.bench_load``) and the ``receive``
suite of ``pyflare bench``. The engine prints nothing:
:func:`run_load` takes a :class:`LoadConfig` and returns a :class:`LoadResult`. Modules:
``config`` (options, limits, the target check, option text parsing), ``schedule`` (when
sends are due: constant rate or k6-like stages), ``payloads`` (the pre-encoded request
pool), ``trace_ids`` (per-pass id rewriting), ``senders`` (OTLP/HTTP and OTLP/gRPC),
``engine`` (scheduling and measurement), ``result``, ``thresholds`` (pass/fail gates),
``report`` (the result as text).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pyflare_cli.bench.load.config import (
    MAX_DURATION_S,
    PROTOCOLS,
    LoadConfig,
    LoadConfigError,
    Protocol,
    parse_duration,
    parse_rate,
    parse_stage,
    protocol_for,
)
from pyflare_cli.bench.load.result import CpuUsage, LatencySummary, LoadResult
from pyflare_cli.bench.load.schedule import Schedule, Stage
from pyflare_cli.bench.load.thresholds import Threshold, ThresholdError, Verdict, parse_threshold

if TYPE_CHECKING:
    from pyflare_cli.bench.load.engine import pool_for, run_load, run_load_async
    from pyflare_cli.bench.load.payloads import PayloadPool, build_pool

_LAZY = {
    "pool_for": "engine",
    "run_load": "engine",
    "run_load_async": "engine",
    "PayloadPool": "payloads",
    "build_pool": "payloads",
}
"""Imported on first use: the engine and the payloads pull in NumPy, protobuf and gRPC,
which every `pyflare` command would otherwise pay at start-up (the bench command imports
this package to declare its options)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MAX_DURATION_S",
    "PROTOCOLS",
    "CpuUsage",
    "LatencySummary",
    "LoadConfig",
    "LoadConfigError",
    "LoadResult",
    "PayloadPool",
    "Protocol",
    "Schedule",
    "Stage",
    "Threshold",
    "ThresholdError",
    "Verdict",
    "build_pool",
    "parse_duration",
    "parse_rate",
    "parse_stage",
    "parse_threshold",
    "pool_for",
    "protocol_for",
    "run_load",
    "run_load_async",
]
