"""`pyflare report` in a real browser: the system's headless Chromium, driven by Playwright
(`playwright install` is never run; `.ci/run` installs Debian's chromium where missing).

The page loads with every non-file request blocked and none attempted, logs no console
error, draws every chart as SVG with marks, its trace links land on the waterfalls, it
follows dark mode, and a phone-width viewport has no horizontal scroll. Screenshots at
1280x900 and 390x844 are saved to $PYFLARE_TEST_ARTIFACTS (else a temporary folder).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke

from pyflare_cli.render.report.pdf import QUIET_FLAGS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = list(QUIET_FLAGS)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)"
)


@pytest.fixture(scope="module")
def report_file(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    result = invoke("report", "--since", "7d", "--store", str(demo_store), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        # Playwright gives each launch a fresh temporary profile (user data dir).
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("PYFLARE_TEST_ARTIFACTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser: Any, report_file: Path, **options: Any) -> tuple[Any, Any, dict[str, list[str]]]:
    """A new page on the report with network blocked; what it requested and logged."""
    context = browser.new_context(**options)
    seen: dict[str, list[str]] = {"requests": [], "blocked": [], "errors": []}

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith("file://"):
            request_route.continue_()
        else:
            seen["blocked"].append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.goto(report_file.as_uri(), wait_until="load", timeout=60_000)
    return context, page, seen


def test_loads_offline_without_errors_and_draws_every_chart(
    browser: Any, report_file: Path, artifacts: Path
) -> None:
    context, page, seen = _open(browser, report_file, viewport={"width": 1280, "height": 900})
    assert seen["requests"] == [report_file.as_uri()]
    assert seen["blocked"] == [] and seen["errors"] == []
    marks = page.evaluate(
        """() => Array.from(document.querySelectorAll('figure svg, .kpi svg')).map(svg => {
            const box = svg.getBoundingClientRect();
            const drawn = svg.querySelectorAll('g[class*="mark-"] > *');
            return {width: box.width, height: box.height, marks: drawn.length};
        })"""
    )
    charts = page.locator("script[type='application/json']").count()
    assert len(marks) == charts >= 15
    assert all(m["width"] > 50 and m["height"] > 10 and m["marks"] > 0 for m in marks), marks
    page.screenshot(path=str(artifacts / "report-1280x900.png"))
    context.close()


def test_trace_links_land_on_their_waterfall(browser: Any, report_file: Path) -> None:
    context, page, _ = _open(browser, report_file, viewport={"width": 1280, "height": 900})
    link = page.locator("a[href^='#trace-']").first
    target = link.get_attribute("href")
    assert target
    link.click()
    page.wait_for_function(f"location.hash === '{target}'")
    top = page.evaluate(f"document.getElementById('{target[1:]}').getBoundingClientRect().top")
    assert abs(top) < 5
    assert page.locator(f"{target} svg g[class*='mark-rect'] path").count() > 0
    context.close()


def test_dark_mode_colours_page_and_charts(browser: Any, report_file: Path) -> None:
    context, page, seen = _open(
        browser, report_file, viewport={"width": 1280, "height": 900}, color_scheme="dark"
    )
    colours = page.evaluate(
        """() => ({
            background: getComputedStyle(document.body).backgroundColor,
            text: getComputedStyle(document.body).color,
            label: getComputedStyle(document.querySelector('figure svg text')).fill,
        })"""
    )
    assert colours["background"] == "rgb(18, 21, 27)"
    assert colours["text"] == colours["label"] == "rgb(230, 233, 239)"
    assert seen["errors"] == []
    context.close()


def test_phone_width_has_no_horizontal_scroll(
    browser: Any, report_file: Path, artifacts: Path
) -> None:
    context, page, _ = _open(
        browser, report_file, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    page.screenshot(path=str(artifacts / "report-390x844.png"))
    context.close()


def test_pdf_is_printed_by_chromium(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    result = invoke(
        "report",
        "-f",
        "pdf",
        "--sections",
        "overview,cost",
        "--store",
        str(demo_store),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 2
