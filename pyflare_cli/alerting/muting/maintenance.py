"""Maintenance windows: planned quiet times for some models or services, from configuration.

A window is written down in advance in the rule file's ``maintenance:`` section: a range of
time and, optionally, the models, services or label matchers it covers. While it is
active it mutes what it covers; it never changes an alert's state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyflare_cli.alerting.muting.matchers import Matcher, all_match, matcher_list
from pyflare_cli.clock import parse_instant, utc
from pyflare_cli.errors import UsageError


@dataclass(frozen=True)
class MaintenanceWindow:
    """A planned quiet time: mutes what all ``matchers`` match (empty: everything).

    Active from ``starts_at`` (inclusive) to ``ends_at`` (exclusive).
    """

    name: str
    starts_at: datetime
    ends_at: datetime
    matchers: tuple[Matcher, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", utc(self.starts_at))
        object.__setattr__(self, "ends_at", utc(self.ends_at))

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        now = utc(now)
        return self.starts_at <= now < self.ends_at and all_match(self.matchers, labels)


_WINDOW_KEYS = ("name", "start", "end", "models", "services", "matchers")


def _moment(value: Any, where: str) -> datetime:
    moment = parse_instant(value)
    if moment is not None:
        return moment
    raise UsageError(
        f"{where}: {value!r} is not an ISO date and time, such as 2025-05-01T22:00:00Z"
    )


def _texts(value: Any, where: str, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise UsageError(f"{where}: must be a non-empty list of {what}, not {value!r}")
    return [v.strip() for v in value]


def _one_of(label: str, values: list[str]) -> Matcher:
    """``label`` equal to one of ``values``: ``=`` for one, else an escaped alternation."""
    if len(values) == 1:
        return Matcher(label, "=", values[0])
    return Matcher(label, "=~", "|".join(re.escape(v) for v in dict.fromkeys(values)))


def _window(item: Any, where: str) -> MaintenanceWindow:
    if not isinstance(item, dict):
        raise UsageError(f"{where}: must be a mapping with name, start and end")
    for key in item:
        if key not in _WINDOW_KEYS:
            raise UsageError(f"{where}.{key}: not a known key; use {', '.join(_WINDOW_KEYS)}")
    for key in ("name", "start", "end"):
        if key not in item:
            raise UsageError(f"{where}.{key}: missing")
    name = item["name"]
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{where}.name: must be a non-empty text, not {name!r}")
    starts_at = _moment(item["start"], f"{where}.start")
    ends_at = _moment(item["end"], f"{where}.end")
    if ends_at <= starts_at:
        raise UsageError(
            f"{where}.end: {ends_at.isoformat()} is not after start {starts_at.isoformat()}"
        )
    matchers: list[Matcher] = []
    for key, label in (("models", "model"), ("services", "service")):
        if key in item:
            matchers.append(_one_of(label, _texts(item[key], f"{where}.{key}", f"{key} names")))
    if "matchers" in item:
        matchers.extend(matcher_list(item["matchers"], f"{where}.matchers"))
    return MaintenanceWindow(name.strip(), starts_at, ends_at, tuple(matchers))


def parse_maintenance(section: Any, where: str) -> tuple[MaintenanceWindow, ...]:
    """Maintenance windows from configuration, in order; () when the section is absent.

    ```yaml
    maintenance:
      - name: provider-migration
        start: 2025-05-01T22:00:00Z   # ISO; naive times are UTC
        end: 2025-05-02T02:00:00Z     # after start
        models: [gpt-4o, gpt-4o-mini] # -> model=~"gpt\\-4o|gpt\\-4o\\-mini" (literal names)
        services: rag-api             # -> service="rag-api"
        matchers: ['route=~"/v1/.*"'] # any further label matchers
    ```

    ``models``, ``services`` and ``matchers`` must all match (they narrow the window);
    with none of them the window mutes everything. Errors raise :class:`UsageError` as
    ``f"{where}[i].key: reason"``; names must be unique.
    """
    if section is None:
        return ()
    if not isinstance(section, list):
        raise UsageError(f"{where}: must be a list of maintenance windows")
    windows: list[MaintenanceWindow] = []
    first: dict[str, int] = {}
    for i, item in enumerate(section):
        window = _window(item, f"{where}[{i}]")
        if window.name in first:
            raise UsageError(
                f"{where}[{i}].name: {window.name!r} is already the name of "
                f"{where}[{first[window.name]}]"
            )
        first[window.name] = i
        windows.append(window)
    return tuple(windows)
