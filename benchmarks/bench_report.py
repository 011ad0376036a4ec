"""``pyflare report`` on a big store: whole-command time and peak RSS (median of several
cold processes), the file's size, and the time Chromium takes to open it (load event),
with the commands whose figures it gathers timed in the same rounds as peers.

    python benchmarks/bench_report.py STORE [--runs 3] [--now 2026-11-20T13:00:00+00:00]

STORE is copied first (the price cache is written into a store). Needs Chromium and the
``playwright`` package for the load time; prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from pyflare_cli.render.report.pdf import QUIET_FLAGS

ROOT = Path(__file__).resolve().parents[1]
PYFLARE = str(ROOT / ".venv" / "bin" / "pyflare")
FLAGS = list(QUIET_FLAGS)


def timed(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall time (s) and peak RSS (KiB) of one cold ``pyflare`` process."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", PYFLARE, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"pyflare {' '.join(args)} failed:\n{done.stderr}")
    seconds, kib = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib)


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
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    store = work / "store"
    shutil.copytree(options.store, store)
    env = {**os.environ, "PYFLARE_NOW": options.now, "PYFLARE_STORE": str(store)}
    out = work / "report.html"
    since = options.since
    jobs = {
        "pyflare report (html, all sections)": ["report", "--since", since, "--out", str(out)],
        "pyflare report --format markdown": [
            "report",
            "-f",
            "markdown",
            "--since",
            since,
            "--out",
            str(work / "r.md"),
        ],
        "peer: pyflare cost --by model": ["cost", "--by", "model", "--since", since],
        "peer: pyflare stats --by model": ["stats", "--by", "model", "--since", since],
        "peer: pyflare rca": ["rca", "--since", since],
        "peer: pyflare drift --all-models": [
            "drift",
            "--all-models",
            "--since",
            since,
            "--reference-days",
            since.rstrip("d"),
        ],
    }
    timed(jobs["peer: pyflare cost --by model"], env)  # warm the price cache and page cache
    seen: dict[str, list[tuple[float, int]]] = {name: [] for name in jobs}
    loads = []
    for _ in range(options.runs):
        for name, args in jobs.items():
            seen[name].append(timed(args, env))
        loads.append(os.getloadavg()[0])
    print(f"load average during the runs: {', '.join(f'{x:.1f}' for x in loads)}")
    print(f"report file: {out.stat().st_size / 1e6:.2f} MB")
    print("\n| command | median time | min | peak RSS (median) |\n|---|---|---|---|")
    for name, figures in seen.items():
        t = [f[0] for f in figures]
        rss = statistics.median(f[1] for f in figures) / 1024
        print(f"| `{name}` | {statistics.median(t):.1f} s | {min(t):.1f} s | {rss:.0f} MiB |")
    if shutil.which("chromium"):
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
