"""A load generator for OTLP receivers: how many spans/s does a receiver acknowledge, and how
fast?

It will back ``pyflare bench load``; ``scripts/loadgen.py`` is its command line for now. The
engine prints nothing: :func:`run_load` takes a :class:`LoadConfig` and returns a
:class:`LoadResult`. Modules: ``config`` (options, limits, the target check), ``payloads``
(the pre-encoded request pool), ``trace_ids`` (per-pass id rewriting), ``senders``
(OTLP/HTTP and OTLP/gRPC), ``engine`` (scheduling and measurement), ``result``,
``thresholds`` (pass/fail gates).
"""

from pyflare_cli.loadgen.config import (
    MAX_DURATION_S,
    PROTOCOLS,
    LoadConfig,
    LoadConfigError,
    Protocol,
)
from pyflare_cli.loadgen.engine import pool_for, run_load, run_load_async
from pyflare_cli.loadgen.payloads import PayloadPool, build_pool
from pyflare_cli.loadgen.result import CpuUsage, LatencySummary, LoadResult
from pyflare_cli.loadgen.thresholds import Threshold, ThresholdError, Verdict, parse_threshold

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
    "Threshold",
    "ThresholdError",
    "Verdict",
    "build_pool",
    "parse_threshold",
    "pool_for",
    "run_load",
    "run_load_async",
]
