"""Notifications against real HTTP servers on 127.0.0.1 playing a webhook, Slack and PagerDuty.

One threaded stdlib server answers on three paths: ``/hook`` (an Alertmanager-style webhook
receiver), ``/slack`` (checks Slack's block limits, answers ``ok``) and ``/pagerduty``
(checks Events API v2 fields, answers 202). A test can queue answers (a status, a
``Retry-After``, a delay longer than the client's timeout) and reads back every request.
Sleeps are recorded rather than slept, and ``now`` is passed in, so nothing here waits on
the clock except the one deliberate 0.2 s client timeout.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pyflare_cli.alerting.model import Alert, fingerprint
from pyflare_cli.alerting.notify import (
    OUTBOX_FILE,
    PAGERDUTY_URL,
    STATE_FILE,
    Delivery,
    Notifier,
    Target,
    parse_targets,
)
from pyflare_cli.errors import UsageError

T0 = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
ZERO_TIME = "0001-01-01T00:00:00Z"


# --- the fake receivers ----------------------------------------------------------------------


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


def _handler(receivers: Receivers) -> type[BaseHTTPRequestHandler]:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closes its socket; that is the point of the test


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    state = Receivers()
    server = _Server(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- helpers ---------------------------------------------------------------------------------


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


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def notifier(tmp_path: Path, sleeps: list[float]) -> Iterator[Callable[..., Notifier]]:
    made: list[Notifier] = []

    def make(*targets: Target) -> Notifier:
        made.append(Notifier(tmp_path / "alerts", targets, sleep=sleeps.append))
        return made[-1]

    yield make
    for one in made:
        one.close()


def outbox(tmp_path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((tmp_path / "alerts" / OUTBOX_FILE).read_text())[
        "entries"
    ]
    return entries


def statuses(deliveries: list[Delivery]) -> list[str]:
    return [d.status for d in deliveries]


# --- payload shapes --------------------------------------------------------------------------


def test_webhook_body_is_alertmanager_v4(receivers: Receivers, notifier: Any) -> None:
    a, b = make_alert(model="gpt-4o"), make_alert(model="claude")
    target = hook(receivers, headers={"Authorization": "Bearer s3cret"})
    deliveries = notifier(target).notify([a, b], T0)

    assert deliveries == [Delivery("hook", '{alertname="HighErrorRate"}', "sent", 2, 1, "HTTP 200")]
    (request,) = receivers.requests
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["user-agent"].startswith("pyflare/")
    body = request.body
    assert set(body) == {
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    assert body["version"] == "4"
    assert body["groupKey"] == '{alertname="HighErrorRate"}'
    assert body["status"] == "firing"
    assert body["receiver"] == "hook"
    assert body["groupLabels"] == {"alertname": "HighErrorRate"}
    assert body["commonLabels"] == {"alertname": "HighErrorRate", "severity": "critical"}
    assert body["commonAnnotations"] == {"description": "fails"}
    assert body["externalURL"] == ""
    first = body["alerts"][0]
    assert set(first) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert first["status"] == "firing"
    assert first["labels"] == a.labels
    assert first["annotations"] == a.annotations
    assert first["startsAt"] == "2024-05-10T12:00:00Z"
    assert first["endsAt"] == ZERO_TIME
    assert [x["fingerprint"] for x in body["alerts"]] == [a.fingerprint, b.fingerprint]


def test_slack_message_has_text_and_blocks(receivers: Receivers, notifier: Any) -> None:
    alert = make_alert(
        model="gpt-4o",
        annotations={"summary": "gpt-4o fails 12% <of> calls", "description": "since deploy"},
    )
    target = Target("slack", "slack", receivers.url("/slack"), timeout=5.0)

    deliveries = notifier(target).notify([alert], T0)

    assert statuses(deliveries) == ["sent"]
    (body,) = receivers.bodies("/slack")
    assert body["text"] == "[FIRING:1] HighErrorRate"
    header, section, context = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[FIRING:1] HighErrorRate"},
    }
    text = section["text"]["text"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert text.splitlines()[0] == "*HighErrorRate* · critical · FIRING"
    assert "*value:* 0.12" in text
    assert "*summary:* gpt-4o fails 12% &lt;of&gt; calls" in text  # Slack's escaping
    assert "*description:* since deploy" in text
    assert "*labels:* model=gpt-4o" in text
    assert context["type"] == "context"
    assert "1 firing, 0 resolved" in context["elements"][0]["text"]


def test_slack_message_stays_within_slack_limits(receivers: Receivers, notifier: Any) -> None:
    long = {"summary": "x" * 5000}
    alerts = [make_alert(model=f"m{i:02d}", annotations=long) for i in range(60)]
    target = Target("slack", "slack", receivers.url("/slack"), timeout=5.0)

    deliveries = notifier(target).notify(alerts, T0)

    assert deliveries[0].status == "sent"  # the fake Slack refuses anything over its limits
    assert deliveries[0].alerts == 60
    (body,) = receivers.bodies("/slack")
    assert len(body["blocks"]) == 50
    sections = [b for b in body["blocks"] if b["type"] == "section"]
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert sections[-1]["text"]["text"] == "…and 13 more alerts in this group"


def test_pagerduty_trigger_then_resolve_share_the_dedup_key(
    receivers: Receivers, notifier: Any
) -> None:
    alert = make_alert(severity="warning", model="gpt-4o", annotations={"summary": "s" * 2000})
    target = Target("pd", "pagerduty", receivers.url("/pagerduty"), "R0UTING", timeout=5.0)
    notify = notifier(target).notify

    assert statuses(notify([alert], T0)) == ["sent"]
    assert notify([resolved(alert, T0 + MIN)], T0 + 5 * MIN)[0].detail == "HTTP 202"

    trigger, resolve = receivers.bodies("/pagerduty")
    assert trigger["routing_key"] == "R0UTING"
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == alert.fingerprint
    payload = trigger["payload"]
    assert payload["source"] == "pyflare"
    assert payload["severity"] == "warning"
    assert payload["timestamp"] == "2024-05-10T12:00:00Z"
    assert len(payload["summary"]) == 1024 and payload["summary"].startswith("HighErrorRate: ss")
    assert payload["custom_details"] == {
        "labels": alert.labels,
        "annotations": alert.annotations,
        "value": 0.12,
    }
    assert resolve == {
        "routing_key": "R0UTING",
        "event_action": "resolve",
        "dedup_key": alert.fingerprint,
    }


def test_pagerduty_sends_one_event_per_alert(receivers: Receivers, notifier: Any) -> None:
    a, b = make_alert(model="a", severity="info"), make_alert(model="b", severity="info")
    target = Target("pd", "pagerduty", receivers.url("/pagerduty"), "key", timeout=5.0)
    notify = notifier(target).notify

    assert notify([a, b], T0)[0].alerts == 2
    c = make_alert(model="c", severity="info")
    notify([a, b, c], T0 + 5 * MIN)  # a change: only the new alert is triggered

    keys = [(x["event_action"], x["dedup_key"]) for x in receivers.bodies()]
    assert keys == [
        ("trigger", a.fingerprint),
        ("trigger", b.fingerprint),
        ("trigger", c.fingerprint),
    ]
    assert {x["payload"]["severity"] for x in receivers.bodies()} == {"info"}


# --- grouping and pacing ---------------------------------------------------------------------


def test_group_wait_delays_the_first_send(receivers: Receivers, notifier: Any) -> None:
    notify = notifier(hook(receivers, group_wait=timedelta(seconds=30))).notify
    alert = make_alert()

    assert notify([alert], T0 + timedelta(seconds=10)) == []
    assert notify([alert], T0 + timedelta(seconds=29)) == []
    assert statuses(notify([alert], T0 + timedelta(seconds=30))) == ["sent"]
    assert len(receivers.requests) == 1


def test_group_interval_batches_a_second_alert(receivers: Receivers, notifier: Any) -> None:
    notify = notifier(hook(receivers, group_interval=5 * MIN)).notify
    a = make_alert(model="a")
    b = make_alert(model="b", started=T0 + MIN)
    c = make_alert(model="c", started=T0 + 4 * MIN)

    notify([a], T0)
    assert notify([a, b], T0 + MIN) == []
    assert notify([a, b], T0 + 3 * MIN) == []
    assert notify([a, b, c], T0 + 4 * MIN) == []
    assert [d.alerts for d in notify([a, b, c], T0 + 5 * MIN)] == [3]

    first, second = receivers.bodies()
    assert [x["fingerprint"] for x in first["alerts"]] == [a.fingerprint]
    assert [x["fingerprint"] for x in second["alerts"]] == [
        a.fingerprint,
        b.fingerprint,
        c.fingerprint,
    ]


def test_groups_follow_group_by(receivers: Receivers, notifier: Any) -> None:
    notify = notifier(hook(receivers, group_by=("model",))).notify
    deliveries = notify([make_alert(model="a"), make_alert("Slow", model="a"), make_alert()], T0)

    assert [(d.group_key, d.alerts) for d in deliveries] == [('{model="a"}', 2), ("{}", 1)]
    assert [b["groupLabels"] for b in receivers.bodies()] == [{"model": "a"}, {}]


def test_repeat_interval_resends_an_unchanged_group(receivers: Receivers, notifier: Any) -> None:
    notify = notifier(hook(receivers, repeat_interval=timedelta(hours=1))).notify
    alert = make_alert()

    notify([alert], T0)
    for minutes in range(10, 60, 10):
        assert notify([alert], T0 + minutes * MIN) == []
    assert statuses(notify([alert], T0 + 60 * MIN)) == ["sent"]
    assert notify([alert], T0 + 61 * MIN) == []

    first, again = receivers.bodies()
    assert first == again


def test_repeated_calls_at_the_same_state_send_once(receivers: Receivers, notifier: Any) -> None:
    alerts = [make_alert(model="a"), make_alert(model="b")]
    for at in (T0, T0, T0 + MIN, T0 + 30 * MIN, T0 + 3 * timedelta(hours=1)):
        notifier(hook(receivers)).notify(alerts, at)  # a new process each time, as with cron

    assert len(receivers.requests) == 1


def test_resolution_is_sent_once(receivers: Receivers, notifier: Any) -> None:
    notify = notifier(hook(receivers)).notify
    alert = make_alert()
    gone = resolved(alert, T0 + 2 * MIN)

    notify([alert], T0)
    assert notify([gone], T0 + 2 * MIN) == []  # within group_interval of the last send
    assert statuses(notify([gone], T0 + 5 * MIN)) == ["sent"]
    for minutes in (6, 20, 300, 600):
        assert notify([gone], T0 + minutes * MIN) == []

    body = receivers.bodies()[-1]
    assert body["status"] == "resolved"
    assert body["alerts"][0]["status"] == "resolved"
    assert body["alerts"][0]["endsAt"] == "2024-05-10T12:02:00Z"
    assert len(receivers.requests) == 2


def test_send_resolved_false_sends_no_resolution(receivers: Receivers, notifier: Any) -> None:
    notify = notifier(hook(receivers, send_resolved=False)).notify
    alert = make_alert()

    notify([alert], T0)
    assert notify([resolved(alert, T0 + MIN)], T0 + 10 * MIN) == []
    again = make_alert(started=T0 + 20 * MIN)
    assert statuses(notify([again], T0 + 20 * MIN)) == ["sent"]  # fires again: told again
    assert [b["status"] for b in receivers.bodies()] == ["firing", "firing"]


def test_alert_that_resolves_within_group_wait_pages_nobody(
    receivers: Receivers, notifier: Any
) -> None:
    notify = notifier(hook(receivers, group_wait=timedelta(seconds=30))).notify
    alert = make_alert()

    assert notify([alert], T0 + timedelta(seconds=10)) == []
    assert notify([resolved(alert, T0 + timedelta(seconds=20))], T0 + MIN) == []
    assert receivers.requests == []


def test_an_alert_no_longer_passed_is_resolved_from_what_was_sent(
    receivers: Receivers, notifier: Any
) -> None:
    notify = notifier(hook(receivers)).notify
    alert = make_alert(model="gpt-4o")

    notify([alert], T0)
    assert statuses(notify([], T0 + 10 * MIN)) == ["sent"]

    gone = receivers.bodies()[-1]["alerts"][0]
    assert gone["status"] == "resolved"
    assert gone["labels"] == alert.labels
    assert gone["annotations"] == alert.annotations
    assert gone["startsAt"] == "2024-05-10T12:00:00Z"
    assert gone["endsAt"] == "2024-05-10T12:10:00Z"


def test_pending_and_inactive_alerts_are_never_sent(receivers: Receivers, notifier: Any) -> None:
    alerts = [make_alert(state="pending", model="a"), make_alert(state="inactive", model="b")]
    assert notifier(hook(receivers)).notify(alerts, T0) == []
    assert receivers.requests == []


def test_muted_alerts_are_not_sent_and_keep_their_state(
    receivers: Receivers, notifier: Any
) -> None:
    notify = notifier(hook(receivers)).notify
    a, b = make_alert(model="a"), make_alert(model="b")

    def mute_b(alert: Alert) -> bool:
        return alert.labels.get("model") == "b"

    deliveries = notify([a, b], T0, mute_b)
    assert [d.alerts for d in deliveries] == [1]
    assert [x["fingerprint"] for x in receivers.bodies()[0]["alerts"]] == [a.fingerprint]

    # a is silenced and resolves meanwhile: no resolution while muted...
    def mute_a(alert: Alert) -> bool:
        return alert.labels.get("model") == "a"

    gone = resolved(a, T0 + 10 * MIN)
    assert notify([gone], T0 + 10 * MIN, mute_a) == []
    # ...and the receiver still hears of it once the silence ends.
    assert statuses(notify([gone], T0 + 20 * MIN)) == ["sent"]
    assert receivers.bodies()[-1]["alerts"][0]["status"] == "resolved"


def test_min_severity_filters_alerts(receivers: Receivers, notifier: Any) -> None:
    notify = notifier(hook(receivers, min_severity="warning")).notify
    info = make_alert("Chatty", severity="info")
    critical = make_alert("Down", severity="critical")

    deliveries = notify([info, critical], T0)

    assert [d.group_key for d in deliveries] == ['{alertname="Down"}']
    assert [b["alerts"][0]["labels"]["alertname"] for b in receivers.bodies()] == ["Down"]


# --- retries and the outbox ------------------------------------------------------------------


def test_retries_back_off_on_500_and_429_then_succeed(
    receivers: Receivers, notifier: Any, sleeps: list[float], tmp_path: Path
) -> None:
    receivers.answer(Answer(500), Answer(429))

    (delivery,) = notifier(hook(receivers)).notify([make_alert()], T0)

    assert (delivery.status, delivery.attempts, delivery.detail) == ("sent", 3, "HTTP 200")
    assert sleeps == [0.5, 1.0]
    assert len(receivers.requests) == 3
    assert outbox(tmp_path) == []


def test_retries_give_up_after_retries_with_doubling_backoff(
    receivers: Receivers, notifier: Any, sleeps: list[float], tmp_path: Path
) -> None:
    receivers.default = Answer(503)

    (delivery,) = notifier(hook(receivers)).notify([make_alert()], T0)

    assert (delivery.status, delivery.attempts) == ("failed", 4)
    assert delivery.detail == "HTTP 503 after 4 attempts: no; queued in outbox.json"
    assert sleeps == [0.5, 1.0, 2.0]
    (entry,) = outbox(tmp_path)
    assert entry["requests"] == [receivers.bodies()[0]]


def test_retry_after_is_honoured_and_capped(
    receivers: Receivers, notifier: Any, sleeps: list[float]
) -> None:
    receivers.answer(Answer(429, headers={"Retry-After": "7"}))
    receivers.answer(Answer(503, headers={"Retry-After": "120"}))

    (delivery,) = notifier(hook(receivers)).notify([make_alert()], T0)

    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert sleeps == [7.0, 30.0]


def test_retry_after_as_a_date_falls_back_to_the_backoff(
    receivers: Receivers, notifier: Any, sleeps: list[float]
) -> None:
    receivers.answer(Answer(429, headers={"Retry-After": "Fri, 10 May 2024 12:00:00 GMT"}))

    assert statuses(notifier(hook(receivers)).notify([make_alert()], T0)) == ["sent"]
    assert sleeps == [0.5]


def test_client_errors_are_not_retried(
    receivers: Receivers, notifier: Any, sleeps: list[float], tmp_path: Path
) -> None:
    receivers.answer(Answer(400))

    (delivery,) = notifier(hook(receivers)).notify([make_alert()], T0)

    assert (delivery.status, delivery.attempts, sleeps) == ("failed", 1, [])
    assert delivery.detail.startswith("HTTP 400")
    assert len(outbox(tmp_path)) == 1  # kept and retried, never dropped


def test_a_refused_connection_is_retried_and_queued(
    notifier: Any, sleeps: list[float], tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = Target("hook", "webhook", f"http://127.0.0.1:{port}/hook", timeout=2.0, retries=2)

    (delivery,) = notifier(target).notify([make_alert()], T0)

    assert (delivery.status, delivery.attempts, sleeps) == ("failed", 3, [0.5, 1.0])
    assert "ConnectError" in delivery.detail
    assert f"{port}" not in delivery.detail  # the URL (often a secret) is not repeated
    assert len(outbox(tmp_path)) == 1


def test_a_slow_server_times_out_into_the_outbox_which_survives_a_restart(
    receivers: Receivers, notifier: Any, sleeps: list[float], tmp_path: Path
) -> None:
    receivers.default = Answer(delay=5.0)
    target = hook(receivers, timeout=0.2, retries=1)
    alert = make_alert()

    (delivery,) = notifier(target).notify([alert], T0)

    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert delivery.detail.startswith("timed out after 0.2s (ReadTimeout) after 2 attempts")
    assert sleeps == [0.5]
    (entry,) = outbox(tmp_path)
    assert entry["attempts"] == 2
    queued = entry["requests"][0]

    receivers.default = Answer()
    later = notifier(target).notify([alert], T0 + MIN)  # a new process: state from disk

    assert later == [
        Delivery(
            "hook",
            '{alertname="HighErrorRate"}',
            "sent",
            1,
            1,
            "outbox (queued 1m ago): HTTP 200",
        )
    ]
    assert receivers.bodies()[-1] == queued
    assert outbox(tmp_path) == []
    assert notifier(target).notify([alert], T0 + 2 * MIN) == []  # and not sent twice
    assert len(receivers.requests) == 3


def test_the_outbox_goes_before_anything_new(
    receivers: Receivers, notifier: Any, tmp_path: Path
) -> None:
    target = hook(receivers, retries=0)
    notify = notifier(target).notify
    first, second = make_alert("First"), make_alert("Second", started=T0 + MIN)
    receivers.answer(Answer(500))

    assert statuses(notify([first], T0)) == ["failed"]
    deliveries = notify([first, second], T0 + MIN)

    assert [(d.group_key, d.status) for d in deliveries] == [
        ('{alertname="First"}', "sent"),
        ('{alertname="Second"}', "sent"),
    ]
    assert deliveries[0].detail.startswith("outbox")
    order = [b["groupKey"] for b in receivers.bodies()]
    assert order == ['{alertname="First"}', '{alertname="First"}', '{alertname="Second"}']


def test_a_dead_target_costs_one_attempt_per_run(
    receivers: Receivers, notifier: Any, tmp_path: Path
) -> None:
    receivers.default = Answer(500)
    notify = notifier(hook(receivers, retries=0)).notify
    alerts = [make_alert("A"), make_alert("B")]

    deliveries = notify(alerts, T0)

    assert [(d.status, d.attempts) for d in deliveries] == [("failed", 1), ("skipped", 0)]
    assert "not attempted: hook failed earlier (HTTP 500 after 1 attempt: no)" in (
        deliveries[1].detail
    )
    assert len(receivers.requests) == 1
    assert len(outbox(tmp_path)) == 2

    again = notify(alerts, T0 + MIN)
    assert [(d.status, d.attempts) for d in again] == [("failed", 1), ("skipped", 0)]
    assert len(receivers.requests) == 2
    assert len(outbox(tmp_path)) == 2  # no new notification for an unchanged group

    receivers.default = Answer()
    assert statuses(notify(alerts, T0 + 2 * MIN)) == ["sent", "sent"]
    assert outbox(tmp_path) == []


def test_an_old_outbox_entry_is_kept_and_reported_with_its_age(
    receivers: Receivers, notifier: Any, tmp_path: Path
) -> None:
    receivers.default = Answer(500)
    notify = notifier(hook(receivers, retries=0)).notify
    alert = make_alert()

    notify([alert], T0)
    (old,) = notify([alert], T0 + timedelta(hours=25, minutes=3))

    assert old.status == "failed"
    assert old.detail.startswith("outbox (queued 1d 1h ago, over 24h): HTTP 500")
    assert len(outbox(tmp_path)) == 1

    receivers.default = Answer()
    (sent,) = notify([alert], T0 + timedelta(hours=26))
    assert (sent.status, sent.detail) == ("sent", "outbox (queued 1d 2h ago, over 24h): HTTP 200")


def test_an_outbox_entry_of_a_removed_target_is_kept(
    receivers: Receivers, notifier: Any, tmp_path: Path
) -> None:
    receivers.answer(Answer(500))
    notifier(hook(receivers, retries=0)).notify([make_alert()], T0)

    other = Target("other", "webhook", receivers.url("/hook"))
    (delivery,) = notifier(other).notify([], T0 + MIN)

    assert (delivery.target, delivery.status) == ("hook", "skipped")
    assert "hook is no longer configured; kept in outbox.json" in delivery.detail
    assert len(outbox(tmp_path)) == 1


def test_state_is_written_atomically_and_a_corrupt_file_is_reported(
    receivers: Receivers, notifier: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "alerts"
    notifier(hook(receivers)).notify([make_alert()], T0)
    assert {p.name for p in folder.iterdir()} == {OUTBOX_FILE, "notify.lock", STATE_FILE}
    state = json.loads((folder / STATE_FILE).read_text())
    assert list(state["groups"]["hook"]) == ['{alertname="HighErrorRate"}']

    (folder / STATE_FILE).write_text("{not json")
    deliveries = notifier(hook(receivers)).notify([make_alert()], T0 + MIN)

    assert deliveries[0].target == "(notifier)"
    assert "moved to notify_state.json.corrupt" in deliveries[0].detail
    assert (folder / f"{STATE_FILE}.corrupt").read_text() == "{not json"
    assert statuses(deliveries[1:]) == ["sent"]  # a duplicate rather than silence


def test_a_corrupt_outbox_is_moved_aside_not_dropped(
    receivers: Receivers, notifier: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "alerts"
    folder.mkdir()
    (folder / OUTBOX_FILE).write_text('{"entries": [{"target": "hook"}]}')

    (delivery,) = notifier(hook(receivers)).notify([], T0)

    assert (delivery.status, delivery.group_key) == ("failed", OUTBOX_FILE)
    assert "moved to outbox.json.corrupt" in delivery.detail
    assert (folder / f"{OUTBOX_FILE}.corrupt").exists()
    assert outbox(tmp_path) == []


def test_target_names_must_be_unique(tmp_path: Path) -> None:
    twice = (Target("a", "webhook", "http://h"), Target("a", "slack", "http://h"))
    with pytest.raises(UsageError, match="must be unique"):
        Notifier(tmp_path, twice)


# --- configuration ---------------------------------------------------------------------------


def test_parse_targets_reads_every_key() -> None:
    section = [
        {
            "name": "ops",
            "type": "slack",
            "url": "https://hooks.slack.com/services/${SLACK_PATH}",
            "group_by": ["alertname", "model"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "1d",
            "min_severity": "warning",
            "send_resolved": False,
            "timeout": 2,
            "retries": 1,
            "headers": {"X-Token": "${TOKEN}"},
        },
        {"name": "pager", "type": "pagerduty", "routing_key": "abc", "repeat_interval": "4h"},
        {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:9/hook", "group_wait": 0},
    ]
    env = {"SLACK_PATH": "T0/B0/xyz", "TOKEN": "t0k"}

    ops, pager, plain = parse_targets(section, "pyflare.yaml: alerting.notify", env)

    assert ops == Target(
        name="ops",
        kind="slack",
        url="https://hooks.slack.com/services/T0/B0/xyz",
        group_by=("alertname", "model"),
        group_wait=timedelta(seconds=30),
        group_interval=timedelta(minutes=5),
        repeat_interval=timedelta(days=1),
        min_severity="warning",
        send_resolved=False,
        timeout=2.0,
        retries=1,
        headers={"X-Token": "t0k"},
    )
    assert (pager.kind, pager.url, pager.routing_key) == ("pagerduty", PAGERDUTY_URL, "abc")
    assert plain == Target("hook", "webhook", "http://127.0.0.1:9/hook")
    assert parse_targets(None, "x") == ()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"name": "x"}, "notify: must be a list of targets, not dict"),
        (["x"], "notify[0]: a target must be a mapping"),
        ([{"name": "x", "type": "email", "url": "http://h"}], "notify[0].type: 'email' is not"),
        ([{"name": "x", "type": "webhook"}], "notify[0].url: missing"),
        ([{"name": "x", "type": "slack", "url": "ftp://h"}], "notify[0].url: must be an http"),
        ([{"name": "x", "type": "pagerduty"}], "notify[0].routing_key: missing"),
        ([{"type": "webhook", "url": "http://h"}], "notify[0].name: must be a non-empty"),
        (
            [{"name": "x", "type": "webhook", "url": "http://h", "chanel": "#ops"}],
            "notify[0].chanel: unknown key",
        ),
        (
            [{"name": "x", "type": "webhook", "url": "http://h", "group_wait": "soon"}],
            "notify[0].group_wait: bad duration 'soon' (use e.g. 30s, 5m, 4h, 1d)",
        ),
        (
            [{"name": "x", "type": "webhook", "url": "http://h", "repeat_interval": "0s"}],
            "notify[0].repeat_interval: must be longer than 0",
        ),
        (
            [{"name": "x", "type": "webhook", "url": "http://h", "min_severity": "high"}],
            "notify[0].min_severity: 'high' is not one of info, warning, critical",
        ),
        (
            [{"name": "x", "type": "webhook", "url": "http://h", "retries": -1}],
            "notify[0].retries: must be a whole number",
        ),
        (
            [{"name": "x", "type": "webhook", "url": "http://h", "timeout": 0}],
            "notify[0].timeout: must be a number of seconds above 0",
        ),
        (
            [{"name": "x", "type": "webhook", "url": "http://h", "headers": {"X": 1}}],
            "notify[0].headers.X: must be a non-empty text",
        ),
        (
            [{"name": "x", "type": "webhook", "url": "http://h", "group_by": "model"}],
            "notify[0].group_by: must be a list of label names",
        ),
        (
            [{"name": "x", "type": "slack", "url": "${NOPE}"}],
            "notify[0].url: environment variable NOPE is not set",
        ),
        (
            [
                {"name": "x", "type": "webhook", "url": "http://h"},
                {"name": "x", "type": "slack", "url": "http://h"},
            ],
            "notify[1].name: 'x' is used twice",
        ),
    ],
)
def test_parse_targets_rejects_bad_input(section: Any, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_targets(section, "notify", env={})
    assert message in caught.value.message
    assert caught.value.message.startswith("notify")
