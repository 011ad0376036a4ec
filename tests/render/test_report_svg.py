"""Every kind of report chart renders to SVG offline (vl-convert) with its marks, scales
with the page, draws text in the page's colour; chart data is safe inside a script tag."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pyflare_cli.render.report.svg import data_json, to_svg
from pyflare_cli.report import charts
from pyflare_cli.report.model import Chart

DAYS = [f"2026-11-{d:02d}T00:00:00+00:00" for d in range(10, 17)]
MODELS = ["gpt-4o", "<b>claude</b>"]
SERIES = [
    {"period": p, "model": m, "y": i * 1.5 + j}
    for i, p in enumerate(DAYS)
    for j, m in enumerate(MODELS)
]
KINDS: dict[str, tuple[dict[str, Any], list[dict[str, Any]], str]] = {
    "stacked bars": (charts.stacked_bars("period", "y", "model", "USD", "day"), SERIES, "rect"),
    "lines": (charts.lines("period", "y", "model", "ms"), SERIES, "line"),
    "bars": (charts.bars("model", "y", "rate", ".1%"), SERIES[:2], "rect"),
    "sparkline": (charts.sparkline("period", "y"), SERIES[::2], "area"),
    "histograms": (
        charts.overlaid_histograms("feature", ["input_tokens", "duration_ms"]),
        [
            {"feature": f, "sample": s, "bin": b, "share": 0.1 * b}
            for f in ("input_tokens", "duration_ms")
            for s in ("reference", "current")
            for b in range(1, 9)
        ],
        "rect",
    ),
    "waterfall": (
        charts.waterfall(3),
        [
            {
                "order": i,
                "label": f"{'  ' * i}span {i}",
                "start_ms": 10.0 * i,
                "end_ms": 100.0 - i,
                "status": "error" if i == 2 else "ok",
            }
            for i in range(3)
        ],
        "rect",
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_chart_kind_draws_its_marks(kind: str) -> None:
    spec, rows, mark = KINDS[kind]
    svg = to_svg(Chart("k", kind, spec, rows, sparkline=kind == "sparkline"))
    root = svg[: svg.index(">") + 1]
    assert root.startswith("<svg") and "viewBox" in root
    assert " width=" not in root and " height=" not in root  # scales with its container
    group = re.search(rf'<g class="mark-{mark} role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    assert group and "<path" in group.group(1), f"{kind}: no {mark} marks"
    assert 'fill="white"' not in svg  # transparent: the page's background shows
    if kind not in ("sparkline",):
        assert 'fill="currentColor"' in svg  # axis and legend text follow the page colour


def test_chart_text_is_escaped_by_the_renderer() -> None:
    spec, rows, _ = KINDS["bars"]
    svg = to_svg(Chart("k", "bars", spec, rows))
    assert "<b>claude</b>" not in svg and "&lt;b&gt;claude&lt;/b&gt;" in svg


def test_data_json_cannot_close_its_script_element() -> None:
    rows = [{"model": "</script><script>alert(1)</script>", "n": 1, "amp": "a&b"}]
    text = data_json(Chart("k", "t", {}, rows))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["values"] == rows
