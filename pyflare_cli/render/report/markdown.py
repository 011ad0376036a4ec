"""The report as Markdown for a CI step summary (``$GITHUB_STEP_SUMMARY``): headline
figures, tables and links, each chart as an SVG file in ``--assets DIR`` when given.

Data strings are escaped for Markdown and for the HTML a summary may hold: ``|``, ``\\``,
``*``, ``_``, backticks and brackets get a backslash, ``<``, ``>`` and ``&`` become
entities, newlines become spaces; a model named ``<script>`` or ``[/INST]`` stays text.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pyflare_cli.errors import UsageError
from pyflare_cli.report.model import Report, TraceRef, anchor

if TYPE_CHECKING:
    from jinja2 import Environment

    from pyflare_cli.render.report.svg import ChartPool
    from pyflare_cli.report.model import Cell, Chart

_SPECIAL = re.compile(r"([\\`*_\[\]{}|#!~])")


def md(value: object) -> str:
    """Plain text that Markdown (and HTML inside it) shows as it is."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


@cache
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("pyflare_cli.render.report", "templates"),
        autoescape=False,  # Markdown: every data string goes through the md filter
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md
    return env


def render_markdown(
    report: Report, assets: Path | None, target: Path | None, pool: ChartPool | None = None
) -> str:
    """The Markdown text; with ``assets``, the charts are written there as SVG files and
    linked by paths relative to ``target``'s folder (or absolute for stdout)."""
    images: dict[str, str] = {}
    if assets is not None:
        images = _write_assets(report.charts, assets, target, pool)
    linked = {t.trace_id for t in report.traces}

    def cell(value: Cell) -> str:
        if isinstance(value, TraceRef):
            short = md(value.trace_id[:16])
            if value.trace_id in linked:
                return f"[`{value.trace_id[:16]}`](#{anchor(value.trace_id)})"
            return short
        return md(value)

    return (
        environment()
        .get_template("report.md.j2")
        .render(report=report, images=images, cell=cell, anchor=anchor)
    )


def _write_assets(
    charts: list[Chart], assets: Path, target: Path | None, pool: ChartPool | None
) -> dict[str, str]:
    from pyflare_cli.render.report.svg import to_svg

    draw = pool.svg if pool is not None else to_svg

    try:
        assets.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--assets {assets}: cannot create it ({exc.strerror or exc})") from None
    base = (target.parent if target is not None else Path.cwd()).resolve()
    images = {}
    for chart in charts:
        if chart.sparkline:
            continue
        path = assets / f"{chart.key}.svg"
        path.write_text(draw(chart), encoding="utf-8")
        resolved = path.resolve()
        images[chart.key] = os.path.relpath(resolved, base) if target is not None else str(resolved)
    return images
