"""Build the report: each asked-for section from its builder, then the waterfalls of the
traces the sections point at.

A section whose data is missing (a window without model calls, a store without alert
state, no evaluation results) is kept with the reason instead of vanishing; only an
empty window for the whole report is an error (exit 2), since there is nothing to report.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pyflare_cli.errors import PyflareError, UsageError
from pyflare_cli.report.context import ReportContext
from pyflare_cli.report.model import Chart, Report, Section, section_charts

SECTIONS: dict[str, tuple[str, str, str]] = {
    "overview": ("overview", "overview", "Overview"),
    "cost": ("cost", "cost", "Cost"),
    "latency": ("latency", "latency", "Latency"),
    "errors": ("latency", "errors", "Errors"),
    "drift": ("drift", "drift", "Drift"),
    "rca": ("rca", "rca", "Root causes"),
    "alerts": ("alerts", "alerts", "Alerts"),
    "eval": ("eval", "evaluations", "Evaluations"),
}
"""Section name -> (module under ``report``, builder function, title), in page order."""

RCA_SECTIONS = ("errors", "rca")
"""Sections built from one rca report (:func:`report.rca.rca_report`)."""

HEAVY = ("cost", "errors", "rca", "drift")
"""Sections that read and analyse whole windows (a few hundred MB each at a million
spans): built first, one after another, the memory of each given back before the next,
and only then the chart engine starts (``ready``), so that neither the leftovers of one
section nor vl-convert's engine (about 120 MB) stack on the peak of another."""

Progress = Callable[[str], None]


def parse_sections(text: str | None) -> list[str]:
    """``--sections a,b``: the names in page order; exit 2 naming an unknown one."""
    if text is None or not text.strip():
        return list(SECTIONS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise UsageError(f"--sections {unknown[0]!r}: use {', '.join(SECTIONS)}")
    return [n for n in SECTIONS if n in names]


def build_section(ctx: ReportContext, name: str) -> Section:
    """One section; its data missing (a :class:`PyflareError`) becomes its ``missing`` text."""
    module, function, title = SECTIONS[name]
    builder = getattr(importlib.import_module(f"pyflare_cli.report.{module}"), function)
    try:
        section: Section = builder(ctx)
    except PyflareError as exc:
        return Section(name, title, missing=exc.message)
    return section


def build_report(
    ctx: ReportContext,
    names: list[str],
    store_label: str,
    generated: datetime,
    progress: Progress = lambda _: None,
    built: Callable[[list[Chart]], None] = lambda _: None,
    ready: Callable[[], None] = lambda: None,
    *,
    serial: bool = True,
) -> Report:
    """Every section of ``names``, then the waterfalls of the traces they name; ``built``
    is handed each section's charts as soon as they exist, ``ready`` is called once the
    heavy sections are built and their memory released (to render the charts while the
    light sections are built). The page order is ``names``' whatever the build order.
    ``serial=False``: rca's analysis in a background thread while the other sections
    are built (``--parallel``): sooner with a free core, a higher peak of memory."""
    from pyflare_cli.memory import release
    from pyflare_cli.report.traces import trace_views

    _check_window(ctx)
    heavy = [n for n in names if n in HEAVY] if serial else []
    with ThreadPoolExecutor(1, thread_name_prefix="rca") as background:
        built_sections = {}
        order = heavy + [n for n in names if n not in heavy]
        for name in order if serial else _order(ctx, names, background):
            if name not in heavy:
                ready()
            progress(f"building {name}")
            built_sections[name] = build_section(ctx, name)
            built(section_charts(built_sections[name]))
            if name in heavy:
                _forget_rca(ctx, names, built_sections)
                release()
    ready()
    sections = [built_sections[name] for name in names]
    ids = [i for s in sections for i in s.trace_ids]
    progress(f"drawing {min(len(set(ids)), ctx.waterfalls)} trace waterfall(s)")
    traces = trace_views(ctx, _interleaved(sections, ctx.waterfalls))
    built([t.chart for t in traces])
    return Report(
        "pyflare report",
        ctx.window.label(),
        generated.isoformat(timespec="seconds"),
        store_label,
        ctx.where,
        sections,
        traces,
    )


def _order(ctx: ReportContext, names: list[str], background: ThreadPoolExecutor) -> list[str]:
    """The order to build ``names`` in: with errors or rca beside other sections, rca's
    analysis (the longest part) starts in ``background`` now and its sections are built
    last, so it runs while the others read the store (Polars releases the GIL). It only
    helps with a core to spare; both sections' frames are alive at once."""
    from pyflare_cli.report.rca import compute_rca

    uses_rca = [n for n in names if n in RCA_SECTIONS]
    if not uses_rca or len(uses_rca) == len(names):
        return names
    ctx.memo["rca_pending"] = background.submit(compute_rca, ctx)
    return [n for n in names if n not in RCA_SECTIONS] + uses_rca


def _forget_rca(ctx: ReportContext, names: list[str], built: dict[str, Section]) -> None:
    """Drop the shared rca report (its frames) once every section of ``names`` built from
    it is built."""
    if all(n in built for n in RCA_SECTIONS if n in names):
        ctx.memo.pop("rca", None)


def _interleaved(sections: list[Section], limit: int) -> list[str]:
    """Trace ids taking each section's first, then each one's second...: every section
    that points at traces gets its most important ones drawn."""
    lists = [s.trace_ids for s in sections if s.trace_ids]
    found: list[str] = []
    for depth in range(max((len(x) for x in lists), default=0)):
        for ids in lists:
            if depth < len(ids) and ids[depth] not in found:
                found.append(ids[depth])
    return found[:limit]


def _check_window(ctx: ReportContext) -> None:
    """Exit 2 when the window holds no span (matching ``--where``)."""
    from pyflare_cli.query.spans import SpanQuery, load_spans

    query = SpanQuery(*ctx.window.query_bounds, ctx.where)
    spans = load_spans(ctx.root, query, ctx.now).select("trace_id").head(1).collect()
    if spans.height == 0:
        where = f" matching --where {ctx.where!r}" if ctx.where else ""
        raise UsageError(f"no spans{where} in {ctx.window.label()}: nothing to report")


def section_report(ctx: ReportContext, section: Section, store_label: str) -> Report:
    """A report of one section and the waterfalls of its traces (``cost/drift/rca --html``)."""
    from pyflare_cli.report.traces import trace_views

    traces = trace_views(ctx, section.trace_ids) if not section.missing else []
    title = f"pyflare {section.key}"
    generated = ctx.now.isoformat(timespec="seconds")
    return Report(title, ctx.window.label(), generated, store_label, ctx.where, [section], traces)
