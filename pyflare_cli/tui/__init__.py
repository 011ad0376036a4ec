"""``pyflare tui``: a Textual trace explorer (list, waterfall, detail, statistics, compare).

Import :func:`create_app` from here; it builds the app the command runs and the tests
drive. The app (and with it Textual) loads on first use of these names, so that importing
the headless :mod:`pyflare_cli.tui.model` does not load Textual or Rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyflare_cli.tui.app import PyflareApp, create_app

__all__ = ["PyflareApp", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pyflare_cli.tui import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
