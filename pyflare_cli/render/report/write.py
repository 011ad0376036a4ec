"""Write a built report as HTML, Markdown (with SVG assets) or PDF; check the target first
so a bad path is exit 2 before minutes of work."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pyflare_cli.errors import UsageError
from pyflare_cli.report.model import Report

if TYPE_CHECKING:
    from pyflare_cli.render.report.svg import ChartPool
    from pyflare_cli.report.context import ReportContext
    from pyflare_cli.report.model import Section


def check_target(target: Path | None, fmt: str, option: str = "--out") -> None:
    """Exit 2 when ``target``'s folder does not exist or ``target`` is a folder."""
    if target is None:
        return
    if target.is_dir():
        raise UsageError(f"{option} {target}: is a folder; name a .{fmt} file")
    if not target.parent.is_dir():
        raise UsageError(f"{option} {target}: folder {target.parent} does not exist")


def write_report(
    report: Report,
    fmt: str,
    target: Path | None,
    assets: Path | None,
    pool: ChartPool | None = None,
) -> int:
    """Write the report; the number of bytes written (charts from ``pool`` when given)."""
    if fmt == "markdown":
        from pyflare_cli.render.report.markdown import render_markdown

        text = render_markdown(report, assets, target, pool)
        if target is None:
            sys.stdout.write(text)
            return len(text.encode())
        return _write(target, text.encode())
    from pyflare_cli.render.report.html import render_html

    page = render_html(report, pool)
    if fmt == "pdf":
        from pyflare_cli.render.report.pdf import html_to_pdf

        assert target is not None
        return _write(target, html_to_pdf(page))
    assert target is not None
    return _write(target, page.encode())


def _write(target: Path, data: bytes, option: str = "--out") -> int:
    temp = target.with_name(f".{target.name}.tmp")
    try:
        temp.write_bytes(data)
        temp.replace(target)
    except OSError as exc:
        raise UsageError(f"{option} {target}: cannot write it ({exc.strerror or exc})") from None
    return len(data)


def write_section_html(ctx: ReportContext, section: Section, target: Path) -> None:
    """``--html FILE`` of cost, drift and rca: the command's section alone, as a page."""
    from pyflare_cli.render.report.html import render_html
    from pyflare_cli.report.build import section_report

    page = render_html(section_report(ctx, section, str(ctx.root)))
    _write(target, page.encode(), "--html")
