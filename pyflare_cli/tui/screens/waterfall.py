"""The waterfall screen of one trace: headline, the waterfall, in-trace search, status line.

The trace is loaded and its tree and critical path are computed in a worker thread (the
same analysis calls as ``pyflare trace show``), then handed to the
:class:`~pyflare_cli.tui.widgets.waterfall_view.WaterfallView`, which owns navigation.
"""

from __future__ import annotations

import bisect
from typing import ClassVar

import polars as pl
from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Static

from pyflare_cli.analysis.traces.summary import summarize_traces
from pyflare_cli.errors import PyflareError
from pyflare_cli.render.units import count, format_duration, format_tokens, money
from pyflare_cli.tui.model.export import export_name, export_trace
from pyflare_cli.tui.model.flame import FlameGraph
from pyflare_cli.tui.model.history import QueryHistory
from pyflare_cli.tui.model.waterfall import WaterfallModel, carry_state
from pyflare_cli.tui.screens.base import PyflareScreen
from pyflare_cli.tui.widgets.flame_view import FlameView, flame_legend, flame_status
from pyflare_cli.tui.widgets.query_bar import QueryBar
from pyflare_cli.tui.widgets.span_summary import span_attributes, span_overview
from pyflare_cli.tui.widgets.waterfall_rows import legend
from pyflare_cli.tui.widgets.waterfall_view import WaterfallView


def headline(spans: pl.DataFrame) -> Text:
    """``chat-api: POST /chat · 12 spans · 1.50s · ✖ 1 error · … · start UTC · trace 5b8e…``.

    The most telling parts come first, so that a narrow terminal cuts only the id.
    """
    if spans.height == 0:
        return Text("empty trace")
    s = summarize_traces(spans.lazy()).collect().row(0, named=True)
    text = Text(f"{s['root_service']}: {s['root_name']}", style="bold")
    text.append(f" · {s['spans']:,} spans · {format_duration(int(s['duration_ns'] or 0))}")
    if s["errors"]:
        text.append(f" · ✖ {s['errors']} error(s)", style="bold red")
    if s["total_tokens"]:
        text.append(f" · {count(s['total_tokens'])} tokens")
    if s["cost_usd"] is not None:
        text.append(f" · {money(s['cost_usd'])}")
    text.append(f" · {s['start_time']:%Y-%m-%d %H:%M:%S} UTC · trace {s['trace_id']}")
    return text


