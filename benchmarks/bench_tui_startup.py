"""Whole-process start-up of ``pyflare tui`` in a real terminal (a tmux pty).

Times, from the moment the command is launched in a fresh tmux window: the first frame
(the title line is on screen) and the first page (the status line says ``N of M traces``),
by polling ``tmux capture-pane`` every 5 ms. A cold process each run (a new Python, no
import cache in memory beyond the OS page cache). Prints the median and the spread.

    python benchmarks/bench_tui_startup.py STORE [--runs 7] [--size 120x36] [--before DIR]

``--before DIR`` times an export of an older commit too (``git archive COMMIT pyflare_cli |
tar -x -C DIR``), alternating runs with this checkout's so both see the same load.

Needs tmux (``apt-get install -y tmux``). Build a store of a million spans with
``pyflare demo --spans 1000000 --store STORE``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SESSION = "pyflare-bench-tui"


def capture() -> str:
    result = subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True, check=False
    )
    return result.stdout


def one_run(
    store: Path, size: tuple[int, int], timeout: float, code: Path | None = None
) -> tuple[float, float]:
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    pyflare = ROOT / ".venv" / "bin" / "pyflare"
    command = f"{pyflare} tui --store {store}"
    if code is not None:  # an export of another commit: its package first on sys.path
        python = ROOT / ".venv" / "bin" / "python"
        command = f"cd {code} && {python} -m pyflare_cli tui --store {store}"
    width, height = size
    start = time.perf_counter()
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", SESSION, "-x", str(width), "-y", str(height), command],
        check=True,
    )
    first_frame = first_page = None
    while time.perf_counter() - start < timeout:
        screen = capture()
        now = time.perf_counter() - start
        if first_frame is None and "pyflare traces in" in screen:
            first_frame = now
        listed = " of " in screen and "traces · sort" in screen
        if first_frame is not None and listed and "loading" not in screen.splitlines()[-2]:
            first_page = now
            break
        time.sleep(0.005)
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    if first_frame is None or first_page is None:
        raise SystemExit(f"no first page within {timeout} s; last screen:\n{capture()}")
    return first_frame, first_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", default="120x36")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument(
        "--before",
        type=Path,
        help="a folder holding an export of an older commit's pyflare_cli (git archive): "
        "timed too, each of its runs right after one of this checkout, so both share the load",
    )
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is needed: apt-get install -y tmux")
    width, height = (int(v) for v in args.size.split("x"))
    one_run(args.store, (width, height), args.timeout)  # warm the OS page cache
    codes: list[Path | None] = [None] if args.before is None else [None, args.before]
    times: dict[Path | None, tuple[list[float], list[float]]] = {c: ([], []) for c in codes}
    for _ in range(args.runs):
        for code in codes:
            frame, page = one_run(args.store, (width, height), args.timeout, code)
            times[code][0].append(frame)
            times[code][1].append(page)
            name = "this checkout" if code is None else str(code)
            print(f"{name}: first frame {frame * 1000:6.0f} ms   first page {page * 1000:6.0f} ms")

    def summary(values: list[float]) -> str:
        low, mid, high = (v * 1000 for v in (min(values), statistics.median(values), max(values)))
        return f"{mid:.0f} ms ({low:.0f}-{high:.0f})"

    for code, (frames, pages) in times.items():
        name = "this checkout" if code is None else str(code)
        medians = f"first frame {summary(frames)}, first page {summary(pages)}"
        print(f"{name}, median of {args.runs}: {medians}")


if __name__ == "__main__":
    main()
