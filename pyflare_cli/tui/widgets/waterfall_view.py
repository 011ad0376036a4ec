"""The waterfall widget: a Line API scroll view that draws only the rows on screen.

A 10,000-span trace is 10,000 virtual lines, but only the ~50 visible ones are ever drawn
(:meth:`render_line`), each from a small cache keyed by the model's version, so opening,
scrolling, folding and zooming cost the same whatever the size of the trace. The two ruler
lines stay at the top while the rows scroll under them. The widget owns the keys that move
the cursor, fold, zoom and pan; the screen around it handles search, detail and statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pyflare_cli.render.waterfall_geometry import MARK_WIDTH
from pyflare_cli.tui.model.waterfall import WaterfallModel
from pyflare_cli.tui.widgets.waterfall_rows import HEADER_LINES, RowPainter

_CACHE_SIZE = 512


class WaterfallView(ScrollView, can_focus=True):
    """Rows of a :class:`WaterfallModel`, a cursor, and the keys to explore them."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"waterfall--cursor", "waterfall--ruler"}

    DEFAULT_CSS = """
    WaterfallView { overflow-x: hidden; }
    WaterfallView > .waterfall--cursor {
        color: $block-cursor-foreground;
        background: $block-cursor-background;
    }
    WaterfallView:blur > .waterfall--cursor {
        color: $block-cursor-blurred-foreground;
        background: $block-cursor-blurred-background;
    }
    WaterfallView > .waterfall--ruler { background: $panel; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home,g", "jump('first')", "First span", show=False),
        Binding("end,G", "jump('last')", "Last span", show=False),
        Binding("enter", "activate", "Detail"),
        Binding("space", "fold", "Fold"),
        Binding("left,h", "collapse", "Fold / parent", show=False),
        Binding("right,l", "expand", "Unfold", show=False),
        Binding("left_square_bracket", "level(True)", "Fold level", show=False),
        Binding("right_square_bracket", "level(False)", "Unfold level", show=False),
        Binding("C", "fold_all(True)", "Fold all", show=False),
        Binding("E", "fold_all(False)", "Unfold all", show=False),
        Binding("p", "critical_only", "Path only"),
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in", key_display="+", show=False),
        Binding("minus", "zoom(2.0)", "Zoom out", key_display="-", show=False),
        Binding("0", "reset_zoom", "Reset zoom", show=False),
        Binding("z", "zoom_span", "Zoom to span", show=False),
        Binding("comma,less_than_sign", "pan(-0.25)", "Pan left", show=False),
        Binding("full_stop,greater_than_sign", "pan(0.25)", "Pan right", show=False),
        Binding("n", "match(1)", "Next match", show=False),
        Binding("N", "match(-1)", "Previous match", show=False),
    ]

    class CursorMoved(Message):
        """The cursor is on node ``node`` (an index into the model's tree nodes)."""

        def __init__(self, node: int) -> None:
            super().__init__()
            self.node = node

    class Activated(Message):
        """Enter or a double click on node ``node``: open its detail."""

        def __init__(self, node: int) -> None:
            super().__init__()
            self.node = node

    class Changed(Message):
        """Folding, zoom or the critical-path filter changed (the status line redraws)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model: WaterfallModel | None = None
        self.painter: RowPainter | None = None
        self.cursor = 0
        self._cache: dict[tuple[int, int, int], list[Segment]] = {}

    # -- data ---------------------------------------------------------------------------

    def set_model(
        self,
        model: WaterfallModel,
        node: int | None = None,
        colour: Callable[[str | None], str] | None = None,
    ) -> None:
        """Show ``model`` with the cursor on ``node``; ``colour`` maps services to colours."""
        self.model = model
        self.painter = RowPainter(model, colour) if colour else RowPainter(model)
        self._cache.clear()
        self.cursor = 0
        self._sync()
        if node is not None:
            self.select_node(node)
        else:
            self._moved()

    @property
    def node(self) -> int | None:
        """The node under the cursor."""
        m = self.model
        if m is None or not m.visible:
            return None
        return m.visible[min(self.cursor, len(m.visible) - 1)]

    def select_node(self, ni: int) -> None:
        """Put the cursor on node ``ni``, unfolding what hides it."""
        m = self.model
        if m is None:
            return
        m.reveal(ni)
        self._sync()
        self.cursor = m.position(ni) or 0
        self._moved()

    def _sync(self) -> None:
        """After a change of the visible rows: sizes, cursor bounds, redraw."""
        m = self.model
        rows = len(m.visible) if m else 0
        self.cursor = max(0, min(self.cursor, rows - 1))
        self.virtual_size = Size(self.size.width, rows + HEADER_LINES)
        if len(self._cache) > _CACHE_SIZE:
            self._cache.clear()
        self.refresh()

    def _moved(self) -> None:
        body = max(1, self.size.height - HEADER_LINES)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False, force=True)
        self.refresh()
        node = self.node
        if node is not None:
            self.post_message(self.CursorMoved(node))

    def _changed(self, keep: int | None = None) -> None:
        """Re-anchor the cursor on node ``keep`` after the visible rows changed."""
        m = self.model
        if m is not None and keep is not None:
            position = m.position(keep)
            if position is None:
                p = m.parent[keep]
                while p is not None and m.position(p) is None:
                    p = m.parent[p]
                position = m.position(p) if p is not None else 0
            self.cursor = position or 0
        self._sync()
        self._moved()
        self.post_message(self.Changed())

    # -- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        m, painter = self.model, self.painter
        if m is None or painter is None or width <= 0:
            return Strip.blank(width, base)
        if y < HEADER_LINES:
            ruler = base + self.get_component_rich_style("waterfall--ruler")
            return Strip(painter.ruler(width)[y], width).apply_style(ruler)
        index = round(self.scroll_y) + y - HEADER_LINES
        if index >= len(m.visible):
            return Strip.blank(width, base)
        ni = m.visible[index]
        key = (ni, width, m.version)
        segments = self._cache.get(key)
        if segments is None:
            segments = painter.row(ni, width)
            self._cache[key] = segments
        if m.query and ni not in m.match_set:
            segments = list(Segment.apply_style(segments, post_style=Style(dim=True)))
        style = base
        if index == self.cursor:
            cursor = self.get_component_rich_style("waterfall--cursor")
            style = base + Style(color=cursor.color, bgcolor=cursor.bgcolor)
        return Strip(segments, width).apply_style(style)

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self._sync()

    # -- mouse --------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        m = self.model
        if m is None or event.y < HEADER_LINES:
            return
        index = round(self.scroll_y) + event.y - HEADER_LINES
        if index >= len(m.visible):
            return
        self.cursor = index
        ni = m.visible[index]
        self._moved()
        if event.chain >= 2:
            self.post_message(self.Activated(ni))
        elif m.has_children(ni) and MARK_WIDTH <= event.x < MARK_WIDTH + 2 * m.depth[ni] + 2:
            m.toggle(ni)
            self._changed(ni)

    # -- actions ------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        if self.model is None:
            return
        self.cursor = max(0, min(self.cursor + delta, len(self.model.visible) - 1))
        self._moved()

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - HEADER_LINES - 1))

    def action_jump(self, where: Literal["first", "last"]) -> None:
        if self.model is None:
            return
        self.cursor = 0 if where == "first" else len(self.model.visible) - 1
        self._moved()

    def action_activate(self) -> None:
        node = self.node
        if node is not None:
            self.post_message(self.Activated(node))

    def action_fold(self) -> None:
        node = self.node
        if self.model is not None and node is not None:
            self.model.toggle(node)
            self._changed(node)

    def action_collapse(self) -> None:
        node, m = self.node, self.model
        if m is None or node is None:
            return
        if not m.collapse(node):
            parent = m.parent[node]
            if parent is not None and m.position(parent) is not None:
                self.cursor = m.position(parent) or 0
                self._moved()
            return
        self._changed(node)

    def action_expand(self) -> None:
        node, m = self.node, self.model
        if m is not None and node is not None and m.expand(node):
            self._changed(node)

    def action_level(self, folded: bool) -> None:
        node, m = self.node, self.model
        if m is not None and node is not None:
            m.set_level(m.depth[node], folded=folded)
            self._changed(node)

    def action_fold_all(self, folded: bool) -> None:
        node, m = self.node, self.model
        if m is not None and node is not None:
            m.set_all(folded=folded)
            self._changed(node)

    def action_critical_only(self) -> None:
        node, m = self.node, self.model
        if m is not None:
            m.set_critical_only(not m.critical_only)
            self._changed(node)

    def action_zoom(self, factor: float) -> None:
        node, m = self.node, self.model
        if m is None:
            return
        center = None
        if node is not None:
            r = m.rows[node]
            mid = (int(m.start[r]) + int(m.end[r])) / 2
            center = mid if m.window[0] <= mid <= m.window[1] else None
        m.zoom(factor, center)
        self._changed()

    def action_reset_zoom(self) -> None:
        if self.model is not None:
            self.model.reset_zoom()
            self._changed()

    def action_zoom_span(self) -> None:
        node = self.node
        if self.model is not None and node is not None:
            self.model.zoom_to(node)
            self._changed()

    def action_pan(self, fraction: float) -> None:
        if self.model is not None:
            self.model.pan(fraction)
            self._changed()

    def action_match(self, direction: Literal[1, -1]) -> None:
        node, m = self.node, self.model
        if m is None or node is None:
            return
        target = m.next_match(node, direction)
        if target is not None:
            self.select_node(target)