class WaterfallScreen(PyflareScreen[None]):
    """One trace as a waterfall; ``span_id`` is selected once it is loaded."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "find", "Find", key_display="/"),
        Binding("f", "flame", "Flame graph"),
        Binding("v", "split", "Pane"),
        Binding("t", "stats", "Stats"),
        Binding("y", "copy('span')", "Copy id"),
        Binding("Y", "copy('trace')", "Copy trace id", show=False),
        Binding("e", "export", "Export"),
    ]

    def __init__(self, trace_id: str, span_id: str | None = None) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.span_id = span_id
        self.model: WaterfallModel | None = None
        self.flame: FlameGraph | None = None
        """Built the first time ``f`` shows it."""
        self._fingerprint: object = None
        self.new_spans = 0
        """Spans that arrived while following (``--follow``)."""
        self.find_history = QueryHistory()

    def compose(self) -> ComposeResult:
        yield Static(Text(f"trace {self.trace_id}"), id="wf-title", classes="title")
        with Horizontal(id="wf-body"):
            yield WaterfallView(id="waterfall")
            yield FlameView(id="flame")
            with VerticalScroll(id="wf-pane"):
                yield Static(id="wf-pane-text")
        yield Static("loading the trace…", id="wf-message", classes="message")
        yield Static(id="wf-legend")
        with Horizontal(id="wf-find"):
            yield QueryBar(
                self.find_history,
                placeholder="find in trace: gpt, status:error, duration:>1s  (enter)",
                id="find",
            )
            yield Static(id="find-count")
        yield Static(id="wf-status", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#wf-find").display = False
        self.query_one("#wf-body").display = False
        self.query_one(FlameView).display = False
        self.query_one("#wf-pane").display = False
        self._load(self.trace_id)
        if self.pyflare.follow:
            self.set_interval(self.pyflare.refresh_seconds, self.follow_now)

    @property
    def view(self) -> WaterfallView:
        return self.query_one(WaterfallView)

    @work(thread=True, group="trace")
    def _load(self, trace_id: str) -> None:
        try:
            self.pyflare.prime_colours()
            self._fingerprint = self.pyflare.source.fingerprint()
            model = WaterfallModel(self.pyflare.source.trace(trace_id))
        except Exception as exc:  # shown in the app, never as a traceback
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._show, model)

    def _show(self, model: WaterfallModel) -> None:
        self.model = model
        self.trace_id = str(model.spans["trace_id"][0]) if model.spans.height else self.trace_id
        self.query_one("#wf-title", Static).update(headline(model.spans))
        self.query_one("#wf-message", Static).display = False
        self.query_one("#wf-legend", Static).update(legend(model))
        self.query_one("#wf-body").display = True
        view = self.view
        node = model.node_of_span(self.span_id) if self.span_id else None
        view.set_model(model, node, self.pyflare.colours)
        view.focus()

    # -- follow -------------------------------------------------------------------------

    def follow_now(self) -> None:
        """With ``--follow``: reload the trace when the store changed (new spans appear)."""
        if self.model is not None and self.is_current:
            self._follow(self.trace_id)

    @work(thread=True, group="trace-follow", exclusive=True)
    def _follow(self, trace_id: str) -> None:
        source = self.pyflare.source
        fingerprint = source.fingerprint()
        if fingerprint == self._fingerprint:
            return  # an idle store costs a few stat calls, no scan
        try:
            model = WaterfallModel(source.trace(trace_id))
        except Exception:  # e.g. compacted away mid-read: try again at the next tick
            return
        self.app.call_from_thread(self._grown, model, fingerprint)

    def _grown(self, model: WaterfallModel, fingerprint: object) -> None:
        """Swap in the reloaded trace, keeping the selected span, folds, search and zoom."""
        old = self.model
        self._fingerprint = fingerprint
        if old is None or model.spans.height == old.spans.height:
            return
        carry_state(old, model, self.pyflare.now())
        self.new_spans += model.spans.height - old.spans.height
        node = self.view.node
        selected = old.tree.nodes[node].span_id if node is not None else None
        self.model = model
        self.query_one("#wf-title", Static).update(headline(model.spans))
        self.query_one("#wf-legend", Static).update(legend(model))
        target = model.node_of_span(selected) if selected else None
        self.view.set_model(model, target, self.pyflare.colours)
        if self.flame is not None:
            self.flame = FlameGraph(model)
            if self.flame_view.display:
                frame = self.flame.frame_of_node[target] if target is not None else 0
                self.flame_view.set_graph(self.flame, frame)
        self._status()

    def _failed(self, error: Exception) -> None:
        text = (
            error.message if isinstance(error, PyflareError) else f"{type(error).__name__}: {error}"
        )
        message = self.query_one("#wf-message", Static)
        message.update(Text(f"✖ {text}\n\nesc goes back", style="red"))

    def focus_span(self, span_id: str) -> bool:
        """Select ``span_id`` in this trace; False if it is not here."""
        node = self.model.node_of_span(span_id) if self.model else None
        if node is None:
            return False
        self.view.select_node(node)
        self.view.focus()
        return True

    # -- status -------------------------------------------------------------------------

    def _status(self) -> None:
        if self.flame is not None and self.query_one(FlameView).display:
            status = flame_status(self.flame, self.flame_view.cursor)
            self.query_one("#wf-status", Static).update(status)
            return
        m, node = self.model, self.view.node
        if m is None or node is None:
            return
        r = m.rows[node]
        row = m.spans.row(r, named=True)
        text = Text(f"{m.service[r] or '?'}: {m.name[r] or '?'}", style="bold")
        parts = [
            format_duration(int(m.end[r] - m.start[r])),
            f"self {format_duration(int(m.self_time()[r]))}",
        ]
        if row.get("model"):
            tokens = "→".join(format_tokens(row.get(k)) for k in ("input_tokens", "output_tokens"))
            parts.append(f"{row['model']} {tokens}")
        if row.get("cost_usd") is not None:
            parts.append(money(row["cost_usd"]))
        if m.events[r]:
            parts.append(f"{len(m.events[r])} event(s)")
        position = (m.position(node) or 0) + 1
        parts.append(f"row {position:,}/{len(m.visible):,}")
        if self.pyflare.follow:
            parts.append(f"● live +{self.new_spans:,} new" if self.new_spans else "● live")
        if m.query and node in m.match_set:
            parts.append(f"match {bisect.bisect_left(m.matches, node) + 1}/{len(m.matches)}")
        if m.critical_only:
            off = m.errors_off_path
            hidden = f" ({off} error span(s) hidden, p shows all)" if off else ""
            parts.append("critical path only" + hidden)
        if m.zoom_level > 1.001:
            a, b = (format_duration(v - m.t0) for v in m.window)
            parts.append(f"zoom {m.zoom_level:.1f}x ({a} to {b})")
        text.append(" · " + " · ".join(parts))
        if m.error[r]:
            message = row.get("error_message") or row.get("status_message") or "error"
            text.append(f" · ✖ {message}", style="bold red")
        self.query_one("#wf-status", Static).update(text)

    def on_waterfall_view_cursor_moved(self, event: WaterfallView.CursorMoved) -> None:
        self._status()
        self._pane(event.node)

    def _pane(self, node: int) -> None:
        """Show span ``node`` in the split pane, when it is open."""
        pane = self.query_one("#wf-pane")
        if not pane.display or self.model is None:
            return
        row = self.model.spans.row(self.model.rows[node], named=True)
        title = Text(f"{row.get('service_name') or '?'}: {row.get('name') or '?'}", style="bold")
        body = Group(title, span_overview(self.model, node, row), span_attributes(row))
        self.query_one("#wf-pane-text", Static).update(body)

    @property
    def flame_view(self) -> FlameView:
        return self.query_one(FlameView)

    def on_flame_view_moved(self, event: FlameView.Moved) -> None:
        self._status()
        if self.flame is not None:
            self._pane(self.flame.heaviest_node(event.frame))

    def on_flame_view_activated(self, event: FlameView.Activated) -> None:
        from pyflare_cli.tui.screens.detail import DetailScreen

        if self.model is not None:
            self.app.push_screen(DetailScreen(self.model, event.node))

    def action_flame(self) -> None:
        """Switch between the waterfall and the flame graph, keeping the selected span."""
        m, flame_view = self.model, self.flame_view
        if m is None:
            return
        legend_line = self.query_one("#wf-legend", Static)
        if flame_view.display:
            node = self.flame.heaviest_node(flame_view.cursor) if self.flame else None
            flame_view.display = False
            self.view.display = True
            legend_line.update(legend(m))
            if node is not None:
                self.view.select_node(node)
            self.view.focus()
            return
        if self.flame is None:
            self.flame = FlameGraph(m)
        node = self.view.node
        self.view.display = False
        flame_view.display = True
        legend_line.update(flame_legend())
        frame = self.flame.frame_of_node[node] if node is not None else 0
        flame_view.set_graph(self.flame, frame, self.pyflare.colours)
        flame_view.focus()

    def action_split(self) -> None:
        """Open or close the detail pane that follows the cursor."""
        pane = self.query_one("#wf-pane")
        pane.display = not pane.display
        if self.flame is not None and self.flame_view.display:
            self._pane(self.flame.heaviest_node(self.flame_view.cursor))
        elif self.view.node is not None:
            self._pane(self.view.node)

    def _selected_node(self) -> int | None:
        if self.flame is not None and self.flame_view.display:
            return self.flame.heaviest_node(self.flame_view.cursor)
        return self.view.node

    def action_copy(self, what: str) -> None:
        """Copy the selected span's id (``y``) or the trace id (``Y``) to the clipboard."""
        m, node = self.model, self._selected_node()
        if m is None or node is None:
            return
        span_id = str(m.spans["span_id"][m.rows[node]] or "")
        value = self.trace_id if what == "trace" else span_id
        self.app.copy_to_clipboard(value)
        self.notify(f"copied {what} id {value}", timeout=4, markup=False)

    def action_export(self) -> None:
        """Write the trace as OTLP/JSON to ``trace-<id>.otlp.json`` in the current directory."""
        if self.model is None:
            return
        path = self.pyflare.export_dir / export_name(self.trace_id)
        try:
            spans = export_trace(self.model.spans, path)
        except OSError as exc:
            self.notify(f"could not export: {exc}", severity="error", markup=False)
            return
        self.notify(f"exported {spans:,} spans as OTLP/JSON to {path}", timeout=6, markup=False)

    def on_waterfall_view_changed(self, event: WaterfallView.Changed) -> None:
        self._status()

    def on_waterfall_view_activated(self, event: WaterfallView.Activated) -> None:
        from pyflare_cli.tui.screens.detail import DetailScreen

        if self.model is not None:
            self.app.push_screen(DetailScreen(self.model, event.node))

    # -- search -------------------------------------------------------------------------

    def on_query_bar_submitted(self, event: QueryBar.Submitted) -> None:
        m = self.model
        if m is None:
            return
        try:
            found = m.search(event.query, self.pyflare.now())
        except PyflareError as exc:
            event.bar.show_error(event.query, exc)
            return
        except Exception as exc:  # e.g. a field this trace has no column for
            self.query_one("#find-count", Static).update(Text(f"✖ {exc}", style="red"))
            return
        label = f"{found:,} match" + ("" if found == 1 else "es") if m.query else ""
        self.query_one("#find-count", Static).update(Text(label))
        if self.flame is not None and self.flame_view.display:  # the same search, on frames
            flame = self.flame_view
            flame.focus()
            frames = self.flame.matching()
            if frames and flame.cursor not in frames:
                flame.select(frames[0])
            flame.refresh()
            return
        view = self.view
        view.refresh()
        view.focus()
        node = view.node
        if m.matches and node is not None and node not in m.match_set:
            target = m.next_match(node, 1)
            if target is not None:
                view.select_node(target)

    def action_find(self) -> None:
        self.query_one("#wf-find").display = True
        self.query_one("#find", QueryBar).input.focus()

    def action_back(self) -> None:
        finder = self.query_one("#find", QueryBar)
        if finder.input.has_focus:
            self.query_one("#wf-find").display = finder.value.strip() != ""
            (self.flame_view if self.flame_view.display else self.view).focus()
            return
        if self.model is not None and self.model.query:
            self.model.clear_search()
            finder.set_value("")
            self.query_one("#find-count", Static).update("")
            self.query_one("#wf-find").display = False
            self.view.refresh()
            self.flame_view.refresh()
            return
        self.pyflare.back()

    def action_stats(self) -> None:
        from pyflare_cli.tui.screens.stats import StatsScreen

        if self.model is not None:
            self.app.push_screen(StatsScreen(self.model))
