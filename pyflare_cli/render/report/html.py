"""The report as one self-contained HTML file: inline CSS, inline SVG charts, each chart's
data as JSON beside it, no script, no font, no request of any kind (a Content-Security-
Policy of ``default-src 'none'`` says so to the browser).

Jinja2 templates with autoescaping on: every data string (model, user, service, span
names, error templates) is text, never markup. Only the SVG produced by vl-convert (which
escapes the text it draws) and the JSON made safe by :func:`svg.data_json` are inserted
as they are.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from markupsafe import Markup

from pyflare_cli.render.report.svg import ChartPool, data_json, to_svg
from pyflare_cli.report.model import Report, TraceRef, anchor

if TYPE_CHECKING:
    from jinja2 import Environment


@cache
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("pyflare_cli.render.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(anchor=anchor, is_trace=lambda cell: isinstance(cell, TraceRef))
    return env


def render_html(report: Report, pool: ChartPool | None = None) -> str:
    """The whole page (the charts from ``pool`` when they were rendered ahead)."""
    draw = pool.svg if pool is not None else to_svg
    svgs = {chart.key: Markup(draw(chart)) for chart in report.charts}
    data = {chart.key: Markup(data_json(chart)) for chart in report.charts}
    env = environment()
    css = Markup(env.loader.get_source(env, "report.css")[0])  # type: ignore[union-attr]
    linked = {t.trace_id for t in report.traces}
    return env.get_template("report.html.j2").render(
        report=report, svgs=svgs, data=data, css=css, linked=linked
    )
