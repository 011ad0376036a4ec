"""``pyflare tui``: a Textual trace explorer (list, waterfall, detail, statistics, compare).

Import :func:`create_app` from here; it builds the app the command runs and the tests
drive. Importing this package imports Textual, so the command imports it lazily.
"""

from __future__ import annotations

from pyflare_cli.tui.app import PyflareApp, create_app

__all__ = ["PyflareApp", "create_app"]
