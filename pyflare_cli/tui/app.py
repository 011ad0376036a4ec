"""The Textual app and its one factory, :func:`create_app`, used by the command and tests.

The app holds what every screen shares (the data source, the clock, the query history,
the follow settings) and routes navigation messages to screens. It computes nothing:
screens ask :class:`~pyflare_cli.tui.model.data.TraceSource`, which calls the same functions as
the commands.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from pyflare_cli.clock import now as clock_now
from pyflare_cli.errors import PyflareError
from pyflare_cli.store.layout import read_store, resolve_store
from pyflare_cli.tui.messages import CompareTraces, OpenTrace
from pyflare_cli.tui.model.history import HISTORY_FILE, QueryHistory

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from pyflare_cli.config.file import Config
    from pyflare_cli.tui.colours import ServiceColours
    from pyflare_cli.tui.model.data import TraceSource
    from pyflare_cli.tui.screens.base import PyflareHost

Boot = Callable[[], "tuple[TraceSource, QueryHistory]"]
"""Loads the session (config, data source, history) after the first frame."""

REFRESH_SECONDS = 2.0


class PyflareApp(App[None]):
    """``pyflare tui``: the trace list, waterfalls, span details, statistics, comparisons.

    It is the :class:`~pyflare_cli.tui.screens.base.PyflareHost` of its screens.
    """

    CSS_PATH = "app.tcss"
    source: TraceSource
    """Set at once, or by the boot worker after the first frame (see :func:`start_app`)."""
    colours: ServiceColours
    TITLE = "pyflare"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        source: TraceSource | None,
        *,
        where: str = "",
        trace_id: str | None = None,
        follow: bool = False,
        history: QueryHistory | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
        export_dir: Path | None = None,
        boot: Boot | None = None,
    ) -> None:
        super().__init__()
        self.export_dir = export_dir or Path.cwd()
        self.boot = boot
        self.store_name = source.root.name if source is not None else ""
        """Without a ``source``: what loads it, in a worker after the first frame."""
        self.boot_error: str | None = None
        self._priming: threading.Thread | None = None
        if source is not None:
            self.source = source
        self.where = where
        self.trace_id = trace_id
        self.follow = follow
        self.history = history or QueryHistory()
        self.refresh_seconds = refresh_seconds
        if source is not None:
            from pyflare_cli.tui.colours import ServiceColours

            self.colours = ServiceColours()

    def now(self) -> datetime:
        return self.source.clock()

    def prime_colours(self) -> None:
        """Give the store's services their colours (once; called from loading workers)."""
        if self._priming is not None:
            self._priming.join()
        if not self.colours.primed:
            self.colours.prime(self.source.services())

    def on_mount(self) -> None:
        if self.boot is not None and not hasattr(self, "source"):
            # The first frame needs Textual only; Polars, the store and the analysis
            # modules load in a worker meanwhile.
            self.push_screen(StartScreen(self.trace_id, self.store_name))
            self._boot()
            return
        self._start()

    @work(thread=True, group="boot")
    def _boot(self) -> None:
        assert self.boot is not None
        try:
            source, history = self.boot()
            from pyflare_cli.tui.colours import ServiceColours

            colours = ServiceColours()
            # The store's services (a scan of one column) are read while the first
            # screen is imported and mounted, rather than before its first page.
            self._priming = threading.Thread(
                target=_prime, args=(colours, source), name="colours", daemon=True
            )
            self._priming.start()
            # The screen shown first; the waterfall's (NumPy, the trace tree) loads after
            # the list's first page (TraceListScreen.prepare_views) unless it is first.
            if self.trace_id:
                from pyflare_cli.tui.screens.waterfall import WaterfallScreen  # noqa: F401
            else:
                from pyflare_cli.tui.screens.trace_list import TraceListScreen  # noqa: F401
        except PyflareError as exc:  # a bad config: exit 2 with its one line, once the
            self.boot_error = exc.message  # worker has ended (on_worker_state_changed)
            return
        self.call_from_thread(self._booted, source, history, colours)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Exiting from inside the boot worker cancelled the worker that asked for the exit.
        booted = event.worker.group == "boot" and event.state == WorkerState.SUCCESS
        if booted and self.boot_error is not None:
            self.exit(None, 2)

    def _booted(self, source: TraceSource, history: QueryHistory, colours: ServiceColours) -> None:
        self.source, self.history, self.colours = source, history, colours
        self.pop_screen()
        self._start()

    def _start(self) -> None:
        if self.trace_id:
            from pyflare_cli.tui.screens.waterfall import WaterfallScreen

            # The list is built when the user leaves the waterfall (see ``back``), so
            # ``pyflare tui TRACE_ID`` does not pay for loading it first.
            self.push_screen(WaterfallScreen(self.trace_id))
        else:
            from pyflare_cli.tui.screens.trace_list import TraceListScreen

            self.push_screen(TraceListScreen(self.where))

    def back(self) -> None:
        """Leave the current screen; from the first screen of a direct open, to the list."""
        from pyflare_cli.tui.screens.trace_list import TraceListScreen

        if len(self.screen_stack) > 2:
            self.pop_screen()
        elif not isinstance(self.screen, TraceListScreen):
            self.switch_screen(TraceListScreen(self.where))

    def on_open_trace(self, message: OpenTrace) -> None:
        """Open a trace, or move within the one on screen when the link points into it."""
        from pyflare_cli.tui.screens.waterfall import WaterfallScreen

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
        from pyflare_cli.tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(message.first, message.second))

    def action_help(self) -> None:
        from pyflare_cli.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def _prime(colours: ServiceColours, source: TraceSource) -> None:
    """Colour the store's services; a store error is left to the list to report."""
    with contextlib.suppress(Exception):  # the page worker primes again and reports it
        colours.prime(source.services())


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
    clock: Callable[[], datetime] = (lambda: now) if now is not None else clock_now
    check_since(since, clock())
    source, history = load_session(root, clock, since, config, history_file)
    return PyflareApp(
        source,
        where=where or "",
        trace_id=trace_id,
        follow=follow,
        history=history,
        refresh_seconds=refresh_seconds,
        export_dir=export_dir,
    )


