"""Deterministic text for the demo spans: questions, documents, prompts and stack traces.

Prompt and completion text is what drift and search analyses read, so its length must follow
the token counts (a prompt twice as long in tokens is about twice as long in characters).
Text is cut from one fixed corpus built at import (no randomness beyond the caller's
``random.Random``), which keeps 50k spans fast to build and the output reproducible.
"""

from __future__ import annotations

import json
import random

_SENTENCES = (
    "Thanks for reaching out to the support team.",
    "Orders placed before 2 pm ship the same business day from our Leipzig warehouse.",
    "Refunds are issued to the original payment method within five to seven business days.",
    "You can change the delivery address until the parcel has been handed to the carrier.",
    "Invoices are available as PDF under Account, Billing, History.",
    "The premium plan includes priority support and up to ten team seats.",
    "Two-factor authentication can be enabled from the security settings page.",
    "Items must be returned unused and in their original packaging within thirty days.",
    "A tracking link is emailed as soon as the carrier scans the parcel.",
    "Customs fees for deliveries outside the EU are paid by the recipient.",
    "If a payment fails we retry the card three times over five days.",
    "The mobile app supports offline mode for saved documents.",
    "Passwords must contain at least twelve characters.",
    "Annual plans can be cancelled at any time and are refunded pro rata.",
    "Express delivery is available for addresses in Germany, France and the Netherlands.",
    "Gift cards cannot be exchanged for cash.",
    "Damaged items are replaced free of charge when reported within 48 hours.",
    "Our API rate limit is 600 requests per minute per workspace.",
    "Exports are generated in the background and linked by email when ready.",
    "Support is available Monday to Friday, 8 am to 8 pm CET.",
    "Let me check the status of that order for you.",
    "I found the following information in our help center.",
    "Could you confirm the email address used for the purchase?",
    "The warranty covers manufacturing defects for two years.",
)
_BUILDER = random.Random(20240611)
CORPUS = " ".join(_BUILDER.choice(_SENTENCES) for _ in range(1800))
"""About 110k characters of support-desk prose; cuts start at a sentence."""

QUESTIONS: dict[str, tuple[str, ...]] = {
    "orders": (
        "Where is my order {order}? It was supposed to arrive yesterday.",
        "Can I still change the delivery address for order {order}?",
        "Order {order} shows delivered but I never received it.",
    ),
    "refunds": (
        "I want a refund for order {order}, the item arrived broken.",
        "How long does the refund for {order} take?",
        "Please cancel order {order} and refund me.",
    ),
    "billing": (
        "Why was I charged twice this month?",
        "Where can I download my invoices?",
        "My card payment failed, what happens now?",
    ),
    "account": (
        "How do I enable two-factor authentication?",
        "I cannot log in after resetting my password.",
        "How do I add a colleague to my workspace?",
    ),
    "product": (
        "Does the premium plan include priority support?",
        "What is the API rate limit for my workspace?",
        "Can I use the mobile app offline?",
    ),
    "smalltalk": ("Hi there!", "Thanks, that was helpful.", "Are you a bot?"),
}

DOC_TITLES = (
    "Shipping times and carriers",
    "Returns and refunds policy",
    "Billing and invoices",
    "Account security",
    "Plans and pricing",
    "API limits",
    "Mobile app",
    "Warranty",
)

_STACK_FRAMES = {
    "openai": (
        'File "/app/support_agent/llm.py", line 88, in complete',
        "    response = await self._client.chat.completions.create(**params)",
        'File "/usr/local/lib/python3.12/site-packages/openai/_base_client.py", line 1594,'
        " in _request",
        "    raise self._make_status_error_from_response(err.response) from None",
    ),
    "anthropic": (
        'File "/app/support_agent/llm.py", line 112, in complete',
        "    response = await self._client.messages.create(**params)",
        'File "/usr/local/lib/python3.12/site-packages/anthropic/_base_client.py", line 1090,'
        " in _request",
        "    raise self._make_status_error_from_response(err.response) from None",
    ),
    "tool": (
        'File "/app/support_agent/tools.py", line 57, in run',
        "    result = await handler(**arguments)",
        'File "/app/support_agent/tools.py", line 141, in {tool}',
        "    raise {exc}(message)",
    ),
    "rag": (
        'File "/app/rag_api/retrieve.py", line 64, in retrieve',
        "    hits = await self.store.search(collection, vector, limit=top_k)",
        'File "/usr/local/lib/python3.12/site-packages/qdrant_client/http/api_client.py",'
        " line 97, in send",
        "    raise ResponseHandlingException(e)",
    ),
}


def text(rng: random.Random, chars: int) -> str:
    """``chars`` characters of corpus prose from a random position (at most the corpus)."""
    chars = max(0, min(chars, len(CORPUS) // 2))
    if chars == 0:
        return ""
    start = CORPUS.find(". ", rng.randrange(len(CORPUS) - chars - 200)) + 2
    return CORPUS[start : start + chars]


def question(rng: random.Random, topic: str, order: str) -> str:
    return rng.choice(QUESTIONS[topic]).format(order=order)


def stacktrace(family: str, exception_type: str, message: str, tool: str = "") -> str:
    frames = "\n  ".join(_STACK_FRAMES[family]).format(tool=tool, exc=exception_type)
    return f"Traceback (most recent call last):\n  {frames}\n{exception_type}: {message}"


def input_messages(rng: random.Random, user_text: str, history_chars: int) -> str:
    """OTel GenAI ``gen_ai.input.messages``: earlier turns padded to ``history_chars``."""
    half = max(0, history_chars // 2)
    messages = [
        {"role": "user", "parts": [{"type": "text", "content": text(rng, half)}]},
        {"role": "assistant", "parts": [{"type": "text", "content": text(rng, half)}]},
        {"role": "user", "parts": [{"type": "text", "content": user_text}]},
    ]
    if half == 0:
        messages = messages[2:]
    return json.dumps(messages)


def output_text_message(content: str, finish_reason: str) -> str:
    """OTel GenAI ``gen_ai.output.messages`` for a text answer."""
    return json.dumps(
        [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": content}],
                "finish_reason": finish_reason,
            }
        ]
    )


def output_tool_calls(calls: list[tuple[str, str, dict[str, str]]], finish_reason: str) -> str:
    """OTel GenAI ``gen_ai.output.messages`` for tool calls ``(id, name, arguments)``."""
    parts = [
        {"type": "tool_call", "id": call_id, "name": name, "arguments": args}
        for call_id, name, args in calls
    ]
    return json.dumps([{"role": "assistant", "parts": parts, "finish_reason": finish_reason}])
