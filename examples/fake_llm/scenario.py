"""What a fake request asks for, read the same way for both APIs: question, tools, errors."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

ERRORS = {
    "[rate_limit]": (429, "rate_limit_error", "Rate limit reached, retry later"),
    "[server_error]": (500, "api_error", "The server had an error"),
    "[bad_request]": (400, "invalid_request_error", "Invalid request: bad parameter"),
}
VERDICT = re.compile(r"\[verdict=([\w-]+)\]")
"""``[verdict=LABEL]``: answer a judge's JSON verdict with that label."""


def tokens(text: str) -> int:
    return max(1, len(text.split()))


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for part in content or []:
        if isinstance(part, dict):
            if part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif part.get("type") == "tool_result":
                texts.append(_text_of(part.get("content")))
    return " ".join(texts)


def ident(prefix: str, body: dict[str, Any]) -> str:
    return prefix + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]


class Scenario:
    """What one request asks for, in the terms of both APIs."""

    def _value(self, name: str) -> str:
        """A tool argument: an id-like word of the question for ``*_id``, else the question."""
        found = re.search(r"\b[A-Z]+-\d+\b", self.question) if "id" in name else None
        return found.group(0) if found else self.question

    def __init__(self, body: dict[str, Any], anthropic: bool) -> None:
        messages = body.get("messages") or []
        users = [m for m in messages if m.get("role") == "user"]
        self.question = _text_of(users[-1].get("content")) if users else ""
        self.tool_result: str | None = None
        for message in messages:
            if message.get("role") == "tool":
                self.tool_result = _text_of(message.get("content"))
            content = message.get("content")
            if isinstance(content, list) and any(
                isinstance(p, dict) and p.get("type") == "tool_result" for p in content
            ):
                self.tool_result = _text_of(content)
        system = body.get("system") or ""
        system_msgs = [_text_of(m.get("content")) for m in messages if m.get("role") == "system"]
        prompt_text = " ".join([_text_of(system), *system_msgs])
        prompt_text += " " + " ".join(_text_of(m.get("content")) for m in messages)
        self.input_tokens = tokens(prompt_text) + 3 * len(messages)
        cached = isinstance(system, list) and any("cache_control" in b for b in system)
        self.cache_read = tokens(_text_of(system)) if cached else 0
        tools = body.get("tools") or []
        self.tool: dict[str, Any] | None = None
        if tools and self.tool_result is None:
            first = tools[0]
            spec = first.get("function", first) if not anthropic else first
            schema = spec.get("parameters") or spec.get("input_schema") or {}
            names = list((schema.get("properties") or {}).keys()) or ["input"]
            self.tool = {"name": spec.get("name"), "arguments": {names[0]: self._value(names[0])}}
        if self.tool_result is not None:
            self.answer = f"Based on the tool: {self.tool_result}"
        else:
            self.answer = f"Here is a short answer to: {self.question}"
        verdict = VERDICT.search(self.question)
        if verdict is not None:
            label = verdict.group(1)
            self.answer = json.dumps(
                {"label": label, "explanation": f"The fake judge found the answer {label}."}
            )
        self.output_tokens = tokens(self.answer) if self.tool is None else 12
        self.error = next((e for marker, e in ERRORS.items() if marker in self.question), None)
        self.slow = "[timeout]" in self.question
        self.limit_once = "[rate_limit_once]" in self.question
