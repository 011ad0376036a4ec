"""What screens share, reached through the app without importing it.

The app imports every screen to push it, so a screen that imported the app for its data
source, clock or history would close an import cycle. Instead the app offers a small,
typed surface, :class:`PyflareHost`, and screens reach it through
:attr:`PyflareScreen.pyflare`; :mod:`pyflare_cli.tui.app` checks (for mypy) that the app
implements it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from textual.screen import Screen

if TYPE_CHECKING:
    from pyflare_cli.tui.colours import ServiceColours
    from pyflare_cli.tui.model.data import TraceSource
    from pyflare_cli.tui.model.history import QueryHistory

ResultType = TypeVar("ResultType")


@runtime_checkable
class PyflareHost(Protocol):
    """The app as its screens see it: the shared session state and "go back"."""

    source: TraceSource
    """Where traces come from (the store, through the commands' read path)."""
    where: str
    """The query the list starts with (``--where``)."""
    follow: bool
    """Whether the list reloads by itself (``--follow``)."""
    refresh_seconds: float
    export_dir: Path
    """Where ``e`` writes a trace as OTLP/JSON (the current directory)."""
    history: QueryHistory
    colours: ServiceColours

    def now(self) -> datetime:
        """The session's clock (fixed in tests and screenshots)."""
        ...

    def prime_colours(self) -> None:
        """Give the store's services their colours (once; safe from loading workers)."""
        ...

    def back(self) -> None:
        """Leave the current screen (to the list, from a trace opened directly)."""
        ...


class PyflareScreen(Screen[ResultType]):
    """A screen of ``pyflare tui``: :attr:`pyflare` is the app's :class:`PyflareHost`."""

    @property
    def pyflare(self) -> PyflareHost:
        app = self.app
        if not isinstance(app, PyflareHost):
            raise TypeError(f"{type(self).__name__} runs only inside the pyflare app")
        return app
