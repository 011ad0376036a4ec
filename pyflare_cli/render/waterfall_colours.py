"""The colours of the waterfall: one per service, red for errors.

Apart from :mod:`pyflare_cli.render.waterfall` so that what colours a trace list (the TUI's
list and facets) does not import the trace tree and NumPy behind the waterfall's geometry:
they load when a trace is first opened, not before the first page.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

PALETTE = (
    "cyan",
    "green",
    "yellow",
    "blue",
    "magenta",
    "bright_cyan",
    "bright_green",
    "bright_blue",
    "bright_magenta",
    "dark_orange",
    "orchid",
    "steel_blue1",
)
ERROR = "bold red"


@lru_cache(maxsize=1024)
def service_colour(service: str | None) -> str:
    """A colour per service name, the same in every run (never red: red means error)."""
    if not service:
        return "white"
    return PALETTE[zlib.crc32(service.encode()) % len(PALETTE)]
