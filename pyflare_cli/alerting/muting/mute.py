"""Whether a notification is muted, and why: silences, maintenance windows, inhibition.

An alert's state (pending, firing, resolved) is what the rules say about the spans; whether
anyone is *told* is a separate question, and this module answers it. Three things can mute
a notification, as in Alertmanager, and none of them ever changes an alert's state, its
history or the exit code of ``pyflare alert check``:

- a **silence** (:mod:`muting.silences`): label matchers and a time range, made on the spot;
- a **maintenance window** (:mod:`muting.maintenance`) from the configuration: a planned
  range of time for some models or services (or label matchers), written down in advance;
- an **inhibition rule** (:mod:`muting.inhibition`): while a *source* alert fires, *target*
  alerts with the same values of the ``equal`` labels are muted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pyflare_cli.alerting.model import fingerprint
from pyflare_cli.alerting.muting.inhibition import InhibitRule, inhibitor
from pyflare_cli.alerting.muting.maintenance import MaintenanceWindow
from pyflare_cli.alerting.muting.silences import Silence


@dataclass(frozen=True)
class Mute:
    """Why a notification is held back: ``detail`` is the silence id, the maintenance
    window's name, or the inhibiting alert's name."""

    reason: Literal["silenced", "maintenance", "inhibited"]
    detail: str


def muted(
    labels: Mapping[str, str],
    now: datetime,
    silences: Iterable[Silence],
    windows: Iterable[MaintenanceWindow],
    inhibit_rules: Iterable[InhibitRule],
    firing: Iterable[Mapping[str, str]],
) -> Mute | None:
    """Whether and why the alert ``labels`` is muted at ``now``; None when it is not.

    Silences are checked first, then maintenance windows, then inhibition (by the
    ``firing`` alerts); the first silence or window in the given order names the reason.
    """
    for silence in silences:
        if silence.mutes(labels, now):
            return Mute("silenced", silence.id)
    for window in windows:
        if window.mutes(labels, now):
            return Mute("maintenance", window.name)
    source = inhibitor(labels, firing, inhibit_rules)
    if source is not None:
        return Mute("inhibited", source.get("alertname") or fingerprint(dict(source)))
    return None
