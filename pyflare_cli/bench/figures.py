"""Benchmark figures: repeated measurements, their median and spread, and the machine.

A :class:`Figure` keeps every repeat (after a warm-up that is not kept), so a result file
can be compared with another one taking both spreads into account (:mod:`bench.compare`).
Commands are timed as real subprocesses, start-up included, because that is what a user
waits for; their peak memory comes from the kernel's accounting of that one child.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

Better = Literal["lower", "higher"]
PYFLARE = [sys.executable, "-m", "pyflare_cli"]


@dataclass(frozen=True)
class Figure:
    suite: str
    name: str
    unit: str
    values: tuple[float, ...]
    better: Better = "lower"
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.name}"

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def spread(self) -> float:
        return max(self.values) - min(self.values) if len(self.values) > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "name": self.name,
            "unit": self.unit,
            "better": self.better,
            "median": self.median,
            "spread": self.spread,
            "values": list(self.values),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        return cls(
            suite=str(data["suite"]),
            name=str(data["name"]),
            unit=str(data.get("unit", "")),
            values=tuple(float(v) for v in data.get("values", [data.get("median", 0.0)])),
            better="higher" if data.get("better") == "higher" else "lower",
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True)
class PeerFigure:
    """One figure measured on pyflare and on a peer in the same run, run for run."""

    suite: str
    name: str
    peer: str
    unit: str
    ours: tuple[float, ...]
    theirs: tuple[float, ...]
    better: Better = "lower"
    note: str = ""

    @property
    def ratio(self) -> float:
        """pyflare's median over the peer's (2.0: twice the peer's time, or rate)."""
        ours, theirs = statistics.median(self.ours), statistics.median(self.theirs)
        return ours / theirs if theirs else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "name": self.name,
            "peer": self.peer,
            "unit": self.unit,
            "better": self.better,
            "pyflare": {"median": statistics.median(self.ours), "values": list(self.ours)},
            "peer_figure": {"median": statistics.median(self.theirs), "values": list(self.theirs)},
            "ratio": self.ratio,
            "note": self.note,
        }


@dataclass(frozen=True)
class PeerCheck:
    """Whether a peer computed the same answer as pyflare (else its ratio compares apples
    with pears): how many results were compared, how many differ."""

    suite: str
    peer: str
    what: str
    compared: int
    differ: int

    @property
    def agrees(self) -> bool:
        return self.compared > 0 and self.differ == 0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "agrees": self.agrees}


@dataclass(frozen=True)
class Run:
    """One timed subprocess: wall seconds, peak resident memory (MiB), output, CPU seconds."""

    seconds: float
    peak_mib: float
    stdout: str
    stderr: str
    code: int
    cpu_seconds: float = float("nan")


_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True)
seconds = time.perf_counter() - started
sys.stdout.buffer.write(done.stdout)
sys.stderr.buffer.write(done.stderr)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = usage.ru_utime + usage.ru_stime
sys.stderr.write("\\n" + json.dumps(
    {"bench_seconds": seconds, "bench_peak_kib": usage.ru_maxrss, "bench_cpu": cpu}))
sys.exit(done.returncode)
"""
"""A fresh wrapper process per run: its children's peak RSS is this run's alone, and the
wall time is the command's own (the wrapper's start-up is not counted)."""


def run_command(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``pyflare ARGS`` as a subprocess: its wall time and its own peak memory."""
    return run_process([*PYFLARE, *args], env)


def run_process(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Run any program (``argv``) as :func:`run_command` runs pyflare: time, memory, CPU."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    stderr, _, tail = done.stderr.rpartition("\n")
    try:
        measured = json.loads(tail)
    except ValueError:
        return Run(float("nan"), 0.0, done.stdout, done.stderr, done.returncode or 3)
    return Run(
        measured["bench_seconds"],
        measured["bench_peak_kib"] / 1024,
        done.stdout,
        stderr,
        done.returncode,
        float(measured.get("bench_cpu", float("nan"))),
    )


def repeat_command(
    args: list[str], env: dict[str, str], repeat: int, allowed: tuple[int, ...] = (0,)
) -> list[Run]:
    """``repeat`` timed runs after one warm-up; a run exiting outside ``allowed`` stops it."""
    runs = []
    for attempt in range(repeat + 1):
        done = run_command(args, env)
        if done.code not in allowed:
            command = " ".join(["pyflare", *args])
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"`{command}` exited {done.code}: {last}")
        if attempt:
            runs.append(done)
    return runs


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, Python and the versions of the libraries that matter."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = 0
    try:
        with open("/proc/meminfo") as handle:
            memory = int(handle.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    libraries = {}
    for name in ("pyflare", "polars", "pyarrow", "numpy", "scipy", "protobuf", "grpcio"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            libraries[name] = metadata.version(name)
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "libraries": libraries,
    }


@dataclass
class Results:
    """Everything a `pyflare bench` run measured, with where and on what."""

    spans: int
    repeat: int
    seed: int
    machine: dict[str, Any] = field(default_factory=machine)
    figures: list[Figure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    peers: list[PeerFigure] = field(default_factory=list)
    peer_checks: list[PeerCheck] = field(default_factory=list)
    peers_skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "version": 1,
            "spans": self.spans,
            "repeat": self.repeat,
            "seed": self.seed,
            "machine": self.machine,
            "figures": [f.to_dict() for f in self.figures],
            "skipped": self.skipped,
        }
        if self.peers or self.peer_checks or self.peers_skipped:  # asked for with --peers
            out["peers"] = [p.to_dict() for p in self.peers]
            out["peer_checks"] = [c.to_dict() for c in self.peer_checks]
            out["peers_skipped"] = self.peers_skipped
        return out
