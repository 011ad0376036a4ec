"""Whether and why a notification is muted: silences, then maintenance, then inhibition."""

from __future__ import annotations

from silence_support import HOUR, NOW, m, silence

from pyflare_cli.alerting.muting.inhibition import DEFAULT_INHIBIT, InhibitRule
from pyflare_cli.alerting.muting.maintenance import MaintenanceWindow
from pyflare_cli.alerting.muting.mute import Mute, muted


def alert(name: str, severity: str, **labels: str) -> dict[str, str]:
    return {"alertname": name, "severity": severity, **labels}


WARNING = alert("HighErrorRate", "warning", model="gpt-4o", service="rag-api")
CRITICAL = alert("HighErrorRate", "critical", model="gpt-4o", service="rag-api")
WINDOW = MaintenanceWindow("rag-upgrade", NOW - HOUR, NOW + HOUR, (m("service=rag-api"),))


def test_muted_prefers_silence_then_maintenance_then_inhibition() -> None:
    s = silence("model=~gpt-4.*")
    assert muted(WARNING, NOW, [s], [WINDOW], DEFAULT_INHIBIT, [CRITICAL]) == Mute(
        "silenced", "abcd1234"
    )
    assert muted(WARNING, NOW, [], [WINDOW], DEFAULT_INHIBIT, [CRITICAL]) == Mute(
        "maintenance", "rag-upgrade"
    )
    assert muted(WARNING, NOW, [], [], DEFAULT_INHIBIT, [CRITICAL]) == Mute(
        "inhibited", "HighErrorRate"
    )
    assert muted(WARNING, NOW, [], [], DEFAULT_INHIBIT, [WARNING]) is None


def test_muted_is_none_when_nothing_applies_now() -> None:
    pending = silence("model=~gpt-4.*", start=NOW + HOUR, end=NOW + 2 * HOUR)
    other = silence("model=claude")
    past = MaintenanceWindow("done", NOW - 2 * HOUR, NOW - HOUR, ())
    assert muted(WARNING, NOW, [pending, other], [past], DEFAULT_INHIBIT, [CRITICAL]) == Mute(
        "inhibited", "HighErrorRate"
    )
    assert muted(WARNING, NOW, [pending, other], [past], (), [CRITICAL]) is None
    assert muted(CRITICAL, NOW, [pending, other], [past], DEFAULT_INHIBIT, [CRITICAL]) is None


def test_muted_names_an_inhibitor_without_alertname_by_fingerprint() -> None:
    rule = InhibitRule(source=(m("kind=outage"),), target=(), equal=())
    mute = muted({"alertname": "A"}, NOW, [], [], [rule], [{"kind": "outage"}])
    assert mute is not None and mute.reason == "inhibited"
    assert len(mute.detail) == 16
