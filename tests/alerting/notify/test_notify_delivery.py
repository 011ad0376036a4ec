"""Delivery: retries with backoff and Retry-After, the outbox, dead targets, corrupt files.

Against real HTTP servers on 127.0.0.1 (notify_support.py); sleeps are recorded, not slept.
"""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from notify_support import MIN, T0, Answer, Receivers, hook, make_alert, outbox, statuses

from pyflare_cli.alerting.notify.notifier import Delivery, Notifier
from pyflare_cli.alerting.notify.outbox import OUTBOX_FILE, STATE_FILE
from pyflare_cli.alerting.notify.targets import Target
from pyflare_cli.errors import UsageError


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
