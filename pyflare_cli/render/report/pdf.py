"""The report as PDF: the HTML page printed by a headless Chromium (``--print-to-pdf``).

vl-convert prints one chart per PDF; the page with its tables, figures and waterfalls
needs a browser's layout. Chromium runs with networking off and a throw-away profile;
the page itself requests nothing (its Content-Security-Policy forbids it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from pyflare_cli.errors import UsageError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
QUIET_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Chromium with nothing of its own on the network (on a closed network it would otherwise
retry its background connections); the browser tests and benchmark launch it so too."""
FLAGS = ("--headless", *QUIET_FLAGS, "--disable-extensions", "--no-pdf-header-footer")
TIMEOUT = 120


def find_browser() -> str:
    """The path of a Chromium; exit 2 saying how to install one when there is none."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise UsageError(
        "--format pdf prints with Chromium, which is not installed "
        "(apt-get install chromium); --format html needs none"
    )


def html_to_pdf(page: str) -> bytes:
    browser = find_browser()
    with tempfile.TemporaryDirectory(prefix="pyflare-report-") as folder:
        html, pdf = Path(folder) / "report.html", Path(folder) / "report.pdf"
        html.write_text(page, encoding="utf-8")
        command = [
            browser,
            *FLAGS,
            f"--user-data-dir={folder}/profile",
            f"--print-to-pdf={pdf}",
            html.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise UsageError(f"--format pdf: {browser} did not finish in {TIMEOUT} s") from None
        if not pdf.is_file() or pdf.stat().st_size == 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            raise UsageError(f"--format pdf: {browser} wrote no PDF ({detail[0]})")
        return pdf.read_bytes()
