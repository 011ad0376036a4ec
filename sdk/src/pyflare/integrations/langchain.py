"""LangChain: a callback handler that turns runs into spans, registered for every run.

Each LangChain run becomes a span whose parent is the span of its parent run, so chains,
agents (with an event per action), tools, retrievers (with their documents) and model
calls nest as LangChain ran them; a run without a parent nests under the current span (a
``@pyflare.trace`` function calling a chain). A run's span is also made current while the
run executes, so spans of code inside a tool or a chain step, such as an OpenAI call, nest
under it. When a pyflare provider wrapper records the model call below a LangChain model
run, the LangChain span stays a plain chain span (no model, no tokens), so the call is
priced once, with the provider's exact usage.

``instrument()`` registers the handler with LangChain's configure hook, so it joins every
run without passing ``callbacks=``; the handler can also be passed explicitly:
``chain.invoke(x, config={"callbacks": [PyflareCallbackHandler()]})``.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from pyflare import content, runtime, semconv, spans
from pyflare.integrations import langchain_messages as lc
from pyflare.integrations import llm

SCOPE = "pyflare.langchain"


@dataclass
class _Run:
    span: Span
    context: Any
    token: object


class PyflareCallbackHandler(BaseCallbackHandler):
    """Spans for LangChain runs (see the module docstring)."""

    run_inline = True
    raise_error = False

    def __init__(self) -> None:
        self.enabled = True
        self._runs: dict[UUID, _Run] = {}
        self._models: dict[UUID, tuple[Any, Any]] = {}

    # LangChain skips a handler's callbacks entirely while it ignores them.
    @property
    def ignore_llm(self) -> bool:
        return not self.enabled

    @property
    def ignore_chain(self) -> bool:
        return not self.enabled

    @property
    def ignore_agent(self) -> bool:
        return not self.enabled

    @property
    def ignore_retriever(self) -> bool:
        return not self.enabled

    @property
    def ignore_chat_model(self) -> bool:
        return not self.enabled

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        attributes: dict[str, AttributeValue],
        span_kind: SpanKind = SpanKind.INTERNAL,
    ) -> Span:
        parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
        parent_context = trace.set_span_in_context(parent.span) if parent else None
        span = runtime.tracer(SCOPE).start_span(
            name, context=parent_context, kind=span_kind, attributes=attributes
        )
        current = trace.set_span_in_context(span)
        self._runs[run_id] = _Run(span, current, otel_context.attach(current))
        return span

    def _end(self, run_id: UUID, error: BaseException | None = None) -> Span | None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return None
        # Detach only where this run attached: a run started and ended in different
        # contexts (a streamed chain) leaves nothing behind in the context it ends in.
        if otel_context.get_current() is run.context:
            otel_context.detach(run.token)  # type: ignore[arg-type]
        if error is not None:
            spans.record_error(run.span, error, llm.error_category(error))
        return run.span

    def _finish(self, run_id: UUID, output: Any = None, error: BaseException | None = None) -> None:
        span = self._end(run_id, error)
        if span is None:
            return
        if error is None and output is not None:
            content.set_output(span, output)
        span.end()

    # chains and agents

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = _name(serialized, kwargs, "chain")
        is_agent = "agent" in name.lower() or "agent" in (tags or [])
        kind = "agent" if is_agent else "chain"
        span_name = f"invoke_agent {name}" if is_agent else name
        attributes: dict[str, AttributeValue] = dict(semconv.kind_attributes(kind, name))
        span = self._start(run_id, parent_run_id, span_name, attributes)
        content.set_input(span, inputs)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id, outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id, error=error)

    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        attributes: dict[str, AttributeValue] = {semconv.TOOL_NAME: str(action.tool)}
        if content.capturing():
            attributes["tool_input"] = content.clean(content.to_text(action.tool_input)[0])[0]
            attributes["log"] = content.clean(str(getattr(action, "log", "")))[0]
        run.span.add_event("agent.action", attributes)

    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is None:
            return
        attributes: dict[str, AttributeValue] = {}
        if content.capturing():
            output = content.to_text(getattr(finish, "return_values", None))[0]
            attributes["output"] = content.clean(output)[0]
        run.span.add_event("agent.finish", attributes)

    # tools and retrievers

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = _name(serialized, kwargs, "tool")
        attributes: dict[str, AttributeValue] = {
            **semconv.kind_attributes("tool", name),
            semconv.TOOL_TYPE: "function",
        }
        if isinstance(kwargs.get("tool_call_id"), str):
            attributes[semconv.TOOL_CALL_ID] = kwargs["tool_call_id"]
        span = self._start(run_id, parent_run_id, f"execute_tool {name}", attributes)
        arguments = inputs if inputs is not None else input_str
        content.set_text(span, semconv.TOOL_CALL_ARGUMENTS, arguments)
        content.set_input(span, arguments)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None:
            result = getattr(output, "content", output)
            content.set_text(run.span, semconv.TOOL_CALL_RESULT, result)
        self._finish(run_id, getattr(output, "content", output))

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id, error=error)

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        name = _name(serialized, kwargs, "retriever")
        attributes: dict[str, AttributeValue] = {**semconv.kind_attributes("retriever", name)}
        span = self._start(run_id, parent_run_id, f"retrieve {name}", attributes)
        content.set_input(span, query)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self._runs.get(run_id)
        if run is not None:
            lc.set_documents(run.span, documents)
        self._finish(run_id)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id, error=error)

    # model calls

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        batch = [lc.inputs(prompt) for prompt in messages]
        self._model_start(serialized, batch, run_id, parent_run_id, metadata, kwargs)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        batch = [[{"role": "user", "parts": [{"type": "text", "content": p}]}] for p in prompts]
        self._model_start(serialized, batch, run_id, parent_run_id, metadata, kwargs)

    def _model_start(
        self,
        serialized: dict[str, Any] | None,
        batch: list[list[dict[str, Any]]],
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> None:
        params = kwargs.get("invocation_params") or {}
        meta = metadata or {}
        model = params.get("model") or params.get("model_name") or meta.get("ls_model_name")
        name = f"chat {model}" if model else _name(serialized, kwargs, "llm")
        span = self._start(run_id, parent_run_id, name, {}, SpanKind.CLIENT)
        span.set_attribute("langchain.model.class", _name(serialized, {}, "llm"))
        llm.expect_delegation(span.get_span_context().span_id)
        self._models[run_id] = (model, meta.get("ls_provider"))
        messages = batch[0] if len(batch) == 1 else [m for prompt in batch for m in prompt]
        content.set_text(span, semconv.INPUT_MESSAGES, messages)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._end(run_id)
        model, provider = self._models.pop(run_id, (None, None))
        if span is None:
            return
        if llm.delegated(span.get_span_context().span_id):
            # A provider wrapper recorded this call with exact usage; do not count it twice.
            span.set_attributes({semconv.SPAN_KIND: "CHAIN", "pyflare.langchain.delegated": True})
            span.end()
            return
        generations = lc.generation_messages(response)
        reasons = [r for r in (lc.finish_reason(g) for g in generations) if r]
        answered_by = lc.response_model(response, generations)
        if model is None and answered_by is not None:
            span.update_name(f"chat {answered_by}")
        span.set_attributes(
            {
                semconv.OPERATION: "chat",
                semconv.SPAN_KIND: "LLM",
                **llm.clean_attributes(
                    {
                        semconv.PROVIDER: provider,
                        semconv.REQUEST_MODEL: model,
                        semconv.RESPONSE_MODEL: answered_by,
                        semconv.FINISH_REASONS: reasons or None,
                    }
                ),
                **lc.usage(response, generations),
            }
        )
        outputs, calls = lc.outputs(generations)
        if outputs:
            content.set_text(span, semconv.OUTPUT_MESSAGES, outputs)
        llm.tool_call_spans(span, calls)
        span.end()

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._models.pop(run_id, None)
        span = self._end(run_id, error)
        if span is not None:
            llm.delegated(span.get_span_context().span_id)
            span.set_attributes({semconv.OPERATION: "chat", semconv.SPAN_KIND: "LLM"})
            span.end()


def _name(serialized: dict[str, Any] | None, kwargs: dict[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if serialized:
        if isinstance(serialized.get("name"), str):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return default


_handler: PyflareCallbackHandler | None = None


def handler() -> PyflareCallbackHandler:
    """The handler that :func:`instrument` adds to every run."""
    global _handler
    if _handler is None:
        _handler = PyflareCallbackHandler()
    return _handler


def instrument() -> None:
    """Add the handler to every LangChain run (LangChain's configure hook; once)."""
    global _hook
    current = handler()
    current.enabled = True
    if _hook is None:
        from langchain_core.tracers.context import register_configure_hook

        _hook = ContextVar("pyflare_langchain_handler", default=current)
        register_configure_hook(_hook, True, PyflareCallbackHandler)


def uninstrument() -> None:
    """Stop making spans (LangChain has no way to remove a hook; the handler goes quiet)."""
    if _handler is not None:
        _handler.enabled = False


_hook: ContextVar[PyflareCallbackHandler | None] | None = None
