"""One colour per service for the whole session, distinct while the palette lasts.

``pyflare trace show`` hashes a service name to a colour, which is stable across runs but
lets two services of one trace share a colour. The TUI first assigns colours to the
store's services in name order (so screenshots are reproducible), preferring each one's
hashed colour when it is still free, and only then falls back to hashing for services
that appear later (``--follow``). Never red: red means error; and not magenta either,
which Textual's default themes draw close to red.
"""

from __future__ import annotations

import threading

from pyflare_cli.render.waterfall_colours import PALETTE, service_colour

COLOURS = tuple(c for c in PALETTE if "magenta" not in c)
MODEL = "medium_purple1"
"""The colour of model names (a 256-colour value, so themes do not turn it red)."""


class ServiceColours:
    """Callable: ``colours(service) -> Rich colour name``. Thread-safe."""

    def __init__(self) -> None:
        self._assigned: dict[str, str] = {}
        self._lock = threading.Lock()
        self.primed = False

    def prime(self, services: list[str]) -> None:
        """Assign colours to ``services`` (sorted), distinct as far as the palette allows."""
        with self._lock:
            for service in sorted(set(services)):
                self._assign(service)
            self.primed = True

    def _assign(self, service: str) -> str:
        if service in self._assigned:
            return self._assigned[service]
        used = set(self._assigned.values())
        preferred = service_colour(service)
        if preferred in used or preferred not in COLOURS:
            fallback = COLOURS[len(self._assigned) % len(COLOURS)]
            preferred = next((c for c in COLOURS if c not in used), fallback)
        self._assigned[service] = preferred
        return preferred

    def __call__(self, service: str | None) -> str:
        if not service:
            return "default"
        with self._lock:
            return self._assign(service)
