"""Span processors that sit in front of the exporting one.

:class:`DuplicateFilter` drops the span that a client library makes of its own API call
when pyflare's integration already made one for that call. The Anthropic client (2.x)
traces its calls natively, but its span lacks the input tokens, the usage of streamed
responses and the content; pyflare's span has them, and two model-call spans per request
would count the call and its output tokens twice in ``pyflare cost``. The integration
claims its span's id while the call runs; a span of a listed scope whose parent is a
claimed span is not exported. Everything else passes untouched.
"""

from __future__ import annotations

import threading

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

NATIVE_CLIENT_SCOPES = frozenset({"com.anthropic.sdk.python"})

_claimed: set[int] = set()
_lock = threading.Lock()


def claim(span_id: int) -> None:
    """Mark ``span_id`` as an integration's model-call span, while the call runs."""
    with _lock:
        _claimed.add(span_id)


def release(span_id: int) -> None:
    with _lock:
        _claimed.discard(span_id)


def is_claimed(span_id: int) -> bool:
    with _lock:
        return span_id in _claimed


class DuplicateFilter(SpanProcessor):
    """Passes spans to ``inner`` except native client spans under a claimed span."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        scope = span.instrumentation_scope
        parent = span.parent
        if (
            scope is not None
            and scope.name in NATIVE_CLIENT_SCOPES
            and parent is not None
            and is_claimed(parent.span_id)
        ):
            return
        self.inner.on_end(span)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
