"""``pyflare.attributes(...)``: who and what a block of work is for, stamped on every span.

The values live in a context variable, like OpenTelemetry's own context, so they follow the
same paths: into ``await``-ed code and asyncio tasks (which copy the context), not into
threads started by hand (use :func:`bind`, which carries both). A span processor reads the
variable when any span starts, so spans of every instrumentation below the block (the
OpenAI call inside a tool inside an agent) carry ``user.id``, ``session.id`` and the rest,
and ``pyflare cost --by user`` attributes each model call without further work.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import ParamSpec, TypeVar

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.util.types import AttributeValue

from pyflare import semconv

P = ParamSpec("P")
R = TypeVar("R")

_current: contextvars.ContextVar[Mapping[str, AttributeValue]] = contextvars.ContextVar(
    "pyflare_attributes", default=MappingProxyType({})
)

NAMES = {
    "user_id": semconv.USER_ID,
    "session_id": semconv.SESSION_ID,
    "feature": semconv.FEATURE,
    "team": semconv.TEAM,
    "environment": semconv.ENVIRONMENT,
    "conversation_id": semconv.CONVERSATION_ID,
}


@contextmanager
def attributes(
    *,
    user_id: str | None = None,
    session_id: str | None = None,
    feature: str | None = None,
    team: str | None = None,
    environment: str | None = None,
    conversation_id: str | None = None,
    extra: Mapping[str, AttributeValue] | None = None,
) -> Iterator[Mapping[str, AttributeValue]]:
    """Stamp every span started inside the block with these attributes (nested blocks add).

    ``user_id`` -> ``user.id``, ``session_id`` -> ``session.id``, ``feature`` ->
    ``pyflare.feature``, ``team`` -> ``pyflare.team``, ``environment`` ->
    ``deployment.environment.name``, ``conversation_id`` -> ``gen_ai.conversation.id``;
    ``extra`` holds any other attribute names as they are.
    """
    given = {
        "user_id": user_id,
        "session_id": session_id,
        "feature": feature,
        "team": team,
        "environment": environment,
        "conversation_id": conversation_id,
    }
    merged = dict(_current.get())
    merged.update({NAMES[k]: v for k, v in given.items() if v is not None})
    merged.update(extra or {})
    token = _current.set(merged)
    try:
        yield merged
    finally:
        _current.reset(token)


def current() -> Mapping[str, AttributeValue]:
    """The attributes that a span started now would be stamped with."""
    return _current.get()


def bind(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run in a copy of the current context: current span and pyflare attributes.

    For work handed to a thread (``executor.submit(pyflare.bind(work), item)``): a thread
    starts with an empty context, so its spans would otherwise start new traces.
    """
    captured = contextvars.copy_context()

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return captured.copy().run(func, *args, **kwargs)

    return run


class AttributesProcessor(SpanProcessor):
    """Sets the attributes of the enclosing :func:`attributes` blocks on every started span."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        values = _current.get()
        if values:
            span.set_attributes(values)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
