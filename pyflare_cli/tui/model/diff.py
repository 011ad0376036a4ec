"""Two traces aligned span by span: what is only in one, much slower in one, or different.

Spans are matched by their path in the tree: the (service, name) of every ancestor and of
the span, plus its rank among siblings with the same (service, name); so the third
``retrieve`` under ``agent`` in one trace meets the third one in the other. The walk builds
on :func:`~pyflare_cli.analysis.traces.tree.build_tree` and ``span_intervals``; it is pure
(no I/O, no Textual) and could move to ``analysis`` when a command needs it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import polars as pl

from pyflare_cli.analysis.traces.tree import build_tree, span_intervals

SLOWER_RATIO = 1.5
"""A matched span is "much slower" in one trace when it takes this many times as long..."""
SLOWER_MIN_NS = 1_000_000
"""...and at least this much longer (1 ms), so tiny spans do not flag noise."""
COMPARED_COLUMNS = ("status_code", "model", "error_type")
"""Canonical columns compared besides the attributes."""

Key = tuple[tuple[str, str, int], ...]
Kind = Literal["only_a", "only_b", "slower_a", "slower_b", "same"]


@dataclass(frozen=True)
class Side:
    """One span of one trace: its row, start offset from the trace start and duration."""

    row: int
    span_id: str
    offset_ns: int
    duration_ns: int
    error: bool


@dataclass(frozen=True)
class DiffRow:
    depth: int
    service: str
    name: str
    a: Side | None
    b: Side | None
    changes: tuple[tuple[str, str | None, str | None], ...]
    """(attribute or column, value in A, value in B) for every value that differs."""

    @property
    def kind(self) -> Kind:
        if self.b is None:
            return "only_a"
        if self.a is None:
            return "only_b"
        a, b = self.a.duration_ns, self.b.duration_ns
        if b - a >= SLOWER_MIN_NS and b >= a * SLOWER_RATIO:
            return "slower_b"
        if a - b >= SLOWER_MIN_NS and a >= b * SLOWER_RATIO:
            return "slower_a"
        return "same"

    @property
    def ratio(self) -> float | None:
        """B's duration over A's, when both exist and A is not zero."""
        if self.a is None or self.b is None or self.a.duration_ns == 0:
            return None
        return self.b.duration_ns / self.a.duration_ns


@dataclass(frozen=True)
class TraceDiff:
    rows: tuple[DiffRow, ...]
    a_total_ns: int
    b_total_ns: int

    def count(self, kind: Kind) -> int:
        return sum(1 for row in self.rows if row.kind == kind)

    @property
    def changed(self) -> int:
        """Matched spans with at least one differing value."""
        return sum(1 for row in self.rows if row.a and row.b and row.changes)


@dataclass
class _Keyed:
    sides: dict[Key, Side]
    children: dict[Key, list[Key]]
    names: dict[Key, tuple[str, str]]
    values: dict[Key, dict[str, str | None]]


def _keyed(spans: pl.DataFrame) -> _Keyed:
    tree = build_tree(spans)
    start, end = span_intervals(spans)
    t0 = int(start.min()) if spans.height else 0
    services = spans["service_name"].to_list() if "service_name" in spans.columns else []
    names = spans["name"].to_list() if "name" in spans.columns else []
    attributes = spans["attributes"].to_list() if "attributes" in spans.columns else []
    span_ids = spans["span_id"].to_list() if "span_id" in spans.columns else []
    columns = {c: spans[c].to_list() for c in COMPARED_COLUMNS if c in spans.columns}
    out = _Keyed({}, {(): []}, {}, {})
    keys: list[Key] = []
    seen: Counter[tuple[Key, str, str]] = Counter()
    for node in tree.nodes:
        r = node.row
        service = str(services[r]) if services and services[r] is not None else "?"
        name = str(names[r]) if names and names[r] is not None else "?"
        parent: Key = () if node.parent is None else keys[node.parent]
        rank = seen[(parent, service, name)]
        seen[(parent, service, name)] += 1
        key = (*parent, (service, name, rank))
        keys.append(key)
        status = columns.get("status_code", [None] * spans.height)[r]
        error = isinstance(status, str) and status.lower() == "error"
        span_id = str(span_ids[r]) if span_ids else ""
        out.sides[key] = Side(r, span_id, int(start[r]) - t0, int(end[r] - start[r]), error)
        out.children.setdefault(parent, []).append(key)
        out.names[key] = (service, name)
        values: dict[str, str | None] = dict(attributes[r] or {}) if attributes else {}
        for column, column_values in columns.items():
            value = column_values[r]
            values[column] = None if value is None else str(value)
        out.values[key] = values
    return out


def _changes(
    a: dict[str, str | None], b: dict[str, str | None]
) -> list[tuple[str, str | None, str | None]]:
    return [(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def _total(spans: pl.DataFrame) -> int:
    if spans.height == 0:
        return 0
    start, end = span_intervals(spans)
    return int(end.max() - start.min())


def compare_traces(a: pl.DataFrame, b: pl.DataFrame) -> TraceDiff:
    """Align the spans of traces ``a`` and ``b`` (A's order, B-only spans after A's)."""
    ka, kb = _keyed(a), _keyed(b)
    rows: list[DiffRow] = []
    stack: list[tuple[Key, int]] = [((), -1)]
    while stack:
        key, depth = stack.pop()
        if key:
            side_a, side_b = ka.sides.get(key), kb.sides.get(key)
            service, name = (ka.names if side_a else kb.names)[key]
            changes = tuple(_changes(ka.values[key], kb.values[key])) if side_a and side_b else ()
            rows.append(DiffRow(depth, service, name, side_a, side_b, changes))
        in_a = ka.children.get(key, [])
        known = set(in_a)
        children = in_a + [k for k in kb.children.get(key, []) if k not in known]
        stack.extend((child, depth + 1) for child in reversed(children))
    return TraceDiff(tuple(rows), _total(a), _total(b))
