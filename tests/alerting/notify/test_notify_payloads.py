"""Notification bodies as receivers get them: Alertmanager webhook v4, Slack, PagerDuty.

Against real HTTP servers on 127.0.0.1 (notify_support.py); sleeps are recorded, not slept.
"""

from __future__ import annotations

from typing import Any

from notify_support import MIN, T0, ZERO_TIME, Receivers, hook, make_alert, resolved, statuses

from pyflare_cli.alerting.notify.notifier import Delivery
from pyflare_cli.alerting.notify.targets import Target


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
