"""A LangChain agent loop, traced: agent, its actions, model calls and tool runs, nested.

Built from ``langchain_core`` alone: a fake chat model scripted to call a tool and then
answer, two ``@tool`` functions, and the loop as a ``RunnableLambda`` named like an agent
(pyflare makes a chain whose name contains "agent" an ``invoke_agent`` span) that reports
each action to LangChain's callbacks. ``instrument=["langchain"]`` adds pyflare's handler
to every run; nothing is passed to ``invoke``::

    python examples/langchain_agent.py && pyflare ingest traces.jsonl && pyflare traces
"""

from __future__ import annotations

import os
from typing import Any

import pyflare
from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.callbacks import CallbackManagerForChainRun
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool


@tool
def get_order_status(order_id: str) -> str:
    """The shipping status of an order."""
    return f"order {order_id} shipped yesterday"


@tool
def refund_policy(topic: str) -> str:
    """The refund policy on a topic."""
    return "refunds take 5 business days"


TOOLS = {t.name: t for t in (get_order_status, refund_policy)}
USAGE = {"input_tokens": 120, "output_tokens": 18, "total_tokens": 138}
META = {"model_name": "gpt-4o-mini", "finish_reason": "tool_calls"}


def scripted_model() -> GenericFakeChatModel:
    """A chat model that calls both tools, then answers (as a real one would)."""
    call = AIMessage(
        content="",
        tool_calls=[
            {"name": "get_order_status", "args": {"order_id": "A-1001"}, "id": "call_1"},
            {"name": "refund_policy", "args": {"topic": "late orders"}, "id": "call_2"},
        ],
        usage_metadata=USAGE,
        response_metadata=META,
    )
    final = AIMessage(
        content="Your order shipped yesterday; refunds take 5 business days.",
        usage_metadata={"input_tokens": 190, "output_tokens": 14, "total_tokens": 204},
        response_metadata={**META, "finish_reason": "stop"},
    )
    return GenericFakeChatModel(messages=iter([call, final]))


def make_agent(model: GenericFakeChatModel) -> RunnableLambda[str, str]:
    def support_agent(question: str, run_manager: CallbackManagerForChainRun) -> str:
        messages: list[BaseMessage] = [
            SystemMessage("You help customers of an online shop."),
            HumanMessage(question),
        ]
        for _ in range(4):
            reply = model.invoke(messages)
            messages.append(reply)
            if not isinstance(reply, AIMessage) or not reply.tool_calls:
                answer = str(reply.content)
                run_manager.on_agent_finish(AgentFinish({"output": answer}, log=answer))
                return answer
            for call in reply.tool_calls:
                run_manager.on_agent_action(
                    AgentAction(call["name"], call["args"], log=f"calling {call['name']}")
                )
                result: Any = TOOLS[call["name"]].invoke(call)
                messages.append(result)
        return "no answer"

    return RunnableLambda(support_agent, name="support_agent")


def main(export: str = "file://traces.jsonl") -> None:
    handle = pyflare.init(service_name="lc-agent", export=export, instrument=["langchain"])
    agent = make_agent(scripted_model())
    with pyflare.attributes(user_id="user-3", session_id="session-5", feature="support"):
        print(agent.invoke("Where is order A-1001, and can I get a refund?"))
    handle.shutdown()


if __name__ == "__main__":
    main(os.environ.get("PYFLARE_EXPORT", "file://traces.jsonl"))
