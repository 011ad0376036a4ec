"""The flame graph widget: one line per depth, frames as coloured boxes, a frame cursor.

It draws a :class:`~pyflare_cli.tui.model.flame.FlameGraph` (headless) at the width it
has: a frame covers the cells of its share of the shown window of self time, named inside
when it is wide enough; a frame narrower than a cell is not drawn (its parent's box shows
its time). Colours are the waterfall's service colours; frames with an error span are red,
the critical path's frames are marked ``◆``. The widget owns the keys that move between
frames and zoom; the screen opens details and goes back to the waterfall.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pyflare_cli.render.units import format_duration
from pyflare_cli.render.waterfall import ERROR, service_colour
from pyflare_cli.render.waterfall_geometry import clean
from pyflare_cli.tui.model.flame import FlameGraph, line_cells


class FlameView(ScrollView, can_focus=True):
    """Frames of a :class:`FlameGraph`, the root on top, with a cursor on one frame."""

    DEFAULT_CSS = """
    FlameView { overflow-x: hidden; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "step(-1)", "Frame left", show=False),
        Binding("right,l", "step(1)", "Frame right", show=False),
        Binding("up,k", "parent", "Parent frame", show=False),
        Binding("down,j", "child", "Heaviest child", show=False),
        Binding("enter", "activate", "Detail"),
        Binding("z", "zoom", "Zoom to frame"),
        Binding("0", "reset_zoom", "Reset zoom", show=False),
        Binding("n", "next_match(1)", "Next match", show=False),
        Binding("N", "next_match(-1)", "Previous match", show=False),
    ]

    class Moved(Message):
        """The cursor is on frame ``frame``."""

        def __init__(self, frame: int) -> None:
            super().__init__()
            self.frame = frame

    class Activated(Message):
        """Enter on a frame: open the detail of tree node ``node`` (its heaviest span)."""

        def __init__(self, node: int) -> None:
            super().__init__()
            self.node = node

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.graph: FlameGraph | None = None
        self.colour: Callable[[str | None], str] = service_colour
        self.cursor = 0
        self.window = (0, 1)
        """The shown span of self time [start, end) in ns; a zoom narrows it to a frame."""
        self._found: set[int] | None = None
        """The frames matching the search being drawn (None: no search)."""

    def set_graph(
        self, graph: FlameGraph, frame: int = 0, colour: Callable[[str | None], str] | None = None
    ) -> None:
        self.graph = graph
        if colour is not None:
            self.colour = colour
        self.window = (0, max(1, graph.total))
        self.virtual_size = Size(self.size.width, graph.depth)
        self.select(frame)

    def select(self, frame: int) -> None:
        g = self.graph
        if g is None or not len(g):
            return
        self.cursor = max(0, min(frame, len(g) - 1))
        f = g.frames[self.cursor]
        x0, x1 = self.window
        if f.x + f.width <= x0 or f.x >= x1:  # outside a zoom: show everything again
            self.window = (0, max(1, g.total))
        depth = f.depth
        top = round(self.scroll_y)
        if depth < top:
            self.scroll_to(y=depth, animate=False, force=True)
        elif depth >= top + self.size.height:
            self.scroll_to(y=depth - self.size.height + 1, animate=False, force=True)
        self.refresh()
        self.post_message(self.Moved(self.cursor))

    # -- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        g = self.graph
        depth = round(self.scroll_y) + y
        if g is None or width <= 0 or depth >= g.depth:
            return Strip.blank(width, base)
        segments: list[Segment] = []
        at = 0
        self._found = set(g.matching()) if g.model.query else None
        for cell in line_cells(g, depth, self.window, width, self.cursor):
            if cell.start > at:
                segments.append(Segment(" " * (cell.start - at), base))
            if cell.frame is None:
                colour = "red" if cell.errors else "bright_black"
                segments.append(Segment("▒", Style(color=colour, bgcolor=base.bgcolor)))
            else:
                segments.append(self._box(cell.frame, cell.end - cell.start))
            at = cell.end
        if at < width:
            segments.append(Segment(" " * (width - at), base))
        return Strip(segments, width)

    def _box(self, index: int, cells: int) -> Segment:
        g = self.graph
        assert g is not None
        f = g.frames[index]
        label = ("◆" if f.on_path else " ") + clean(f.name or "?")
        if len(f.nodes) > 1:
            label += f" x{len(f.nodes)}"
        text = label[: max(0, cells - 1)] + ("…" if len(label) > cells - 1 and cells > 2 else "")
        text = text[:cells].ljust(cells)
        background = "red" if f.errors else self.colour(f.service)
        style = Style(color="black", bgcolor=background, bold=bool(f.errors))
        if self._found is not None:  # a search: matching frames stand out, the rest dim
            found = index in self._found
            style = style + Style(bold=True) if found else Style(color="grey50", bgcolor="grey19")
        if index == self.cursor:
            style += Style(reverse=self.has_focus, underline=True, bold=True)
        return Segment(text, style)

    def on_resize(self) -> None:
        if self.graph is not None:
            self.virtual_size = Size(self.size.width, self.graph.depth)
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- actions ------------------------------------------------------------------------

    def action_step(self, step: int) -> None:
        if self.graph is not None:
            self.select(self.graph.neighbour(self.cursor, step))

    def action_parent(self) -> None:
        if self.graph is not None:
            parent = self.graph.frames[self.cursor].parent
            if parent is not None:
                self.select(parent)

    def action_child(self) -> None:
        if self.graph is not None:
            child = self.graph.heaviest_child(self.cursor)
            if child is not None:
                self.select(child)

    def action_activate(self) -> None:
        if self.graph is not None:
            self.post_message(self.Activated(self.graph.heaviest_node(self.cursor)))

    def action_zoom(self) -> None:
        if self.graph is not None:
            f = self.graph.frames[self.cursor]
            self.window = (f.x, f.x + max(1, f.width))
            self.refresh()

    def action_next_match(self, step: int) -> None:
        if self.graph is not None:
            target = self.graph.next_matching(self.cursor, step)
            if target is not None:
                self.select(target)

    def action_reset_zoom(self) -> None:
        if self.graph is not None:
            self.window = (0, max(1, self.graph.total))
            self.refresh()


def flame_legend() -> Text:
    """What the flame graph's boxes mean."""
    text = Text(
        "width: self time of the frame and everything under it  ◆ critical path  "
        "xN like-named sibling spans merged  red: an error span  "
        "▒ frames narrower than a cell (red: one failed)  / find, n N matches  "
        "← → frames  ↑ ↓ parent / heaviest child  z zoom  0 reset",
        style="dim",
    )
    return text


def flame_status(graph: FlameGraph, index: int) -> Text:
    """``service: name · 3 spans · self 120ms · with children 450ms (37%) · …``."""
    f = graph.frames[index]
    text = Text(f"{f.service or '?'}: {f.name or '?'}", style="bold")
    share = f.width / graph.total if graph.total else 0.0
    parts = [
        f"{len(f.nodes):,} span" + ("" if len(f.nodes) == 1 else "s"),
        f"self {format_duration(f.self_ns)}",
        f"with children {format_duration(f.width)} ({share:.0%} of the trace's self time)",
        f"depth {f.depth}",
    ]
    if f.on_path:
        parts.append("◆ critical path")
    text.append(" · " + " · ".join(parts))
    if f.errors:
        text.append(f" · ✖ {f.errors} error(s)", style=ERROR)
    return text
