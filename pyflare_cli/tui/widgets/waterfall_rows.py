"""One waterfall line at a time: the ruler and a span's row as Rich segments.

The TUI draws only the rows on screen, so drawing is per row and cheap. It follows the look
of ``pyflare trace show`` (:mod:`pyflare_cli.render.waterfall`: same glyphs, units and
palette) and adds what an interactive view needs: a movable time window (zoom and
pan), fold marks with hidden-span and hidden-error counts, and arrows for spans outside
the window so that errors stay visible whatever the zoom. Labels are denser than the
printed waterfall's: a service name shows only where it changes from the parent (the bar
colour still tells), and a model only when the span name does not already say it. The
ruler, the marks, the bars and the fitting of labels are the printed waterfall's own
functions; only the label and the layout's proportions are the TUI's.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from rich.segment import Segment
from rich.text import Text

from pyflare_cli.render.waterfall import (
    ERROR,
    LEGEND,
    Run,
    fit,
    row_runs,
    ruler,
    segments,
    service_colour,
    tokens_text,
)
from pyflare_cli.render.waterfall_geometry import Layout, clean
from pyflare_cli.render.waterfall_geometry import layout as _layout
from pyflare_cli.tui.colours import MODEL
from pyflare_cli.tui.model.waterfall import WaterfallModel

HEADER_LINES = 2
LABEL_SHARE = Fraction(1, 2)
"""Labels take half of the free width (the printed waterfall's, 2/5)."""
TICK_SPACING = 10
"""About one ruler tick every 10 cells (the printed waterfall's, 12)."""
FOLDED, UNFOLDED = "▸", "▾"


TUI_LEGEND = "◂ ▸ outside the zoom  ▾ ▸ fold  +N folded spans (✖N failed)"


def legend(model: WaterfallModel) -> Text:
    """The marks this trace's waterfall uses, as the printed waterfall's legend says them,
    plus the TUI's own (zoom edges, folding)."""
    nodes = model.tree.nodes
    present = {
        "error": any(model.error),
        "path": True,
        "event": any(model.events),
        "orphan": any(node.is_orphan for node in nodes),
        "dup": any(node.is_duplicate for node in nodes),
    }
    text = Text(no_wrap=False)
    for key, words in LEGEND:
        if present[key]:
            text.append(words, style=ERROR if key == "error" else "")
            text.append("  ")
    text.append(TUI_LEGEND)
    text.stylize("dim", 0)
    return text


def layout(width: int) -> Layout:
    """Half of the free width for labels (at most 60 cells), the rest for bars."""
    return _layout(width, LABEL_SHARE)


class RowPainter:
    """Draws the lines of a :class:`WaterfallModel` at a given width."""

    def __init__(
        self, model: WaterfallModel, colour: Callable[[str | None], str] = service_colour
    ) -> None:
        self.model = model
        self.colour = colour

    def ruler(self, width: int) -> list[list[Segment]]:
        """Two lines: tick labels over the bar column, then tick marks, for the window."""
        m = self.model
        a, b = m.window[0] - m.t0, m.window[1] - m.t0
        return [segments(line) for line in ruler(layout(width), a, b, TICK_SPACING)]

    def _label(self, ni: int, width: int) -> list[Run]:
        m = self.model
        r = m.rows[ni]
        node = m.tree.nodes[ni]
        levels = max(1, width // 6)
        if m.critical_only:
            runs: list[Run] = [(" " * min(m.depth[ni], levels), "")]
        else:
            runs = [(m.guide(ni, levels), "dim")]
        if m.has_children(ni):
            runs.append((FOLDED if ni in m.collapsed else UNFOLDED, "bold"))
        else:
            runs.append((" ", ""))
        runs.append((" ", ""))
        if node.is_orphan:
            runs.append(("[orphan] ", "yellow"))
        if node.is_duplicate:
            runs.append(("[dup] ", "yellow"))
        service = m.service[r]
        parent = m.parent[ni]
        if parent is None or m.service[m.rows[parent]] != service or m.critical_only:
            runs.append((f"{service or '?'} ", self.colour(service)))
        style = ERROR if m.error[r] else "bold" if r in m.on_path else ""
        name = m.name[r] or "?"
        runs.append((name, style))
        hidden = m.hidden_below(ni)
        if hidden:
            runs.append((f" +{hidden}", "dim"))
            if m.errors_below[ni]:
                runs.append((f" ✖{m.errors_below[ni]}", ERROR))
        model, tokens = m.model[r], tokens_text(m.input_tokens[r], m.output_tokens[r])
        if model is not None or tokens is not None:
            if model is None or model not in name:
                runs.append((f" {model or '?'}", MODEL))
            if tokens is not None:
                runs.append((" " + tokens, "dim"))
        return fit([(clean(text), style) for text, style in runs], width)

    def row(self, ni: int, width: int) -> list[Segment]:
        """The line of node ``ni`` (an index into ``model.tree.nodes``), ``width`` cells."""
        lay = layout(width)
        label = self._label(ni, lay.label)
        return segments(row_runs(self.model, ni, lay, label, self.model.window, self.colour))
