"""A local stand-in for the OpenAI and Anthropic HTTP APIs, so the examples run offline.

It answers ``POST /v1/chat/completions``, ``/v1/embeddings`` (OpenAI) and ``/v1/messages``
(Anthropic) the way the real services do, including server-sent-event streams and tool
calls, deterministically: token counts are words, an answer quotes the question, a request
with tools and no tool result yet gets a call of its first tool. Markers in the last user
message produce errors: ``[rate_limit]`` (429), ``[server_error]`` (500), ``[bad_request]``
(400) and ``[timeout]`` (answers after 1 s); ``[rate_limit_once]`` is a 429 with
``Retry-After: 1`` the first time a request body is seen, then a normal answer;
``[verdict=LABEL]`` answers ``{"label": "LABEL", "explanation": ...}`` as an LLM judge
would. ``requests`` records each request, ``times`` when it arrived and ``max_in_flight``
the most requests handled at once. Point the real clients at it::

    with FakeLLMServer() as server:
        client = OpenAI(base_url=server.openai_url, api_key="sk-fake")
        client = Anthropic(base_url=server.anthropic_url, api_key="sk-ant-fake")
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fake_llm.anthropic_api import message_events, message_response
from fake_llm.openai_api import chat_events, chat_response, embeddings_response
from fake_llm.scenario import Scenario


class FakeLLMServer:
    """The fake APIs on a free port of 127.0.0.1, in a background thread."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.times: list[float] = []
        self.seen: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLLMServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fake = self.fake
        with fake.lock:
            fake.requests.append((self.path, body))
            fake.times.append(time.monotonic())
            fake.in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
        self._counted = True
        try:
            if self.path.endswith("/chat/completions"):
                self._openai_chat(body)
            elif self.path.endswith("/embeddings"):
                self._openai_embeddings(body)
            elif self.path.endswith("/messages"):
                self._anthropic(body)
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._answering()

    def _answering(self) -> None:
        """The request stops counting as in flight once its answer starts: a client that
        has read the answer may send its next request before this thread gets to run again,
        and counting until the handler returned saw one request too many (flaky under load)."""
        if getattr(self, "_counted", False):
            self._counted = False
            with self.fake.lock:
                self.fake.in_flight -= 1

    def send_response(self, code: int, message: str | None = None) -> None:
        self._answering()
        super().send_response(code, message)

    def _json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_fake")
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, dict[str, Any] | str]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for event, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            head = f"event: {event}\n" if event else ""
            self.wfile.write(f"{head}data: {text}\n\n".encode())
            self.wfile.flush()

    def _limited_once(self, body: dict[str, Any], scenario: Scenario) -> bool:
        """``[rate_limit_once]``: a 429 with Retry-After the first time this body comes."""
        if not scenario.limit_once:
            return False
        key = json.dumps(body, sort_keys=True)
        with self.fake.lock:
            first = key not in self.fake.seen
            self.fake.seen.add(key)
        if first:
            error = {"message": "Rate limit reached, retry later", "type": "rate_limit_error"}
            self._json(429, {"error": error}, {"retry-after": "1"})
        return first

    def _error(self, scenario: Scenario, anthropic: bool) -> bool:
        if scenario.slow:
            time.sleep(1.0)
        if scenario.error is None:
            return False
        status, kind, message = scenario.error
        if anthropic:
            self._json(status, {"type": "error", "error": {"type": kind, "message": message}})
        else:
            self._json(status, {"error": {"message": message, "type": kind, "code": None}})
        return True

    def _openai_chat(self, body: dict[str, Any]) -> None:
        scenario = Scenario(body, anthropic=False)
        if self._limited_once(body, scenario) or self._error(scenario, anthropic=False):
            return
        if body.get("stream"):
            self._sse([(None, e) for e in chat_events(body, scenario)])
        else:
            self._json(200, chat_response(body, scenario))

    def _openai_embeddings(self, body: dict[str, Any]) -> None:
        self._json(200, embeddings_response(body))

    def _anthropic(self, body: dict[str, Any]) -> None:
        scenario = Scenario(body, anthropic=True)
        if self._error(scenario, anthropic=True):
            return
        if body.get("stream"):
            self._sse(message_events(body, scenario))
        else:
            self._json(200, message_response(body, scenario))
