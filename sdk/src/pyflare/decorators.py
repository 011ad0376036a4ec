"""``@pyflare.trace``: a span around every call of a function, coroutine or generator.

A generator's span covers its whole iteration, not the call that creates it: it starts at
the first ``next`` and ends when the generator is exhausted, closed (``break``, ``close()``,
garbage collection) or fails. Between two items the consumer runs outside the span, so the
span is made current only while the generator's own code runs; spans opened inside the
generator are its children, spans of the consumer are not. The yielded items are captured
as the output: strings joined (streamed text), anything else as a JSON list.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from pyflare import content, runtime, semconv, spans

F = TypeVar("F", bound=Callable[..., Any])


@overload
def trace_fn(func: F, /) -> F: ...


@overload
def trace_fn(
    func_or_name: str | None = None,
    /,
    *,
    name: str | None = None,
    kind: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Callable[[F], F]: ...


def trace_fn(
    func_or_name: Any = None,
    /,
    *,
    name: str | None = None,
    kind: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Any:
    """Trace every call of the decorated function: ``@trace``, ``@trace(name="x", kind="tool")``.

    ``name`` defaults to the function's qualified name; ``kind`` is one of llm, embedding,
    tool, agent, chain, retriever, reranker, guardrail, evaluator, workflow; ``attributes``
    are set on every span. The arguments (as a JSON object by parameter name, without
    ``self``/``cls``) and the result are captured unless turned off here or in ``init``.
    """
    if callable(func_or_name):
        return _decorate(func_or_name, None, None, None, True, True)
    span_name = name or func_or_name

    def decorator(func: F) -> F:
        return _decorate(func, span_name, kind, attributes, capture_input, capture_output)

    return decorator


def _decorate(
    func: F,
    name: str | None,
    kind: str | None,
    attributes: Mapping[str, AttributeValue] | None,
    capture_input: bool,
    capture_output: bool,
) -> F:
    span_name = name or func.__qualname__
    static = dict(attributes or {})
    semconv.kind_attributes(kind, span_name)  # an unknown kind fails at decoration, not at call
    signature = _signature(func)

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Span:
        span = spans.start_span(span_name, kind=kind, attributes=static)
        if capture_input and content.capturing() and span.is_recording():
            content.set_input(span, _arguments(signature, args, kwargs))
        return span

    def finish_ok(span: Span, result: Any) -> None:
        if capture_output and content.capturing() and span.is_recording():
            content.set_output(span, result)

    wrapper: Callable[..., Any]
    if inspect.isasyncgenfunction(func):
        wrapper = _async_gen_wrapper(func, start, finish_ok if capture_output else None)
    elif inspect.isgeneratorfunction(func):
        wrapper = _gen_wrapper(func, start, finish_ok if capture_output else None)
    elif inspect.iscoroutinefunction(func):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            span = start(args, kwargs)
            with trace.use_span(
                span, end_on_exit=True, record_exception=False, set_status_on_exception=False
            ):
                try:
                    result = await func(*args, **kwargs)
                except BaseException as error:
                    spans.record_error(span, error)
                    raise
                finish_ok(span, result)
                return result

    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            span = start(args, kwargs)
            with trace.use_span(
                span, end_on_exit=True, record_exception=False, set_status_on_exception=False
            ):
                try:
                    result = func(*args, **kwargs)
                except BaseException as error:
                    spans.record_error(span, error)
                    raise
                finish_ok(span, result)
                return result

    return cast(F, functools.wraps(func)(wrapper))


def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _arguments(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The call's arguments by parameter name, without ``self``/``cls``."""
    if signature is None:
        return {"args": list(args), **kwargs}
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), **kwargs}
    out = dict(bound.arguments)
    first = next(iter(signature.parameters), None)
    if first in ("self", "cls"):
        out.pop(first, None)
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD and parameter.name in out:
            out.update(out.pop(parameter.name))
    return out


class _Items:
    """The yielded items kept for ``output.value``, bounded by the capture length."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.size = 0

    def add(self, item: Any) -> None:
        limit = runtime.settings().max_value_length
        if self.size <= limit:
            self.items.append(item)
            self.size += len(item) if isinstance(item, str) else 16

    def value(self) -> Any:
        if self.items and all(isinstance(i, str) for i in self.items):
            return "".join(self.items)
        return self.items


Start = Callable[[tuple[Any, ...], dict[str, Any]], Span]
FinishOk = Callable[[Span, Any], None] | None


def _gen_wrapper(func: Callable[..., Any], start: Start, finish_ok: FinishOk) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        span = start(args, kwargs)
        ctx = trace.set_span_in_context(span)
        items = _Items()
        try:
            token = otel_context.attach(ctx)
            try:
                generator = func(*args, **kwargs)
            finally:
                otel_context.detach(token)
            result = yield from _steps(generator, ctx, items)
        except GeneratorExit:
            if finish_ok is not None:
                finish_ok(span, items.value())
            span.end()
            raise
        except BaseException as error:
            spans.record_error(span, error)
            span.end()
            raise
        if finish_ok is not None:
            finish_ok(span, items.value())
        span.end()
        return result

    return wrapper


def _steps(
    generator: Generator[Any, Any, Any], ctx: Any, items: _Items
) -> Generator[Any, Any, Any]:
    """Drive ``generator`` with ``ctx`` current while its code runs; keep what it yields."""
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        token = otel_context.attach(ctx)
        try:
            if thrown is not None:
                error, thrown = thrown, None
                item = generator.throw(error)
            else:
                item = generator.send(sent)
        except StopIteration as stop:
            return stop.value
        finally:
            otel_context.detach(token)
        items.add(item)
        try:
            sent = yield item
        except GeneratorExit:
            token = otel_context.attach(ctx)
            try:
                generator.close()
            finally:
                otel_context.detach(token)
            raise
        except BaseException as error:
            thrown = error


def _async_gen_wrapper(
    func: Callable[..., Any], start: Start, finish_ok: FinishOk
) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        span = start(args, kwargs)
        ctx = trace.set_span_in_context(span)
        items = _Items()
        generator: AsyncGenerator[Any, Any] = func(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = otel_context.attach(ctx)
                try:
                    if thrown is not None:
                        error, thrown = thrown, None
                        item = await generator.athrow(error)
                    else:
                        item = await generator.asend(sent)
                except StopAsyncIteration:
                    break
                finally:
                    otel_context.detach(token)
                items.add(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    token = otel_context.attach(ctx)
                    try:
                        await generator.aclose()
                    finally:
                        otel_context.detach(token)
                    raise
                except BaseException as error:
                    thrown = error
        except GeneratorExit:
            if finish_ok is not None:
                finish_ok(span, items.value())
            span.end()
            raise
        except BaseException as error:
            spans.record_error(span, error)
            span.end()
            raise
        if finish_ok is not None:
            finish_ok(span, items.value())
        span.end()

    return wrapper
