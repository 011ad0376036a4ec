"""Grouping and pacing: group_by, group_wait, group_interval, repeat, resolutions, muting.

Against real HTTP servers on 127.0.0.1 (notify_support.py); sleeps are recorded, not slept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from notify_support import MIN, T0, Receivers, hook, make_alert, resolved, statuses

from pyflare_cli.alerting.model import Alert


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