def check_since(since: str | None, now: datetime) -> None:
    """A bad ``--since`` is a :class:`~pyflare_cli.errors.UsageError` (no Polars needed)."""
    from pyflare_cli.analysis.search.time_bounds import time_bound

    if since:
        time_bound(since, now)


def load_session(
    root: Path,
    clock: Callable[[], datetime],
    since: str | None,
    config: Config | Path | str | None,
    history_file: Path | None,
) -> tuple[TraceSource, QueryHistory]:
    """The config (checked), the data source and the query history of a session."""
    from pyflare_cli.config.file import Config, load_config
    from pyflare_cli.tui.model.data import TraceSource

    settings = config if isinstance(config, Config) else load_config(config)
    source = TraceSource(root, clock, since=since, rules=settings.price_rules)
    return source, QueryHistory(history_file, settings.saved_queries)


def start_app(
    store: Path | str | None,
    where: str | None = None,
    since: str | None = None,
    trace_id: str | None = None,
    follow: bool = False,
    config: Path | str | None = None,
) -> PyflareApp:
    """The app as the command starts it in a terminal: the store and ``since`` are checked
    now, the config and the data layer load after the first frame (a bad config still
    exits 2: the app closes and :attr:`PyflareApp.boot_error` says why)."""
    root = read_store(store)
    check_since(since, clock_now())
    history_file = default_history_file(store)

    def boot() -> tuple[TraceSource, QueryHistory]:
        return load_session(root, clock_now, since, config, history_file)

    app = PyflareApp(None, where=where or "", trace_id=trace_id, follow=follow, boot=boot)
    app.store_name = root.name
    return app


class StartScreen(Screen[None]):
    """The first frame, drawn with Textual alone while the rest of the app loads."""

    def __init__(self, trace_id: str | None, store_name: str) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.store_name = store_name

    def compose(self) -> ComposeResult:
        from rich.text import Text

        what = f"trace {self.trace_id}" if self.trace_id else "traces"
        title = Text("pyflare ", style="bold")
        title.append(f"{what} in {self.store_name}")
        yield Static(title, classes="title")
        yield Static(Text("loading…", style="dim"), classes="message")


def default_history_file(store: Path | str | None) -> Path:
    """Where the command keeps recent queries: under the store, like the price cache."""
    return resolve_store(store) / HISTORY_FILE
