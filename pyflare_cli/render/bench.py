"""Benchmark results and comparisons as a Rich table, Markdown or JSON."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence

import polars as pl

from pyflare_cli.bench.compare import Comparison
from pyflare_cli.bench.figures import Results
from pyflare_cli.render.output import console, emit


def _number(value: float) -> str:
    if value != value:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def print_results(results: Results, fmt: str) -> None:
    out = console()
    if fmt == "json":
        out.print(json.dumps(results.to_dict(), indent=2), markup=False, soft_wrap=True)
        return
    m = results.machine
    libraries = ", ".join(f"{k} {v}" for k, v in m.get("libraries", {}).items())
    out.print(
        f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB; "
        f"Python {m.get('python')}; {libraries}",
        soft_wrap=True,
        markup=False,
    )
    out.print(
        f"{results.spans:,} spans (pyflare demo, seed {results.seed}); median and spread "
        f"(max - min) of {results.repeat} run(s) after a warm-up",
        soft_wrap=True,
    )
    rows = [
        {
            "suite": f.suite,
            "figure": f.name,
            "median": _number(f.median),
            "spread": _number(f.spread),
            "unit": f.unit,
            "better": f.better,
            "note": f.note,
        }
        for f in results.figures
    ]
    if rows:
        emit(pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)), fmt, out)
    for name, why in results.skipped.items():
        out.print(f"skipped {name}: {why}", soft_wrap=True, markup=False)
    print_peers(results, fmt)


def print_peers(results: Results, fmt: str) -> None:
    """``--peers``: each figure beside the peer's, the ratio, whether the answers agree."""
    out = console()
    rows = [
        {
            "suite": p.suite,
            "figure": p.name,
            "pyflare": _number(statistics.median(p.ours)),
            "peer": p.peer,
            "peer's": _number(statistics.median(p.theirs)),
            "unit": p.unit,
            "pyflare / peer": f"{p.ratio:.2f}x",
            "note": p.note,
        }
        for p in results.peers
    ]
    if rows:
        out.print("Peers on the same data, run for run in turn:", soft_wrap=True)
        emit(pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)), fmt, out)
    for check in results.peer_checks:
        if check.agrees:
            said = f"{check.suite}: {check.peer}'s {check.what} equal pyflare's: "
            out.print(f"{said}{check.compared} of {check.compared}", soft_wrap=True, markup=False)
        else:
            console(sys.stderr).print(
                f"warning: {check.suite}: {check.peer}'s {check.what} differ from pyflare's in "
                f"{check.differ} of {check.compared}: the ratios compare different work",
                soft_wrap=True,
                markup=False,
            )
    for suite, why in results.peers_skipped.items():
        out.print(f"peer of {suite}: {why}", soft_wrap=True, markup=False)


def print_comparison(
    comparisons: Sequence[Comparison], only_before: list[str], only_now: list[str], fmt: str
) -> None:
    out = console()
    if fmt == "json":
        payload = {
            "comparisons": [c.__dict__ for c in comparisons],
            "only_in_baseline": only_before,
            "only_in_run": only_now,
        }
        out.print(json.dumps(payload, indent=2), markup=False, soft_wrap=True)
        return
    rows = [
        {
            "figure": c.key,
            "baseline": _number(c.baseline),
            "now": _number(c.current),
            "worse by": f"{c.change:+.1%}",
            "allowed": f"{c.allowed:.1%}",
            "verdict": "REGRESSED" if c.regressed else "ok",
        }
        for c in comparisons
    ]
    if rows:
        emit(pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String)), fmt, out)
    for key in only_before:
        out.print(f"only in the baseline: {key}", markup=False)
    for key in only_now:
        out.print(f"new in this run: {key}", markup=False)
