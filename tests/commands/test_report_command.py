"""`pyflare report`: the page holds every section (or says why one has no data), every
chart as SVG with its data as JSON, working trace links, no external reference; the
Markdown summary and its assets; `--html` of cost, drift and rca; usage errors."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_support import ROOT, invoke

SECTIONS = ("overview", "cost", "latency", "errors", "drift", "rca", "alerts", "eval")


class Page(HTMLParser):
    """What a page holds: ids, links, SVG roots, JSON data blocks, external references."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.svgs = 0
        self.data: dict[str, str] = {}
        self.external: list[str] = []
        self._data_id: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag == "svg":
            self.svgs += 1
        if tag == "script":
            assert values.get("type") == "application/json", "no executable script"
            self._data_id = values.get("id")
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = values.get(name) or ""
            if re.match(r"\s*(https?:)?//", value):
                self.external.append(value)

    def handle_data(self, data: str) -> None:
        if self._data_id is not None:
            self.data[self._data_id] = data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._data_id = None


@pytest.fixture(scope="module")
def page(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = invoke("report", "--since", "7d", "--store", str(demo_store), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stderr
    return out.read_text()


def test_every_section_is_there_or_says_why(page: str) -> None:
    parsed = Page(page)
    assert set(SECTIONS) <= parsed.ids
    # The demo store has no alert state: the section stays and says so.
    alerts = page.split('id="alerts"')[1].split("</section>")[0]
    assert "No data: no alert state in the store: run `pyflare alert check` first" in alerts
    for name in ("overview", "cost", "latency", "errors", "drift", "rca"):
        body = page.split(f'id="{name}"')[1].split("</section>")[0]
        assert "No data" not in body, name


def test_charts_are_inline_svg_with_their_data_as_json(page: str) -> None:
    parsed = Page(page)
    charts = [key for key in parsed.data if key.endswith("-data")]
    assert len(charts) >= 15
    assert parsed.svgs == len(charts)
    for key in charts:
        data = json.loads(parsed.data[key])
        assert data["values"], key
    cost = json.loads(parsed.data["cost-by-model-data"])
    assert {"period", "model", "cost_usd"} == set(cost["values"][0])
    assert 'class="mark-rect' in page and 'class="mark-line' in page


def test_the_page_needs_nothing_from_elsewhere(page: str) -> None:
    parsed = Page(page)
    assert parsed.external == []
    assert "default-src 'none'" in page
    assert "@import" not in page and "url(" not in page
    assert "<link" not in page and "<img" not in page


def test_trace_links_land_on_waterfalls(page: str) -> None:
    parsed = Page(page)
    targets = [link[1:] for link in parsed.links if link.startswith("#trace-")]
    assert targets, "the costliest traces link to their waterfalls"
    assert all(t in parsed.ids for t in targets)
    waterfalls = [i for i in parsed.ids if i.startswith("trace-") and i.endswith("-waterfall")]
    assert {t + "-waterfall" for t in targets} <= set(waterfalls)
    assert all(link[1:] in parsed.ids for link in parsed.links if link.startswith("#"))


def test_sections_option_keeps_page_order(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = invoke(
        "report", "--sections", "rca,cost", "--store", str(demo_store), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    ids = Page(out.read_text()).ids
    assert {"cost", "rca"} <= ids and not {"overview", "drift", "latency"} & ids
    assert out.read_text().index('id="cost"') < out.read_text().index('id="rca"')


def test_parallel_build_writes_the_same_page(page: str, demo_store: Path, tmp_path: Path) -> None:
    """With --parallel rca's analysis runs in the background and errors and rca are
    built last; the page is the same bytes as one section after another."""
    out = tmp_path / "parallel.html"
    result = invoke("report", "--parallel", "--store", str(demo_store), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text() == page


def test_alert_states_and_silences(demo_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo_store, store)
    rules = str(ROOT / "docs" / "examples" / "alerts.yaml")
    for at in ("2026-11-20T11:40", "2026-11-20T11:50", "2026-11-20T11:59"):
        invoke("alert", "check", "--rules", rules, "--no-notify", "--store", str(store), "--at", at)
    added = invoke(
        "alert",
        "silence",
        "add",
        "-m",
        "alertname=HighErrorRate",
        "--duration",
        "2h",
        "--comment",
        "<b>deploy</b>",
        "--store",
        str(store),
    )
    assert added.exit_code == 0, added.output
    out = tmp_path / "alerts.html"
    result = invoke("report", "--sections", "alerts", "--store", str(store), "--out", str(out))
    assert result.exit_code == 0, result.output
    body = out.read_text().split('id="alerts"')[1]
    assert "No data" not in body
    assert "<td>firing</td>" in body and "<td>pending</td>" in body
    assert "HighErrorRate" in body and "&lt;b&gt;deploy&lt;/b&gt;" in body
    assert re.search(r"\d+ firing, \d+ pending or resolved, 1 silence", body)


def test_markdown_with_assets(demo_store: Path, tmp_path: Path) -> None:
    out, assets = tmp_path / "summary.md", tmp_path / "assets"
    result = invoke(
        "report",
        "--format",
        "markdown",
        "--assets",
        str(assets),
        "--sections",
        "cost,drift",
        "--store",
        str(demo_store),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images and all((tmp_path / image).is_file() for image in images)
    assert all(image.startswith("assets/") for image in images)
    assert (assets / "cost-by-model.svg").read_text().startswith("<svg")
    links = re.findall(r"\]\(#(trace-[0-9a-f]+)\)", text)
    assert links and all(f"### trace {link[6:]}" in text for link in links)


def test_markdown_to_stdout_for_a_step_summary(demo_store: Path) -> None:
    result = invoke(
        "report", "-f", "markdown", "--sections", "overview", "--store", str(demo_store)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# pyflare report\n")
    assert "| Requests | Users |" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sections", "cost,bogus"], "--sections 'bogus': use overview, cost"),
        (["--assets", "x"], "--assets goes with --format markdown"),
        (["--out", "/nonexistent/r.html"], "--out /nonexistent/r.html: folder /nonexistent"),
        (["--since", "2020-01-01", "--until", "2020-01-02"], "no spans in 2020-01-01"),
        (["--where", "service:no-such-service"], "no spans matching --where"),
    ],
)
def test_usage_errors_are_one_line(
    demo_store: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = invoke("report", "--store", str(demo_store), "--out", str(tmp_path / "r.html"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_a_missing_store_is_exit_2(tmp_path: Path) -> None:
    result = invoke("report", "--store", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("command", "section"),
    [
        (["cost", "--since", "7d"], "cost"),
        (["drift", "--all-models", "--since", "2d"], "drift"),
        (["rca", "--since", "2d"], "rca"),
    ],
)
def test_commands_write_their_own_section(
    demo_store: Path, tmp_path: Path, command: list[str], section: str
) -> None:
    out = tmp_path / f"{section}.html"
    result = invoke(*command, "--store", str(demo_store), "--html", str(out))
    assert result.exit_code in (0, 1), result.output
    parsed = Page(out.read_text())
    assert section in parsed.ids
    assert not set(SECTIONS) - {section} & parsed.ids
    assert parsed.svgs >= 1 or section == "rca"
    assert all(link[1:] in parsed.ids for link in parsed.links if link.startswith("#"))


def test_a_failing_gate_still_writes_its_page(incident_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "rca.html"
    result = invoke(
        "rca",
        "--since",
        "24h",
        "--fail-on-significant",
        "--store",
        str(incident_store),
        "--html",
        str(out),
    )
    assert result.exit_code == 1, result.output
    assert "Ranked causes" in out.read_text()


def test_pdf_without_chromium_says_how_to_get_it(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    result = invoke(
        "report",
        "-f",
        "pdf",
        "--sections",
        "overview",
        "--store",
        str(demo_store),
        "--out",
        str(out),
        env={"PATH": str(tmp_path)},
    )
    assert result.exit_code == 2, result.output
    assert "prints with Chromium, which is not installed (apt-get install chromium)" in (
        result.stderr
    )
    assert not out.exists()


def test_section_names_in_help_are_the_builders() -> None:
    from pyflare_cli.commands.report import SECTIONS as NAMED
    from pyflare_cli.report.build import SECTIONS as BUILT

    assert NAMED == tuple(BUILT) == SECTIONS


def test_budgets_of_the_config_are_in_the_cost_section(demo_store: Path, tmp_path: Path) -> None:
    config = tmp_path / "pyflare.yaml"
    config.write_text(
        "budgets:\n  - name: daily-total\n    period: day\n    limit_usd: 0.01\n"
        "  - name: gpt-weekly\n    where: 'model:gpt-4o*'\n    period: week\n    limit_usd: 500\n"
    )
    result = invoke(
        "report",
        "-f",
        "markdown",
        "--sections",
        "cost",
        "--store",
        str(demo_store),
        "--config",
        str(config),
    )
    assert result.exit_code == 0, result.output
    table = result.stdout.split("**Budgets**")[1]
    assert re.search(r"\| daily-total \| day \| \$[\d.]+ \| \$0\.01.* \| exceeded \|", table)
    assert re.search(r"\| gpt-weekly \| week \| .* \| \$500 \|", table)


def test_progress_shows_on_a_terminal_only(demo_store: Path, tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    args = [
        sys.executable,
        "-m",
        "pyflare_cli",
        "report",
        "--sections",
        "overview",
        "--store",
        str(demo_store),
        "--out",
        str(tmp_path / "r.html"),
    ]
    env = {**os.environ, "PYFLARE_NOW": "2026-11-20T12:00:00+00:00"}
    main, other = pty.openpty()
    done = subprocess.run(
        args, stderr=other, stdout=subprocess.DEVNULL, env=env, timeout=300, check=False
    )
    os.close(other)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert done.returncode == 0
    text = shown.decode(errors="replace")
    assert "building overview" in text and "drawing" in text and "wrote" in text
    piped = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert piped.returncode == 0
    assert "building" not in piped.stderr and piped.stderr.startswith("wrote ")
