"""``pyflare report`` on a big store: whole-command time and peak RSS (median of several
cold processes), the file's size, and the time Chromium takes to open it (load event),
with the commands whose figures it gathers timed in the same rounds as peers.

    python benchmarks/bench_report.py STORE [--runs 3] [--now 2026-11-20T13:00:00+00:00]
        [--before DIR] [--peers] [--no-browser] [--sections cost] [--no-markdown]

STORE is copied first (the price cache is written into a store). ``--before DIR`` runs
the same commands with the code in DIR (``git worktree add DIR COMMIT``) in turns with
this code, and checks both write the same page; ``--peers`` also times the commands
whose figures the report gathers. Each run is a cold process under ``/usr/bin/time -v``:
wall, CPU (user + system) and peak RSS, with the load average of each round. Needs
Chromium and the ``playwright`` package for the load time; prints a Markdown table for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
from pathlib import Path

from bench_cost import timed_cpu

from pyflare_cli.render.report.pdf import QUIET_FLAGS

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
FLAGS = list(QUIET_FLAGS)


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one cold ``pyflare`` process."""
    wall, rss, cpu, _ = timed_cpu([PYTHON, "-m", "pyflare_cli", *args], env)
    return wall, cpu, rss


def load_ms(page: Path, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        for _ in range(runs):
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.goto(page.as_uri(), wait_until="load")
            times.append(
                float(tab.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            )
            tab.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--now", default="2026-11-20T13:00:00+00:00")
    parser.add_argument("--since", default="7d")
    parser.add_argument("--before", type=Path, help="older code to run in turns with this")
    parser.add_argument("--peers", action="store_true", help="time the commands it gathers")
    parser.add_argument("--no-browser", action="store_true", help="skip the load time")
    parser.add_argument("--sections", help="only these sections (the report's --sections)")
    parser.add_argument("--no-markdown", action="store_true", help="skip the Markdown run")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    store = work / "store"
    shutil.copytree(options.store, store)
    env = {**os.environ, "PYFLARE_NOW": options.now, "PYFLARE_STORE": str(store)}
    env.pop("PYTHONPATH", None)
    since = options.since
    only = ["--sections", options.sections] if options.sections else []
    page = ["report", "--since", since, *only, "--out"]
    markdown = ["report", "-f", "markdown", "--since", since, *only, "--out"]
    jobs: dict[str, tuple[list[str], dict[str, str]]] = {
        "pyflare report (html, all sections)": ([*page, str(work / "now.html")], env),
    }
    if options.before is not None:
        old = {**env, "PYTHONPATH": str(options.before.resolve())}
        jobs["before: pyflare report (html)"] = ([*page, str(work / "before.html")], old)
    if not options.no_markdown:
        jobs["pyflare report --format markdown"] = ([*markdown, str(work / "now.md")], env)
    if options.peers:
        jobs |= {
            "peer: pyflare cost --by model": (["cost", "--by", "model", "--since", since], env),
            "peer: pyflare stats --by model": (["stats", "--by", "model", "--since", since], env),
            "peer: pyflare rca": (["rca", "--since", since], env),
            "peer: pyflare drift --all-models": (
                ["drift", "--all-models", "--since", since, "--reference-days", since[:-1]],
                env,
            ),
        }
    timed(["cost", "--by", "model", "--since", since], env)  # the price and page caches
    seen: dict[str, list[tuple[float, float, float]]] = {name: [] for name in jobs}
    loads = []
    for _ in range(options.runs):
        for name, (args, job_env) in jobs.items():
            seen[name].append(timed(args, job_env))
            loads.append(os.getloadavg()[0])
    out = work / "now.html"
    print(f"load average (1 min) after each run: {', '.join(f'{x:.1f}' for x in loads)}")
    if options.before is not None:
        same = out.read_bytes() == (work / "before.html").read_bytes()
        print(f"page identical to the older code's: {'yes' if same else 'NO'}")
    print(f"report file: {out.stat().st_size / 1e6:.2f} MB")
    print("\n| command | wall median (min) | CPU s median | peak RSS median (max) |")
    print("|---|---|---|---|")
    for name, figures in seen.items():
        t, cpu, rss = ([f[i] for f in figures] for i in range(3))
        print(
            f"| `{name}` | {statistics.median(t):.1f} s ({min(t):.1f}) | "
            f"{statistics.median(cpu):.1f} s | {statistics.median(rss):.0f} MiB ({max(rss):.0f}) |"
        )
    if shutil.which("chromium") and not options.no_browser:
        ms = load_ms(out, 5)
        print(
            f"\nChromium load event: median {statistics.median(ms):.0f} ms "
            f"(min {min(ms):.0f}, max {max(ms):.0f}) over {len(ms)} loads"
        )
    svgs = len(re.findall(r"<svg", out.read_text()))
    print(f"charts in the page: {svgs}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
