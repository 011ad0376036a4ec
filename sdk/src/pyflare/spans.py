"""``pyflare.span(...)``, and what every SDK span shares: its kind attributes and its errors.

Errors are recorded the same way everywhere (decorators, context managers, integrations):
status ERROR with ``<Type>: <message>``, ``error.type`` set to the exception's class name (as
the demo data and ``pyflare rca`` group them), and an ``exception`` event whose message and
stack trace went through the redaction, since an exception message often quotes its input.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from pyflare import content, runtime, semconv


def redacted(text: str) -> str:
    redactor = runtime.settings().redactor
    return text if redactor is None else redactor(text)


def record_error(span: Span, error: BaseException, category: str | None = None) -> None:
    """Mark ``span`` failed by ``error`` (an ``Exception``; cancellations are no failures)."""
    if not isinstance(error, Exception) or not span.is_recording():
        return
    name = type(error).__name__
    message = redacted(str(error))
    span.set_status(Status(StatusCode.ERROR, f"{name}: {message}" if message else name))
    span.set_attribute(semconv.ERROR_TYPE, name)
    if category is not None:
        span.set_attribute(semconv.ERROR_CATEGORY, category)
    stack = redacted("".join(traceback.format_exception(error)))
    span.record_exception(
        error,
        attributes={"exception.message": message, "exception.stacktrace": stack},
    )


def start_span(
    name: str,
    *,
    kind: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    span_kind: SpanKind = SpanKind.INTERNAL,
    scope: str = "pyflare",
) -> Span:
    """A started span of ``kind`` (llm, tool, chain, ...), a child of the current span."""
    merged: dict[str, AttributeValue] = dict(semconv.kind_attributes(kind, name))
    merged.update(attributes or {})
    return runtime.tracer(scope).start_span(name, kind=span_kind, attributes=merged)


@contextmanager
def span(
    name: str,
    *,
    kind: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    input: Any = None,
) -> Iterator[Span]:
    """A span around a block, current inside it; an exception marks it failed and goes on.

    ``kind`` is one of llm, embedding, tool, agent, chain, retriever, reranker, guardrail,
    evaluator, workflow; ``input`` is captured as ``input.value``. Record the result with
    :func:`set_output`, tokens with :func:`record_usage`.
    """
    current = start_span(name, kind=kind, attributes=attributes)
    if input is not None:
        content.set_input(current, input)
    with trace.use_span(
        current, end_on_exit=True, record_exception=False, set_status_on_exception=False
    ):
        try:
            yield current
        except BaseException as error:
            record_error(current, error)
            raise


def set_input(value: Any, span: Span | None = None) -> None:
    """Capture ``value`` as ``input.value`` of ``span`` (default: the current span)."""
    content.set_input(span or trace.get_current_span(), value)


def set_output(value: Any, span: Span | None = None) -> None:
    """Capture ``value`` as ``output.value`` of ``span`` (default: the current span)."""
    content.set_output(span or trace.get_current_span(), value)


def record_usage(
    *,
    model: str | None = None,
    provider: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    span: Span | None = None,
) -> None:
    """Put a model call's model and token usage on ``span`` (default: the current span).

    For a model the integrations do not cover (a local model, an HTTP API of your own), so
    that ``pyflare cost`` prices it. Input tokens include cached ones and output tokens
    include reasoning ones, as OTel GenAI counts them.
    """
    target = span or trace.get_current_span()
    values: dict[str, AttributeValue | None] = {
        semconv.REQUEST_MODEL: model,
        semconv.PROVIDER: provider,
        semconv.INPUT_TOKENS: input_tokens,
        semconv.OUTPUT_TOKENS: output_tokens,
        semconv.CACHE_READ_TOKENS: cache_read_tokens,
        semconv.CACHE_WRITE_TOKENS: cache_write_tokens,
        semconv.REASONING_TOKENS: reasoning_tokens,
    }
    for key, value in values.items():
        if value is not None:
            target.set_attribute(key, value)
