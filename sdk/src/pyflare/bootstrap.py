"""``pyflare.init``: an OpenTelemetry tracer provider set up for pyflare in one call.

It builds a standard ``TracerProvider`` (resource from the arguments and ``OTEL_SERVICE_NAME``
/ ``OTEL_RESOURCE_ATTRIBUTES``, sampler from ``OTEL_TRACES_SAMPLER``), adds the processor that
stamps :func:`pyflare.attributes`, and a batch processor (``OTEL_BSP_*`` tune it) with the
exporter of :mod:`pyflare.exporters`. It becomes OpenTelemetry's global provider when none
is set yet, so other instrumentations export through it too. ``OTEL_SDK_DISABLED=true``
turns the SDK off: ``init`` returns a handle that does nothing and spans are no-ops.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler
from opentelemetry.util.types import AttributeValue

from pyflare import exporters, runtime, semconv
from pyflare.context import AttributesProcessor
from pyflare.processors import DuplicateFilter
from pyflare.redaction import Redaction, make_redactor

log = logging.getLogger("pyflare")


class Handle:
    """What :func:`init` set up: flush it, shut it down, or use it as a context manager."""

    def __init__(
        self,
        provider: TracerProvider | None,
        target: str,
        instrumented: Sequence[Any] = (),
    ) -> None:
        self.tracer_provider = provider
        self.target = target
        self.instrumented = list(instrumented)
        self._closed = False
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None and not self._closed

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Export every ended span now; False when it did not finish within ``timeout_s``."""
        if self.tracer_provider is None or self._closed:
            return True
        return bool(self.tracer_provider.force_flush(int(timeout_s * 1000)))

    def shutdown(self) -> None:
        """Flush, stop exporting, undo the integrations. Safe to call twice (and at exit)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.shutdown)
        for integration in reversed(self.instrumented):
            integration.uninstrument()
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if runtime.provider() is self.tracer_provider:
            runtime.configure(None, runtime.Settings())

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "active" if self.enabled else "disabled"
        return f"<pyflare.Handle {state} export={self.target}>"


_active: Handle | None = None


def active() -> Handle | None:
    """The handle of the last :func:`init` that is not shut down."""
    return _active if _active is not None and _active.enabled else None


def init(
    service_name: str | None = None,
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    export: str | SpanExporter | None = None,
    service_version: str | None = None,
    environment: str | None = None,
    resource_attributes: Mapping[str, AttributeValue] | None = None,
    instrument: Sequence[str] | str | None = None,
    capture_content: bool = True,
    max_value_length: int = 8192,
    redaction: bool | str | Redaction | Mapping[str, Any] | None = True,
    sampler: Sampler | None = None,
    batch: bool = True,
    set_global: bool = True,
) -> Handle:
    """Set up tracing into pyflare and return its :class:`Handle` (flushed at exit).

    - ``export``, ``endpoint``, ``api_key``: where spans go (see :mod:`pyflare.exporters`):
      OTLP/HTTP to a local ``pyflare receive`` by default, ``"grpc"``, or
      ``"file://traces.jsonl"`` for ``pyflare ingest``.
    - ``instrument``: integrations to turn on, ``["openai", "anthropic", "langchain",
      "torch"]``, or ``"auto"`` for those whose package is installed.
    - ``capture_content``: capture prompts, completions, arguments and results;
      ``max_value_length`` characters of each are kept; ``redaction`` (default: mask every
      kind) runs on them first, with the CLI's patterns.
    - ``batch=False`` exports each span as it ends (tests, short scripts).

    Calling ``init`` again shuts the previous handle down first.
    """
    global _active
    if _active is not None:
        _active.shutdown()
        _active = None
    settings = runtime.Settings(
        capture_content=capture_content,
        max_value_length=max_value_length,
        redactor=make_redactor(redaction),
    )
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        runtime.configure(trace.NoOpTracerProvider(), settings)
        return Handle(None, "disabled (OTEL_SDK_DISABLED)")
    target = exporters.resolve(export, endpoint, api_key)
    provider = TracerProvider(
        resource=_resource(service_name, service_version, environment, resource_attributes),
        sampler=sampler,
    )
    provider.add_span_processor(AttributesProcessor())
    if target.exporter is not None:
        exporting: SpanProcessor = (
            BatchSpanProcessor(target.exporter) if batch else SimpleSpanProcessor(target.exporter)
        )
        provider.add_span_processor(DuplicateFilter(exporting))
    runtime.configure(provider, settings)
    if set_global:
        _set_global(provider)
    from pyflare.integrations import instrument as instrument_integrations

    handle = Handle(provider, target.description)
    _active = handle
    atexit.register(handle.shutdown)
    if instrument:
        handle.instrumented = instrument_integrations(instrument)
    return handle


def _resource(
    service_name: str | None,
    service_version: str | None,
    environment: str | None,
    extra: Mapping[str, AttributeValue] | None,
) -> Resource:
    attributes: dict[str, AttributeValue] = dict(extra or {})
    if service_name:
        attributes["service.name"] = service_name
    if service_version:
        attributes["service.version"] = service_version
    if environment:
        attributes[semconv.ENVIRONMENT] = environment
    return Resource.create(attributes)


def _set_global(provider: TracerProvider) -> None:
    current = trace.get_tracer_provider()
    if isinstance(current, trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    elif not isinstance(current, TracerProvider) or current is not provider:
        log.debug(
            "pyflare: OpenTelemetry's global tracer provider is already set; pyflare's spans "
            "go to pyflare's provider, other instrumentations keep the global one"
        )
