"""The LangChain integration: fake chat models, an in-memory retriever, tools, an agent."""

from __future__ import annotations

from typing import Any

import openai
import pyflare
import pytest
from fake_llm import FakeLLMServer
from langchain_agent import make_agent, scripted_model
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langchain_rag import build_chain
from opentelemetry.trace import StatusCode
from pyflare.integrations import instrument
from pyflare.integrations.langchain import PyflareCallbackHandler
from sdk_support import Recorded, attrs, is_child, json_attr


def test_rag_chain_shape(langchain_traced: Recorded) -> None:
    with pyflare.span("request"):
        answer = build_chain().invoke("How long do refunds take?")
    assert "5 business days" in answer
    request = langchain_traced.one("request")
    chain = langchain_traced.one("rag_chain")
    retriever = langchain_traced.one("retrieve VectorStoreRetriever")
    model = langchain_traced.one("chat gpt-4o-mini")
    assert is_child(chain, request)
    assert chain.context.trace_id == retriever.context.trace_id == model.context.trace_id
    a = attrs(retriever)
    assert a["openinference.span.kind"] == "RETRIEVER"
    assert a["input.value"] == "How long do refunds take?"
    assert a["retrieval.documents.0.document.id"].startswith("kb-")
    assert a["retrieval.documents.1.document.content"]
    m = attrs(model)
    assert (m["openinference.span.kind"], m["gen_ai.operation.name"]) == ("LLM", "chat")
    assert m["gen_ai.response.model"] == "gpt-4o-mini"
    assert (m["gen_ai.usage.input_tokens"], m["gen_ai.usage.output_tokens"]) == (64, 9)
    assert m["gen_ai.response.finish_reasons"] == ("stop",)
    system, human = json_attr(model, "gen_ai.input.messages")
    assert system["role"] == "system" and "Refunds" in system["parts"][0]["content"]
    assert human == {
        "role": "user",
        "parts": [{"type": "text", "content": "How long do refunds take?"}],
    }
    assert attrs(chain)["output.value"] == answer


def test_agent_with_actions_tools_and_model_calls(langchain_traced: Recorded) -> None:
    answer = make_agent(scripted_model()).invoke("Where is A-1001?")
    assert "shipped" in answer
    agent = langchain_traced.one("invoke_agent support_agent")
    assert attrs(agent)["gen_ai.operation.name"] == "invoke_agent"
    assert attrs(agent)["gen_ai.agent.name"] == "support_agent"
    assert [e.name for e in agent.events] == ["agent.action", "agent.action", "agent.finish"]
    assert agent.events[0].attributes is not None
    assert agent.events[0].attributes["gen_ai.tool.name"] == "get_order_status"
    tools = [
        langchain_traced.one(f"execute_tool {n}") for n in ("get_order_status", "refund_policy")
    ]
    models = langchain_traced.named("chat gpt-4o-mini")
    assert len(models) == 2
    assert all(is_child(s, agent) for s in [*tools, *models])
    status = attrs(tools[0])
    assert status["gen_ai.tool.call.id"] == "call_1"
    assert status["gen_ai.tool.call.result"] == "order A-1001 shipped yesterday"
    asked = langchain_traced.named("tool_call get_order_status")
    assert len(asked) == 1 and is_child(asked[0], models[0])


def test_tool_error_is_recorded(langchain_traced: Recorded) -> None:
    @tool
    def flaky(query: str) -> str:
        """Always fails."""
        raise TimeoutError("backend timed out")

    with pytest.raises(TimeoutError):
        flaky.invoke({"query": "x"})
    span = langchain_traced.one("execute_tool flaky")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["pyflare.error.category"] == "timeout"


class OpenAIBacked(BaseChatModel):
    """A LangChain chat model that calls the (instrumented) OpenAI client itself."""

    client: Any

    @property
    def _llm_type(self) -> str:
        return "openai-backed"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self.client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": str(messages[-1].content)}]
        )
        usage = {"input_tokens": 9, "output_tokens": 9, "total_tokens": 18}
        message = AIMessage(reply.choices[0].message.content, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_provider_span_below_a_langchain_model_counts_once(
    langchain_traced: Recorded, fake_llm: FakeLLMServer
) -> None:
    langchain_traced.handle.instrumented += instrument(["openai"])
    client = openai.OpenAI(base_url=fake_llm.openai_url, api_key="sk-fake", max_retries=0)
    OpenAIBacked(client=client).invoke("hello")
    wrapper = langchain_traced.one("OpenAIBacked")
    call = langchain_traced.one("chat gpt-4o-mini")
    assert is_child(call, wrapper)
    assert attrs(wrapper)["openinference.span.kind"] == "CHAIN"
    assert not any(k.startswith("gen_ai.usage") for k in attrs(wrapper))
    assert attrs(call)["gen_ai.usage.input_tokens"] > 0


def test_code_inside_a_step_nests_under_it(langchain_traced: Recorded) -> None:
    @pyflare.trace(name="helper")
    def helper(x: str) -> str:
        return x * 2

    RunnableLambda(helper, name="step").invoke("ab")
    assert is_child(langchain_traced.one("helper"), langchain_traced.one("step"))


def test_explicit_handler_and_uninstrument(traced: Recorded) -> None:
    model = GenericFakeChatModel(messages=iter(["one", "two"]))
    model.invoke("hi", config={"callbacks": [PyflareCallbackHandler()]})
    assert len(traced.named("GenericFakeChatModel")) == 1
    integrations = instrument(["langchain"])
    integrations[0].uninstrument()
    model.invoke("hi again")
    assert len(traced.named("GenericFakeChatModel")) == 1
