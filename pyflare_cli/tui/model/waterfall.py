"""The state of one trace's waterfall: which rows show, what matches, which time window.

Everything here is plain Python over the results of :mod:`pyflare_cli.analysis.traces.tree`
(tree, critical path, self times, breakdown) and :mod:`pyflare_cli.analysis.search.compile` (the
in-trace search uses the query language), so it is tested without a terminal and the
widget only draws. The per-span columns are the printed waterfall's
(:class:`~pyflare_cli.render.waterfall_geometry.TraceColumns`), so both draw the same data.
Operations are O(visible rows) or O(n) at worst, never O(n · depth), so a 10,000-span
trace stays interactive.
"""

from __future__ import annotations

import bisect
from datetime import datetime
from typing import Literal

import polars as pl

from pyflare_cli.analysis.search.compile import compile_query
from pyflare_cli.analysis.traces.tree import breakdown, self_times
from pyflare_cli.render.waterfall_geometry import TraceColumns

MIN_WINDOW_NS = 1_000
"""The narrowest time window zoom allows (1 µs)."""


class WaterfallModel(TraceColumns):
    """Tree, critical path and display state of one trace (spans sorted any way)."""

    def __init__(self, spans: pl.DataFrame) -> None:
        super().__init__(spans)
        self.window = (self.t0, self.t1)
        nodes = self.tree.nodes
        n = len(nodes)
        self.subtree_end = list(range(1, n + 1))
        for ni in range(n - 1, -1, -1):
            if nodes[ni].children:
                self.subtree_end[ni] = self.subtree_end[nodes[ni].children[-1]]
        self.errors_below = [0] * n
        for ni in range(n - 1, 0, -1):
            p = self.parent[ni]
            if p is not None:
                self.errors_below[p] += self.errors_below[ni] + int(self.error[self.rows[ni]])
        self.errors_off_path = sum(
            1 for r, bad in enumerate(self.error) if bad and r not in self.on_path
        )
        self.path_nodes = sorted(self.tree.node_of_row[r] for r in self.path.rows)

        self.collapsed: set[int] = set()
        self.critical_only = False
        self.query = ""
        self.matches: list[int] = []
        self.match_set: set[int] = set()
        self.version = 0
        self.visible: list[int] = []
        self._position: dict[int, int] | None = None
        self._by_span_id: dict[str, int] | None = None
        self._self_time: pl.Series | None = None
        self._refresh()

    # -- visible rows -------------------------------------------------------------------

    def _refresh(self) -> None:
        self.version += 1
        self._position = None
        if self.critical_only:
            self.visible = list(self.path_nodes)
            return
        out: list[int] = []
        ni, n, collapsed, skip = 0, len(self.rows), self.collapsed, self.subtree_end
        while ni < n:
            out.append(ni)
            ni = skip[ni] if ni in collapsed else ni + 1
        self.visible = out

    def position(self, ni: int) -> int | None:
        """Index of node ``ni`` among the visible rows, or None when hidden."""
        if self._position is None:
            self._position = {node: i for i, node in enumerate(self.visible)}
        return self._position.get(ni)

    def has_children(self, ni: int) -> bool:
        return self.subtree_end[ni] > ni + 1

    def hidden_below(self, ni: int) -> int:
        """How many descendants a collapsed node hides."""
        return self.subtree_end[ni] - ni - 1 if ni in self.collapsed else 0

    def toggle(self, ni: int) -> None:
        if ni in self.collapsed:
            self.expand(ni)
        else:
            self.collapse(ni)

    def collapse(self, ni: int) -> bool:
        """Fold node ``ni``; False when it has no children or is already folded."""
        if not self.has_children(ni) or ni in self.collapsed:
            return False
        self.collapsed.add(ni)
        self._refresh()
        return True

    def expand(self, ni: int) -> bool:
        if ni not in self.collapsed:
            return False
        self.collapsed.discard(ni)
        self._refresh()
        return True

    def set_level(self, depth: int, *, folded: bool) -> None:
        """Fold (or unfold) every node at ``depth`` that has children."""
        level = {ni for ni, d in enumerate(self.depth) if d == depth and self.has_children(ni)}
        self.collapsed = self.collapsed | level if folded else self.collapsed - level
        self._refresh()

    def set_all(self, *, folded: bool) -> None:
        """Fold every node (only roots stay visible) or unfold everything."""
        n = len(self.rows)
        self.collapsed = {ni for ni in range(n) if self.has_children(ni)} if folded else set()
        self._refresh()

    def reveal(self, ni: int) -> None:
        """Make node ``ni`` visible: unfold its ancestors, leave critical-only if needed."""
        changed = False
        p = self.parent[ni]
        while p is not None:
            if p in self.collapsed:
                self.collapsed.discard(p)
                changed = True
            p = self.parent[p]
        if self.critical_only and self.rows[ni] not in self.on_path:
            self.critical_only = False
            changed = True
        if changed:
            self._refresh()

    def set_critical_only(self, value: bool) -> None:
        self.critical_only = value
        self._refresh()

    def node_of_span(self, span_id: str) -> int | None:
        if self._by_span_id is None:
            self._by_span_id = {}
            for ni, node in enumerate(self.tree.nodes):
                self._by_span_id.setdefault(node.span_id, ni)
        return self._by_span_id.get(span_id)

    # -- search -------------------------------------------------------------------------

    def search(self, query: str, now: datetime) -> int:
        """Mark the spans matching ``query`` (the search language); the number of matches.

        Raises :class:`~pyflare_cli.errors.QuerySyntaxError` for a bad query.
        """
        text = query.strip()
        if not text:
            self.clear_search()
            return 0
        mask = self.spans.select(compile_query(text, now).alias("m")).to_series().to_list()
        node_of_row = self.tree.node_of_row
        self.matches = sorted(node_of_row[r] for r, hit in enumerate(mask) if hit)
        self.match_set = set(self.matches)
        self.query = text
        self.version += 1
        return len(self.matches)

    def clear_search(self) -> None:
        self.query = ""
        self.matches = []
        self.match_set = set()
        self.version += 1

    def next_match(self, after: int, direction: Literal[1, -1]) -> int | None:
        """The next (or previous) match after node ``after``, wrapping around."""
        if not self.matches:
            return None
        if direction > 0:
            i = bisect.bisect_right(self.matches, after)
            return self.matches[i % len(self.matches)]
        i = bisect.bisect_left(self.matches, after) - 1
        return self.matches[i % len(self.matches)]

    # -- time window --------------------------------------------------------------------

    @property
    def zoom_level(self) -> float:
        return (self.t1 - self.t0) / max(1, self.window[1] - self.window[0])

    def _set_window(self, start: float, width: float) -> None:
        total = self.t1 - self.t0
        width = min(max(width, MIN_WINDOW_NS), total)
        start = min(max(start, self.t0), self.t1 - width)
        self.window = (round(start), round(start + width))
        self.version += 1

    def zoom(self, factor: float, center: float | None = None) -> None:
        """Scale the window by ``factor`` (< 1 zooms in) keeping ``center`` in place."""
        v0, v1 = self.window
        c = (v0 + v1) / 2 if center is None else center
        self._set_window(c - (c - v0) * factor, (v1 - v0) * factor)

    def pan(self, fraction: float) -> None:
        """Move the window by ``fraction`` of its width (negative: earlier)."""
        v0, v1 = self.window
        self._set_window(v0 + (v1 - v0) * fraction, v1 - v0)

    def reset_zoom(self) -> None:
        self._set_window(self.t0, self.t1 - self.t0)

    def zoom_to(self, ni: int) -> None:
        """Fit the window to span ``ni`` with a little margin."""
        r = self.rows[ni]
        s, e = int(self.start[r]), int(self.end[r])
        margin = max((e - s) * 0.05, MIN_WINDOW_NS)
        self._set_window(s - margin, e - s + 2 * margin)

    # -- statistics ---------------------------------------------------------------------

    def self_time(self) -> pl.Series:
        """Self time per input row (computed once, on first use)."""
        if self._self_time is None:
            self._self_time = self_times(self.tree, self.spans)
        return self._self_time

    def breakdown(self, by: Literal["service", "operation"]) -> pl.DataFrame:
        return breakdown(self.spans, by, self_time=self.self_time())


def carry_state(old: WaterfallModel, new: WaterfallModel, now: datetime) -> None:
    """Give ``new`` (the same trace, reloaded with more spans) the display state of ``old``:
    the folded spans (by span id), the critical-path filter, the search and a zoom window
    (kept as it was; without a zoom the window grows with the trace)."""
    folded = {old.tree.nodes[ni].span_id for ni in old.collapsed}
    new.collapsed = {ni for ni, node in enumerate(new.tree.nodes) if node.span_id in folded}
    new.critical_only = old.critical_only
    if old.zoom_level > 1.001:
        new._set_window(old.window[0], old.window[1] - old.window[0])
    new._refresh()
    if old.query:
        new.search(old.query, now)
