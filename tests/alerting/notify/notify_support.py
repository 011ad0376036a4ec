"""Fake receivers for the notification tests: real HTTP servers on 127.0.0.1 playing a
webhook, Slack and PagerDuty, and helpers that make alerts and read the outbox.

One threaded stdlib server answers on three paths: ``/hook`` (an Alertmanager-style webhook
receiver), ``/slack`` (checks Slack's block limits, answers ``ok``) and ``/pagerduty``
(checks Events API v2 fields, answers 202). A test can queue answers (a status, a
``Retry-After``, a delay longer than the client's timeout) and reads back every request.
Sleeps are recorded rather than slept, and ``now`` is passed in, so nothing here waits on
the clock except the one deliberate 0.2 s client timeout.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pyflare_cli.alerting.model import Alert, fingerprint
from pyflare_cli.alerting.notify.notifier import Delivery
from pyflare_cli.alerting.notify.outbox import OUTBOX_FILE
from pyflare_cli.alerting.notify.targets import Target

T0 = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any


def _slack_problem(body: Any) -> str | None:
    if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
        return "no_text"
    blocks = body.get("blocks", [])
    if len(blocks) > 50:
        return "invalid_blocks: more than 50 items"
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        if block["type"] == "header" and len(text) > 150:
            return "invalid_blocks: header text too long"
        if block["type"] == "section" and not 0 < len(text) <= 3000:
            return "invalid_blocks: section text length"
    return None


def _pagerduty_problem(body: Any) -> str | None:
    if not isinstance(body, dict) or not body.get("routing_key") or not body.get("dedup_key"):
        return "routing_key and dedup_key are required"
    if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        return "event_action is invalid"
    if body["event_action"] == "trigger":
        payload = body.get("payload", {})
        if not all(payload.get(k) for k in ("summary", "source", "severity")):
            return "payload.summary, source and severity are required"
        if len(payload["summary"]) > 1024 or payload["severity"] not in (
            "critical",
            "error",
            "warning",
            "info",
        ):
            return "payload is invalid"
    return None


class Receivers:
    """What the server received, and what it is told to answer (queued, then ``default``)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.plan: list[Answer] = []
        self.default = Answer()
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.base = ""

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def answer(self, *answers: Answer) -> None:
        with self.lock:
            self.plan.extend(answers)

    def bodies(self, path: str | None = None) -> list[Any]:
        with self.lock:
            return [r.body for r in self.requests if path is None or r.path == path]

    def next_answer(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append(request)
            return self.plan.pop(0) if self.plan else self.default


def handler(receivers: Receivers) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.loads(raw) if raw else None
            request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            answer = receivers.next_answer(request)
            if answer.delay:
                receivers.release.wait(answer.delay)
            if answer.status != 200:
                return self._send(answer.status, b"no", answer.headers)
            if self.path == "/slack":
                problem = _slack_problem(body)
                return self._send(400 if problem else 200, (problem or "ok").encode())
            if self.path == "/pagerduty":
                problem = _pagerduty_problem(body)
                if problem:
                    doc = {"status": "invalid event", "errors": [problem]}
                    return self._send(400, json.dumps(doc).encode())
                doc = {"status": "success", "dedup_key": (body or {})["dedup_key"]}
                return self._send(202, json.dumps(doc).encode())
            return self._send(200, b"")

        def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a timeout test)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closes its socket; that is the point of the test


def make_alert(
    name: str = "HighErrorRate",
    state: str = "firing",
    *,
    severity: str = "critical",
    started: datetime = T0,
    value: float | None = 0.12,
    annotations: dict[str, str] | None = None,
    **labels: str,
) -> Alert:
    full = {"alertname": name, "severity": severity, **labels}
    return Alert(
        fingerprint=fingerprint(full),
        labels=full,
        annotations=annotations
        if annotations is not None
        else {"summary": f"{name} on {labels.get('model', 'all')}", "description": "fails"},
        state=state,  # type: ignore[arg-type]
        value=value,
        active_since=started,
        started_at=started,
        ended_at=None,
        last_evaluated=started,
    )


def resolved(alert: Alert, at: datetime) -> Alert:
    return replace(alert, state="resolved", ended_at=at, last_evaluated=at)


def hook(receivers: Receivers, **options: Any) -> Target:
    values: dict[str, Any] = {"timeout": 5.0, **options}
    return Target(name="hook", kind="webhook", url=receivers.url("/hook"), **values)


def outbox(tmp_path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((tmp_path / "alerts" / OUTBOX_FILE).read_text())[
        "entries"
    ]
    return entries


def statuses(deliveries: list[Delivery]) -> list[str]:
    return [d.status for d in deliveries]
