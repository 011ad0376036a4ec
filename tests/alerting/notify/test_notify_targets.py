"""Notification targets from configuration: every key, and errors naming the key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pyflare_cli.alerting.notify.targets import PAGERDUTY_URL, Target, parse_targets
from pyflare_cli.errors import UsageError


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
