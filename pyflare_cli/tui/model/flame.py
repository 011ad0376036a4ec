"""A trace as a flame graph (an icicle: the root on top) of self time.

Built on the waterfall's tree and self times (:mod:`pyflare_cli.analysis.traces.tree`,
through :class:`~pyflare_cli.tui.model.waterfall.WaterfallModel`), so both views tell the
same story. Siblings with the same service and span name merge into one frame, as in a
profiler's flame graph: forty ``SELECT orders`` calls under one parent are one frame forty
calls wide. A frame's width is the self time of its whole subtree, so children always fit
under their parent, parallel children do not overflow it, and the part of a frame no child
covers is exactly its own self time. The root frames add up to the trace's self time.

Frames are laid out left to right in the order their first span started; each frame knows
its tree nodes, so the cursor moves between the flame graph and the waterfall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyflare_cli.tui.model.waterfall import WaterfallModel


@dataclass
class Frame:
    """One box of the flame graph: spans with the same (service, name) under one parent."""

    depth: int
    x: int
    """Left edge, in nanoseconds of self time from the left of the graph."""
    width: int
    """The self time of the subtree of every span in the frame (ns)."""
    service: str | None
    name: str | None
    nodes: list[int]
    """Tree nodes (indices into the model's nodes) merged in this frame."""
    self_ns: int
    errors: int
    on_path: bool
    """Some span of the frame is on the critical path."""
    parent: int | None = None
    children: list[int] = field(default_factory=list)


class FlameGraph:
    """The frames of a trace, by depth, with the node -> frame map."""

    def __init__(self, model: WaterfallModel) -> None:
        self.model = model
        n = len(model.rows)
        self_time = [int(v) for v in model.self_time().to_list()]
        own = [self_time[model.rows[ni]] for ni in range(n)]
        subtree = list(own)
        for ni in range(n - 1, -1, -1):  # nodes are in depth-first order
            p = model.parent[ni]
            if p is not None:
                subtree[p] += subtree[ni]
        self.frames: list[Frame] = []
        self.frame_of_node = [0] * n
        roots = [ni for ni in range(n) if model.parent[ni] is None]
        pending: list[tuple[list[int], int | None, int, int]] = [(roots, None, 0, 0)]
        while pending:
            nodes, parent, depth, x = pending.pop()
            groups: dict[tuple[str | None, str | None], list[int]] = {}
            for ni in sorted(nodes, key=lambda ni: (int(model.start[model.rows[ni]]), ni)):
                r = model.rows[ni]
                groups.setdefault((model.service[r], model.name[r]), []).append(ni)
            for (service, name), members in groups.items():
                index = len(self.frames)
                rows = [model.rows[ni] for ni in members]
                frame = Frame(
                    depth=depth,
                    x=x,
                    width=sum(subtree[ni] for ni in members),
                    service=service,
                    name=name,
                    nodes=members,
                    self_ns=sum(own[ni] for ni in members),
                    errors=sum(1 for r in rows if model.error[r]),
                    on_path=any(r in model.on_path for r in rows),
                    parent=parent,
                )
                self.frames.append(frame)
                if parent is not None:
                    self.frames[parent].children.append(index)
                for ni in members:
                    self.frame_of_node[ni] = index
                kids = [c for ni in members for c in model.tree.nodes[ni].children]
                if kids:
                    pending.append((kids, index, depth + 1, x))
                x += frame.width
        self.total = sum(f.width for f in self.frames if f.parent is None)
        self.depth = 1 + max((f.depth for f in self.frames), default=-1)
        self.by_depth: list[list[int]] = [[] for _ in range(self.depth)]
        for index, frame in enumerate(self.frames):
            self.by_depth[frame.depth].append(index)
        for level in self.by_depth:
            level.sort(key=lambda i: self.frames[i].x)

    def __len__(self) -> int:
        return len(self.frames)

    def neighbour(self, index: int, step: int) -> int:
        """The frame left (-1) or right (+1) of ``index`` at its depth (itself at the end)."""
        level = self.by_depth[self.frames[index].depth]
        at = level.index(index) + step
        return level[at] if 0 <= at < len(level) else index

    def matching(self) -> list[int]:
        """The frames holding a span that the waterfall's search matched (the same
        search: ``/`` in either view), top to bottom, left to right; empty without one."""
        found = {self.frame_of_node[ni] for ni in self.model.match_set}
        return sorted(found, key=lambda i: (self.frames[i].depth, self.frames[i].x))

    def next_matching(self, index: int, step: int) -> int | None:
        """The matching frame after (``step`` 1) or before (-1) ``index``, wrapping."""
        found = self.matching()
        if not found:
            return None
        key = (self.frames[index].depth, self.frames[index].x)
        keys = [(self.frames[i].depth, self.frames[i].x) for i in found]
        if step > 0:
            later = [i for i, k in zip(found, keys, strict=True) if k > key]
            return later[0] if later else found[0]
        earlier = [i for i, k in zip(found, keys, strict=True) if k < key]
        return earlier[-1] if earlier else found[-1]

    def heaviest_child(self, index: int) -> int | None:
        kids = self.frames[index].children
        return max(kids, key=lambda c: (self.frames[c].width, -c)) if kids else None

    def heaviest_node(self, index: int) -> int:
        """The frame's span with the most subtree time: what the detail opens."""
        m = self.model
        frame = self.frames[index]
        return max(frame.nodes, key=lambda ni: (int(m.end[m.rows[ni]] - m.start[m.rows[ni]]), -ni))


@dataclass(frozen=True)
class Cell:
    """A run of cells of one flame graph line: a frame's box (``frame``), or, where frames
    too narrow to draw lie, an "other" mark of how many there are and how many failed."""

    start: int
    end: int
    frame: int | None
    hidden: int = 0
    errors: int = 0


def line_cells(
    graph: FlameGraph, depth: int, window: tuple[int, int], width: int, cursor: int = -1
) -> list[Cell]:
    """The boxes of ``depth`` in ``width`` cells showing ``window`` (ns of self time).

    A frame narrower than a cell (or hidden under the frame before it) is not lost: the
    frames of a cell that no box covers are one "other" cell, counted. The ``cursor``'s
    frame gets a cell even when narrower, so the cursor is always seen.
    """
    x0, x1 = window
    scale = width / max(1, x1 - x0)
    boxes: list[Cell] = []
    hidden: dict[int, list[int]] = {}
    at = 0
    for index in graph.by_depth[depth]:
        f = graph.frames[index]
        if f.x + f.width <= x0 or f.x >= x1:
            continue
        start = max(0, int((f.x - x0) * scale))
        end = min(width, int((f.x + f.width - x0) * scale))
        if index == cursor and end <= max(start, at):
            start, end = min(max(start, at), width - 1), min(max(start, at), width - 1) + 1
        if end - start < 1 or end <= at:
            hidden.setdefault(min(start, width - 1), []).append(index)
            continue
        start = max(start, at)
        boxes.append(Cell(start, end, index))
        at = end
    covered = {c for box in boxes for c in range(box.start, box.end)}
    others = [
        Cell(c, c + 1, None, len(frames), sum(1 for i in frames if graph.frames[i].errors))
        for c, frames in hidden.items()
        if c not in covered and 0 <= c < width
    ]
    return sorted([*boxes, *others], key=lambda cell: cell.start)
