"""Notification targets from configuration: where alerts go and how they are paced.

``notifications:`` in the rule file is a list of targets (webhook, Slack, PagerDuty) with
their grouping and timing; ``${VAR}`` in a URL, routing key or header is read from the
environment, so secrets stay out of files. Checked when loaded, with the key that is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import httpx

from pyflare_cli.alerting.model import SEVERITIES
from pyflare_cli.analysis.search.time_bounds import parse_duration_ns
from pyflare_cli.errors import UsageError

Kind = Literal["webhook", "slack", "pagerduty"]
KINDS: tuple[Kind, ...] = ("webhook", "slack", "pagerduty")
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
_TARGET_KEYS = (
    "name",
    "type",
    "url",
    "routing_key",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "min_severity",
    "send_resolved",
    "timeout",
    "retries",
    "headers",
)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Target:
    """One receiver and how alerts are grouped and paced for it."""

    name: str
    kind: Kind
    url: str
    routing_key: str | None = None
    group_by: tuple[str, ...] = ("alertname",)
    group_wait: timedelta = timedelta(0)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)
    min_severity: str = "info"
    send_resolved: bool = True
    timeout: float = 10.0
    retries: int = 3
    headers: dict[str, str] = field(default_factory=dict)


# --- configuration ------------------------------------------------------------------------


def _text(value: Any, at: str, env: Mapping[str, str]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{at}: must be a non-empty text, not {value!r}")

    def expand(match: re.Match[str]) -> str:
        if match[1] not in env:
            raise UsageError(f"{at}: environment variable {match[1]} is not set")
        return env[match[1]]

    return _ENV.sub(expand, value)


def _url(value: Any, at: str, env: Mapping[str, str]) -> str:
    text = _text(value, at, env)
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise UsageError(f"{at}: not a URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise UsageError(f"{at}: must be an http:// or https:// URL")
    return text


def _duration(value: Any, at: str, positive: bool = False) -> timedelta:
    hint = "use e.g. 30s, 5m, 4h, 1d"
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        found = timedelta(seconds=value)
    elif isinstance(value, str) and (ns := parse_duration_ns(value.strip())) is not None:
        found = timedelta(microseconds=ns // 1000)
    else:
        raise UsageError(f"{at}: bad duration {value!r} ({hint})")
    if positive and not found:
        raise UsageError(f"{at}: must be longer than 0 ({hint})")
    return found


def _target(item: Any, at: str, env: Mapping[str, str]) -> Target:
    if not isinstance(item, dict):
        raise UsageError(f"{at}: a target must be a mapping, not {item!r}")
    unknown = [key for key in item if key not in _TARGET_KEYS]
    if unknown:
        raise UsageError(f"{at}.{unknown[0]}: unknown key (known: {', '.join(_TARGET_KEYS)})")
    name = _text(item.get("name"), f"{at}.name", {})
    kind = item.get("type")
    if kind not in KINDS:
        raise UsageError(f"{at}.type: {kind!r} is not one of {', '.join(KINDS)}")
    if "url" in item:
        url = _url(item["url"], f"{at}.url", env)
    elif kind == "pagerduty":
        url = PAGERDUTY_URL
    else:
        raise UsageError(f"{at}.url: missing (a {kind} target needs the URL to post to)")
    routing_key = None
    if kind == "pagerduty" or item.get("routing_key") is not None:
        if "routing_key" not in item:
            raise UsageError(f"{at}.routing_key: missing (the PagerDuty integration key)")
        routing_key = _text(item["routing_key"], f"{at}.routing_key", env)
    values: dict[str, Any] = {}
    group_by = item.get("group_by", ["alertname"])
    if not isinstance(group_by, list) or not all(isinstance(g, str) and g for g in group_by):
        raise UsageError(f"{at}.group_by: must be a list of label names, not {group_by!r}")
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if key in item:
            values[key] = _duration(item[key], f"{at}.{key}", key == "repeat_interval")
    severity = item.get("min_severity", "info")
    if severity not in SEVERITIES:
        raise UsageError(f"{at}.min_severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    send_resolved = item.get("send_resolved", True)
    if not isinstance(send_resolved, bool):
        raise UsageError(f"{at}.send_resolved: must be true or false, not {send_resolved!r}")
    timeout = item.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise UsageError(f"{at}.timeout: must be a number of seconds above 0, not {timeout!r}")
    retries = item.get("retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise UsageError(f"{at}.retries: must be a whole number from 0 to 10, not {retries!r}")
    headers = item.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(k, str) for k in headers):
        raise UsageError(f"{at}.headers: must map header names to texts, not {headers!r}")
    return Target(
        name=name,
        kind=kind,
        url=url,
        routing_key=routing_key,
        group_by=tuple(group_by),
        min_severity=severity,
        send_resolved=send_resolved,
        timeout=float(timeout),
        retries=retries,
        headers={k: _text(v, f"{at}.headers.{k}", env) for k, v in headers.items()},
        **values,
    )


def parse_targets(
    section: Any, where: str, env: Mapping[str, str] | None = None
) -> tuple[Target, ...]:
    """The notification targets of a YAML list; errors name ``where[i].key`` and the reason.

    Durations are ``30s``, ``5m``, ``4h``, ``1d`` (or a number of seconds). ``${NAME}`` in
    ``url``, ``routing_key`` and header values is taken from the environment (``env``,
    default ``os.environ``), so webhook secrets need not be written in the file.
    """
    if section is None:
        return ()
    if not isinstance(section, list):
        raise UsageError(f"{where}: must be a list of targets, not {type(section).__name__}")
    env = os.environ if env is None else env
    targets: list[Target] = []
    for index, item in enumerate(section):
        target = _target(item, f"{where}[{index}]", env)
        if any(t.name == target.name for t in targets):
            raise UsageError(f"{where}[{index}].name: {target.name!r} is used twice")
        targets.append(target)
    return tuple(targets)
