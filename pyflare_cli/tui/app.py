"""The Textual app and its one factory, :func:`create_app`, used by the command and tests.

The app holds what every screen shares (the data source, the clock, the query history,
the follow settings) and routes navigation messages to screens. It computes nothing:
screens ask :class:`~pyflare_cli.tui.model.data.TraceSource`, which calls the same functions as
the commands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from pyflare_cli.clock import now as clock_now
from pyflare_cli.config.file import Config, load_config
from pyflare_cli.query.spans import SpanQuery
from pyflare_cli.store.layout import read_store, resolve_store
from pyflare_cli.tui.colours import ServiceColours
from pyflare_cli.tui.messages import CompareTraces, OpenTrace
from pyflare_cli.tui.model.data import TraceSource
from pyflare_cli.tui.model.history import HISTORY_FILE, QueryHistory
from pyflare_cli.tui.screens.base import PyflareHost
from pyflare_cli.tui.screens.compare import CompareScreen
from pyflare_cli.tui.screens.help import HelpScreen
from pyflare_cli.tui.screens.trace_list import TraceListScreen
from pyflare_cli.tui.screens.waterfall import WaterfallScreen

REFRESH_SECONDS = 2.0


class PyflareApp(App[None]):
    """``pyflare tui``: the trace list, waterfalls, span details, statistics, comparisons.

    It is the :class:`~pyflare_cli.tui.screens.base.PyflareHost` of its screens.
    """

    CSS_PATH = "app.tcss"
    TITLE = "pyflare"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        source: TraceSource,
        *,
        where: str = "",
        trace_id: str | None = None,
        follow: bool = False,
        history: QueryHistory | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
        export_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.export_dir = export_dir or Path.cwd()
        self.source = source
        self.where = where
        self.trace_id = trace_id
        self.follow = follow
        self.history = history or QueryHistory()
        self.refresh_seconds = refresh_seconds
        self.colours = ServiceColours()

    def now(self) -> datetime:
        return self.source.clock()

    def prime_colours(self) -> None:
        """Give the store's services their colours (once; called from loading workers)."""
        if not self.colours.primed:
            self.colours.prime(self.source.services())

    def on_mount(self) -> None:
        if self.trace_id:
            # The list is built when the user leaves the waterfall (see ``back``), so
            # ``pyflare tui TRACE_ID`` does not pay for loading it first.
            self.push_screen(WaterfallScreen(self.trace_id))
        else:
            self.push_screen(TraceListScreen(self.where))

    def back(self) -> None:
        """Leave the current screen; from the first screen of a direct open, to the list."""
        if len(self.screen_stack) > 2:
            self.pop_screen()
        elif not isinstance(self.screen, TraceListScreen):
            self.switch_screen(TraceListScreen(self.where))

    def on_open_trace(self, message: OpenTrace) -> None:
        """Open a trace, or move within the one on screen when the link points into it."""
        stack = reversed(self.screen_stack)
        shown = next((s for s in stack if isinstance(s, WaterfallScreen)), None)
        same = shown is not None and shown.trace_id.startswith(message.trace_id.lower())
        if shown is not None and same and shown.model is not None and message.span_id:
            while self.screen is not shown:
                self.pop_screen()
            if not shown.focus_span(message.span_id):
                self.notify(
                    f"span {message.span_id} is not in this trace",
                    severity="warning",
                    markup=False,
                )
            return
        self.push_screen(WaterfallScreen(message.trace_id, message.span_id))

    def on_compare_traces(self, message: CompareTraces) -> None:
        self.push_screen(CompareScreen(message.first, message.second))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


if TYPE_CHECKING:
    _HOST: type[PyflareHost] = PyflareApp  # mypy: the app offers what its screens use


def create_app(
    store: Path | str | None,
    where: str | None = None,
    since: str | None = None,
    trace_id: str | None = None,
    follow: bool = False,
    now: datetime | None = None,
    config: Config | Path | str | None = None,
    *,
    history_file: Path | None = None,
    refresh_seconds: float = REFRESH_SECONDS,
    export_dir: Path | None = None,
) -> PyflareApp:
    """The app for the store at ``store`` (``--store``, else ``$PYFLARE_STORE``, else
    ``./.pyflare``).

    ``now`` fixes the clock (tests, reproducible screenshots); without it the app reads
    :func:`pyflare_cli.clock.now` (``$PYFLARE_NOW`` or the real clock) whenever
    it loads. ``e`` writes traces to ``export_dir`` (the current directory when None).
    ``config`` is a loaded :class:`~pyflare_cli.config.file.Config` or a path (the
    usual lookup when None). Recent queries are kept in ``history_file`` when given.

    A bad ``since`` or config raises :class:`~pyflare_cli.errors.UsageError` here, before
    the app starts; a bad ``where`` is shown in the app's search bar.
    """
    root = read_store(store)
    settings = config if isinstance(config, Config) else load_config(config)
    clock: Callable[[], datetime] = (lambda: now) if now is not None else clock_now
    SpanQuery(since=since).bounds(clock())  # validates --since
    source = TraceSource(root, clock, since=since, rules=settings.price_rules)
    return PyflareApp(
        source,
        where=where or "",
        trace_id=trace_id,
        follow=follow,
        history=QueryHistory(history_file, settings.saved_queries),
        refresh_seconds=refresh_seconds,
        export_dir=export_dir,
    )


def default_history_file(store: Path | str | None) -> Path:
    """Where the command keeps recent queries: under the store, like the price cache."""
    return resolve_store(store) / HISTORY_FILE
