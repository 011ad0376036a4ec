"""The report as plain data: sections of figures, tables and chart specs, and trace views.

Kept apart from the builders and the renderers so that a section built for ``pyflare
report`` and one built for ``pyflare cost --html`` are the same objects, and so that the
renderers (HTML, Markdown, PDF) never query the store. Every value is a string, a number
or a JSON-able dict: the renderers escape strings, they never format figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Tone = Literal["good", "bad", "neutral"]


@dataclass(frozen=True)
class TraceRef:
    """A trace id in a table: a link to its waterfall when the report holds it."""

    trace_id: str


Cell = str | TraceRef


@dataclass(frozen=True)
class Chart:
    """A Vega-Lite chart: its spec without data, and the data rows (also embedded as JSON)."""

    key: str
    title: str
    spec: dict[str, Any]
    rows: list[dict[str, Any]]
    sparkline: bool = False


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    numeric: frozenset[int] = frozenset()
    """Column positions holding figures (right-aligned)."""
    note: str = ""


@dataclass(frozen=True)
class Kpi:
    """One headline figure: its value, its change against the previous window, a trend."""

    label: str
    value: str
    change: str = ""
    tone: Tone = "neutral"
    trend: Chart | None = None


@dataclass(frozen=True)
class Section:
    """One part of the report; ``missing`` says why it has no data instead of vanishing."""

    key: str
    title: str
    lead: str = ""
    kpis: list[Kpi] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: str | None = None
    trace_ids: list[str] = field(default_factory=list)
    """Traces this section points at, most important first (candidates for waterfalls)."""


def section_charts(section: Section) -> list[Chart]:
    """A section's charts in page order: its headline trends, then its charts."""
    return [k.trend for k in section.kpis if k.trend is not None] + list(section.charts)


@dataclass(frozen=True)
class TraceView:
    """One trace drawn as a waterfall, the target of every link to it."""

    trace_id: str
    title: str
    facts: list[str]
    chart: Chart


@dataclass(frozen=True)
class Report:
    title: str
    window: str
    generated: str
    store: str
    where: str | None
    sections: list[Section]
    traces: list[TraceView] = field(default_factory=list)

    @property
    def charts(self) -> list[Chart]:
        """Every chart of the report, in page order."""
        found = [c for s in self.sections for c in section_charts(s)]
        return found + [t.chart for t in self.traces]


def anchor(trace_id: str) -> str:
    """The HTML id of a trace's section: ``trace-`` and the id's safe characters."""
    safe = "".join(c for c in trace_id if c.isascii() and (c.isalnum() or c in "-_"))
    return f"trace-{safe or 'x'}"
