"""The process-wide state of the SDK: the active tracer provider and the capture settings.

Every span the SDK makes (decorators, integrations) gets its tracer here, from the provider
of the last :func:`pyflare.init`, not from OpenTelemetry's global provider: the global one
can be set only once per process, while an application (or a test suite) may call ``init``
again after a ``shutdown``. Before ``init`` the global provider is used, so an application
that set up OpenTelemetry itself still gets pyflare's spans, and one that set up nothing
gets OpenTelemetry's no-op spans at almost no cost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.trace import Tracer, TracerProvider

from pyflare.redaction import Redactor
from pyflare.version import __version__


@dataclass(frozen=True)
class Settings:
    """How captured content is turned into attributes."""

    capture_content: bool = True
    """Capture prompts, completions, arguments and return values at all."""
    max_value_length: int = 8192
    """Characters kept of one captured value; the rest is cut and marked."""
    redactor: Redactor | None = field(default_factory=Redactor)
    """Applied to every captured value before it is cut; None: no redaction."""


_lock = threading.Lock()
_provider: TracerProvider | None = None
_settings = Settings()
_tracers: dict[str, Tracer] = {}


def configure(provider: TracerProvider | None, settings: Settings) -> None:
    """Make ``provider`` the one pyflare's spans go to (None: OpenTelemetry's global one)."""
    global _provider, _settings
    with _lock:
        _provider = provider
        _settings = settings
        _tracers.clear()


def settings() -> Settings:
    return _settings


def provider() -> TracerProvider | None:
    return _provider


def tracer(scope: str = "pyflare") -> Tracer:
    """A tracer of the active provider for the instrumentation scope ``scope``."""
    found = _tracers.get(scope)
    if found is not None:
        return found
    with _lock:
        source = _provider if _provider is not None else trace.get_tracer_provider()
        made = source.get_tracer(scope, __version__)
        if _provider is not None:  # the global provider may still be replaced: do not cache
            _tracers[scope] = made
        return made
